"""The outputs contract: parsing `terraform output -json`, and the errors users see."""

import json
from pathlib import Path

import pytest

from orchestrator.contract import SERVICE_KEYS, load_outputs_file, parse_outputs
from orchestrator.errors import ExitCode, InputError

EXAMPLE = Path(__file__).resolve().parents[2] / "shared" / "design" / "outputs.example.json"


def _example() -> dict:
    return json.loads(EXAMPLE.read_text()) if EXAMPLE.exists() else _fallback()


def _fallback() -> dict:
    svc = {k: f"v-{k}" for k in SERVICE_KEYS} | {"container_port": 8080}
    return {
        "aws_region": {"value": "eu-west-1", "type": "string", "sensitive": False},
        "services": {"value": {"web": svc}, "type": "map", "sensitive": False},
    }


def test_parses_terraform_output_json_shape() -> None:
    outputs = parse_outputs(_example(), "example")
    key, svc = outputs.service(None)
    assert key == "web"
    assert svc.container_port == 8080
    assert outputs.aws_region


def test_missing_key_names_the_service_and_key(tmp_path: Path) -> None:
    raw = _example()
    del raw["services"]["value"]["web"]["test_listener_arn"]
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(InputError) as err:
        load_outputs_file(path)
    assert "services.web is missing test_listener_arn" in str(err.value)
    assert err.value.exit_code == ExitCode.BAD_INPUT


def test_unknown_service_lists_what_exists() -> None:
    outputs = parse_outputs(_example(), "example")
    with pytest.raises(InputError, match="no service 'api'; services are: web"):
        outputs.service("api")


def test_invalid_json_reports_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text('{\n  "aws_region": ,\n}')
    with pytest.raises(InputError, match=r"outputs.json:2:17: invalid JSON"):
        load_outputs_file(path)

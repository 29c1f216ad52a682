"""The release target is resolved once (orchestrator/target.py): whether it is the sandbox, its time
scale and its registry come from there, and the domain reads them off the target."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.errors import InputError
from orchestrator.target import resolve_target

ROOT = Path(__file__).resolve().parents[2]
OUTPUTS = ROOT / "tests" / "outputs.example.json"
ENDPOINT = "http://127.0.0.1:45999"


@pytest.fixture
def sandbox_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ORCHESTRATOR_SANDBOX_DIR", str(tmp_path))
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    (tmp_path / "server.json").write_text(json.dumps({"pid": 1, "port": 45999, "endpoint": ENDPOINT, "time_scale": 40}))
    (tmp_path / "outputs.json").write_text(OUTPUTS.read_text())
    return tmp_path


def test_sandbox_flag_uses_its_outputs_endpoint_and_clock(sandbox_home: Path) -> None:
    target = resolve_target(Path("terraform"), None, None, True, None)
    assert target.sandbox is not None and target.aws.endpoint_url == ENDPOINT
    assert target.time_scale == 40.0 and target.sandbox_registry


def test_the_sandbox_endpoint_in_the_environment_is_the_sandbox(
    sandbox_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", ENDPOINT + "/")
    target = resolve_target(Path("terraform"), None, OUTPUTS, False, None)
    assert target.sandbox is not None and target.time_scale == 40.0
    assert not target.sandbox_registry  # the outputs name the ECR repository to push to


def test_another_endpoint_has_an_unknown_clock_and_aws_has_its_own(
    sandbox_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve_target(Path("terraform"), None, OUTPUTS, False, None).time_scale == 1.0
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
    target = resolve_target(Path("terraform"), None, OUTPUTS, False, None)
    assert target.sandbox is None and target.time_scale is None


def test_sandbox_flag_without_a_running_sandbox_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_SANDBOX_DIR", str(tmp_path))
    with pytest.raises(InputError, match="sandbox is not running"):
        resolve_target(Path("terraform"), None, None, True, None)

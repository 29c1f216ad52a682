"""The exit code of a read-only command over several services is the worst of the services', and every
service's outcome is in the summary (orchestrator/commands/ops.py: _for_each_service)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.jsonlines import of_kind, summary

from orchestrator.commands import ops
from orchestrator.errors import AwsRefused, ExitCode, InputError, OrchestratorError

EXAMPLE = Path(__file__).resolve().parents[1] / "outputs.example.json"


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    doc = json.loads(EXAMPLE.read_text())
    web = doc["services"]["value"]["web"]
    doc["services"]["value"] = {key: web for key in ("api", "web", "worker")}
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(doc))
    return path


def run(outputs: Path, failures: dict[str, Exception], capsys: pytest.CaptureFixture[str]) -> tuple[Any, Any]:
    def read(target: Any, rep: Any) -> dict[str, Any]:
        if target.service_key in failures:
            raise failures[target.service_key]
        return {"read": target.service_key}

    raised = None
    try:
        ops._for_each_service("status", "json", (Path("terraform"), None, outputs, False, [], True), read)
    except OrchestratorError as exc:
        raised = exc
    return raised, capsys.readouterr().out


def test_every_service_read_is_a_success(outputs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raised, out = run(outputs, {}, capsys)
    assert raised is None
    assert summary(out)["services"] == {k: {"status": "Succeeded", "read": k} for k in ("api", "web", "worker")}


def test_the_worst_exit_code_wins_and_each_failure_is_named(outputs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    failures: dict[str, Exception] = {"api": InputError("no such cluster"), "worker": AwsRefused("throttled")}
    raised, out = run(outputs, failures, capsys)
    assert raised is not None and raised.exit_code == ExitCode.AWS_REFUSED
    assert str(raised) == "status: 2 of 3 services failed: api: no such cluster; worker: throttled"
    s = summary(out)
    assert (s["exit_code"], s["status"]) == (4, "AwsRefused")
    assert s["services"] == {
        "api": {"status": "BadInput", "reason": "no such cluster"},
        "web": {"status": "Succeeded", "read": "web"},
        "worker": {"status": "AwsRefused", "reason": "throttled"},
    }
    assert [(m["service_key"], m["level"]) for m in of_kind(out, "message")] == [("api", "error"), ("worker", "error")]


def test_an_unexpected_error_is_not_swallowed(outputs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ZeroDivisionError):
        run(outputs, {"web": ZeroDivisionError()}, capsys)

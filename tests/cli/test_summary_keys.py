"""Every command's summary has the same keys (orchestrator.result.CommandResult): `status` always,
`reason` on a failure (exactly the `error:` line, never `error`), `details` when a failure has more."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import DeploymentFailed
from orchestrator.result import CommandResult


def summary_of(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    last = json.loads(proc.stdout.strip().splitlines()[-1])
    assert last["event"] == "summary"
    return dict(last)


@pytest.mark.parametrize(
    "args",
    [
        ("release", "--image", "repo/web:x"),
        ("status",),
        ("history",),
        ("rollback",),
        ("build", "--no-push"),
    ],
)
def test_a_failed_command_says_why_under_reason(tmp_path: Path, args: tuple[str, ...]) -> None:
    missing = tmp_path / "missing-outputs.json"
    proc = subprocess.run(
        [sys.executable, "-m", "orchestrator", *args, "--outputs-file", str(missing), "--output", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    s = summary_of(proc)
    assert s["ok"] is False and s["exit_code"] == 2 and s["status"] == "BadInput"
    assert "error" not in s
    assert s["reason"] == proc.stderr.strip().splitlines()[-1].removeprefix("error: ")
    assert str(missing) in s["reason"]


def test_the_result_keeps_the_commands_fields_and_adds_the_same_keys() -> None:
    ok = CommandResult("status", fields={"service": "web"}).summary().fields()
    assert ok == {"command": "status", "ok": True, "exit_code": 0, "service": "web", "status": "Succeeded"}
    exc = DeploymentFailed("deployment d-1 failed: Install failed", details={"clues": ["Install failed"]})
    failed = CommandResult.failed("release", exc, {"status": "Failed", "reason": "old", "deployment_id": "d-1"})
    fields = failed.summary().fields()
    assert fields["status"] == "Failed" and fields["reason"] == "deployment d-1 failed: Install failed"
    assert fields["details"] == {"clues": ["Install failed"]} and fields["deployment_id"] == "d-1"


def test_the_github_summary_reads_reason() -> None:
    import io

    from orchestrator.report.github import GithubReporter

    rep = GithubReporter(io.StringIO())
    exc = DeploymentFailed("deployment d-1 failed: Install failed; see `orchestrator history`")
    rep.emit(CommandResult.failed("rollback", exc).summary())
    assert "| reason | deployment d-1 failed: Install failed; see `orchestrator history` |" in rep.render_summary()

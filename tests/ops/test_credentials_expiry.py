"""Credentials that do not last the watch: a release that knows its session expires before its watch
budget says so before it writes anything (AWS_CREDENTIAL_EXPIRATION, which the deploy workflow sets),
and one whose credentials expire mid-watch (ExpiredTokenException) ends with exit 4 naming the
deployment and the command that follows it."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ops_support import deployment, read_events_until, slow_termination_group, summary

pytestmark = pytest.mark.e2e


def _image(sandbox: Any, tag: str) -> str:
    return str(sandbox.pushed(tag))


def _expiring_in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _warnings(stdout: str) -> list[str]:
    import json

    events = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return [e["text"] for e in events if e.get("event") == "message" and e.get("level") == "warning"]


def test_a_release_whose_credentials_expire_before_its_budget_says_so_before_it_writes(sandbox) -> None:
    env = {"AWS_CREDENTIAL_EXPIRATION": _expiring_in(300)}  # 5 minutes; the default budget is longer
    res = sandbox.cli(
        "release", "--sandbox", "--output", "json", "--image", _image(sandbox, "short-session"), "--dry-run", env=env
    )
    assert res.returncode == 0, res.stderr
    said = [w for w in _warnings(res.stdout) if "credentials expire" in w]
    assert len(said) == 1, res.stdout
    assert "--wait-until traffic-shifted" in said[0] and "--no-wait" in said[0]
    assert "\n" not in said[0]
    # The warning comes before the first write of a real release.
    res = sandbox.cli("release", "--sandbox", "--output", "json", "--image", _image(sandbox, "short-session"), env=env)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    warned = next(i for i, line in enumerate(lines) if "credentials expire" in line)
    registered = next(i for i, line in enumerate(lines) if '"step_started"' in line and '"register"' in line)
    assert warned < registered


@pytest.mark.parametrize("extra", [(), ("--no-wait",)])
def test_credentials_that_outlast_the_budget_or_a_release_that_does_not_wait_are_not_warned(sandbox, extra) -> None:
    expires = _expiring_in(10 * 3600 if not extra else 60)
    res = sandbox.cli(
        "release",
        "--sandbox",
        "--output",
        "json",
        "--image",
        _image(sandbox, "long-session"),
        "--dry-run",
        *extra,
        env={"AWS_CREDENTIAL_EXPIRATION": expires},
    )
    assert res.returncode == 0, res.stderr
    assert not [w for w in _warnings(res.stdout) if "credentials" in w]


def test_credentials_expiring_mid_watch_exit_4_naming_the_deployment_and_how_to_follow_it(sandbox) -> None:
    outputs = slow_termination_group(sandbox)
    cmd = ["release", "--outputs-file", str(outputs), "--output", "json", "--image", _image(sandbox, "expiring")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", *cmd, "--timeout", "120"],
        env=sandbox.env(),
        cwd=sandbox.repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        dep = read_events_until(proc, "deployment_created")[-1]["deployment_id"]
        read_events_until(proc, "deployment_progress")
        sandbox.control.set_faults(expired_token=True)  # the session expires: every call ExpiredTokenException
        stdout, stderr = proc.communicate(timeout=90)
    finally:
        sandbox.control.set_faults(expired_token=False)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 4, stderr
    last = stderr.strip().splitlines()[-1]
    assert f"AWS credentials expired while following deployment {dep}" in last
    assert "orchestrator status --watch" in last and "Traceback" not in stderr
    s = summary(stdout)
    assert s["exit_code"] == 4 and s["deployment_id"] == dep
    assert deployment(sandbox, dep)["status"] == "InProgress"  # it keeps running

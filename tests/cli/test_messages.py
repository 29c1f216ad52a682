"""Messages that say what happened and what to do next, through the real CLI against the sandbox:
--no-wait and --dry-run do not claim success, the interrupt hint names the target, and `status`
after a failed release says the last deployment was a rollback, of what and why."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from support.jsonlines import events

pytestmark = pytest.mark.e2e

CANARY = "CodeDeployDefault.ECSCanary10Percent15Minutes"


def _wait_done(sandbox: Any, dep: str, timeout: float = 90) -> str:
    cd = sandbox.client("codedeploy")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = str(cd.get_deployment(deploymentId=dep)["deploymentInfo"]["status"])
        if status in ("Succeeded", "Failed", "Stopped"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"{dep} did not end")


def test_no_wait_says_what_it_created_and_how_to_follow_it(sandbox) -> None:
    res = sandbox.cli("release", "--sandbox", "--output", "plain", "--image", sandbox.pushed("nowait"), "--no-wait")
    assert res.returncode == 0, res.stderr
    last = res.stdout.strip().splitlines()[-1]
    match = re.fullmatch(
        r"release: deployment (d-\S+) created, not followed; follow it with `orchestrator status --watch --sandbox`",
        last,
    )
    assert match, last
    assert "succeeded" not in res.stdout
    # The suggested command does what it says.
    follow = sandbox.cli("status", "--watch", "--sandbox", "--output", "plain", timeout=120)
    assert follow.returncode == 0, follow.stderr
    assert f"last deployment {match.group(1)} Succeeded" in follow.stdout


def test_no_wait_names_the_same_target_in_json(sandbox, tmp_path) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(sandbox.outputs_path.read_text())
    res = sandbox.cli("release", "--outputs-file", str(outputs), "-o", "json", "--image", "repo/web:nw", "--no-wait")
    assert res.returncode == 0, res.stderr
    s = events(res.stdout)[-1]
    assert s["event"] == "summary" and s["status"] == "Created"
    assert s["message"] == (
        f"deployment {s['deployment_id']} created, not followed; "
        f"follow it with `orchestrator status --watch --outputs-file {outputs}`"
    )
    _wait_done(sandbox, s["deployment_id"])


def test_dry_run_ends_saying_nothing_was_written(sandbox) -> None:
    res = sandbox.cli("release", "--sandbox", "--output", "plain", "--image", "repo/web:dry", "--dry-run")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "release: dry run, nothing was written"
    assert sandbox.mutating_calls() == []


def test_stop_no_wait_returns_once_requested(sandbox) -> None:
    started = sandbox.cli(
        "release", "--sandbox", "-o", "json", "--image", "repo/web:held", "--deployment-config", CANARY, "--no-wait"
    )
    assert started.returncode == 0, started.stderr
    dep = events(started.stdout)[-1]["deployment_id"]
    res = sandbox.cli("stop", "--sandbox", "-o", "json", "--no-wait")
    assert res.returncode == 0, res.stderr
    s = events(res.stdout)[-1]
    assert s["status"] == "StopRequested" and s["deployment_id"] == dep
    assert s["message"] == (
        f"deployment {dep} asked to stop, not followed; follow it with `orchestrator status --watch --sandbox`"
    )
    assert _wait_done(sandbox, dep) == "Stopped"


def test_interrupt_hint_follows_the_same_target(sandbox, tmp_path) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(sandbox.outputs_path.read_text())
    args = ["release", "--outputs-file", str(outputs), "-o", "json", "--image", "repo/web:int"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", *args, "--deployment-config", CANARY],
        env=sandbox.env(),
        cwd=sandbox.repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        if '"deployment_progress"' in line or time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert f"follow it with `orchestrator status --watch --outputs-file {outputs}`" in err
    assert f"stop it with `orchestrator stop --outputs-file {outputs}`" in err
    stopped = sandbox.cli("stop", "--outputs-file", str(outputs), "-o", "json", timeout=120)
    assert stopped.returncode == 0, stopped.stderr


def test_status_after_a_failed_release_says_the_last_deployment_was_its_rollback(sandbox) -> None:
    ok = sandbox.cli("release", "--sandbox", "-o", "json", "--image", sandbox.pushed("good"), timeout=120)
    assert ok.returncode == 0, ok.stderr
    sandbox.control.set_faults(fail_at="AfterAllowTraffic", message="smoke test failed")
    bad = sandbox.cli("release", "--sandbox", "-o", "json", "--image", sandbox.pushed("bad"), timeout=120)
    assert bad.returncode == 1, bad.stderr
    failed = events(bad.stdout)[-1]
    rollback = failed["rollback_deployment_id"]
    assert _wait_done(sandbox, rollback) == "Succeeded"

    plain = sandbox.cli("status", "--sandbox", "--output", "plain")
    assert plain.returncode == 0, plain.stderr
    line = next(x for x in plain.stdout.splitlines() if "last deployment" in x)
    assert line.strip().startswith(f"last deployment {rollback} Succeeded")
    assert f"automatic rollback of {failed['deployment_id']} (Failed" in line
    assert "smoke test failed" in line
    good_td = events(ok.stdout)[-1]["task_definition_arn"].rsplit("/", 1)[-1]
    assert f"serving {good_td} again: what ran before {failed['deployment_id']}" in plain.stdout

    res = sandbox.cli("status", "--sandbox", "--output", "json")
    st = next(e for e in events(res.stdout) if e["event"] == "status")
    assert st["last_deployment"]["rollback_of"] == failed["deployment_id"]
    assert st["last_deployment"]["origin"] == "autoRollback"
    assert st["rolled_back_deployment"]["status"] == "Failed"
    assert events(res.stdout)[-1]["last_rollback_of"] == failed["deployment_id"]

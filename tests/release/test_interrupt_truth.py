"""Interruptions name what is true (issue 20.3): Ctrl-C while CodeDeploy's automatic rollback runs names
the rollback as what is running, says why (the failure that caused it), and ends in a documented status."""

from __future__ import annotations

import signal
import time
from typing import Any

import pytest
from support import cli
from support.jsonlines import summary

pytestmark = pytest.mark.e2e


def _rollback_in_progress(sandbox: Any, group: dict[str, str], since: set[str]) -> tuple[str, str] | None:
    cd = sandbox.client("codedeploy")
    ids = [d for d in cd.list_deployments(**group)["deployments"] if d not in since]
    for info in cd.batch_get_deployments(deploymentIds=ids).get("deploymentsInfo", []) if ids else []:
        failed = (info.get("rollbackInfo") or {}).get("rollbackTriggeringDeploymentId")
        if failed and info["status"] in ("Created", "Queued", "InProgress"):
            return failed, info["deploymentId"]
    return None


def test_ctrl_c_during_an_automatic_rollback_names_the_rollback_and_the_failure(sandbox: Any) -> None:
    svc = sandbox.service_outputs()
    group = {
        "applicationName": svc["codedeploy_app_name"],
        "deploymentGroupName": svc["codedeploy_deployment_group_name"],
    }
    before = set(sandbox.client("codedeploy").list_deployments(**group)["deployments"])
    sandbox.control.set_faults(fail_at="AfterAllowTraffic", message="smoke test said no")
    sandbox.control.time_scale(0.05)
    proc = cli.start(
        "release",
        "--sandbox",
        "--output",
        "json",
        "--image",
        sandbox.pushed("int"),
        env=sandbox.env(),
        cwd=sandbox.repo_root,
    )
    try:
        deadline = time.monotonic() + 90
        found = None
        while found is None and time.monotonic() < deadline:
            found = _rollback_in_progress(sandbox, group, before)
            time.sleep(0.05)
        assert found is not None, "no automatic rollback seen"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    failed, rollback = found
    assert proc.returncode == 130, err
    s = summary(out)
    text = s.get("reason", "") + err
    assert rollback in text and "still running" in text  # what runs now is the rollback
    assert f"{failed} is still running" not in text and f"{failed} still running" not in text
    assert "smoke test said no" in text or "AfterAllowTraffic" in text  # the failure that caused it
    assert s["status"] == "Interrupted"  # documented; what failed is in the reason and these fields
    assert s["deployment_status"] == "Failed" and s["rollback_deployment_id"] == rollback

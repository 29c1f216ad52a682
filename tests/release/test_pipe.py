"""A release whose stdout goes away (`orchestrator release ... | head -1`) keeps following its deployment,
says so and writes its outcome on stderr, and exits with the deployment's result, not with a broken pipe."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def release_then_close_stdout(sandbox: Any, tag: str) -> tuple[int, str]:
    image = sandbox.pushed(tag)
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "release", "--sandbox", "--output", "plain", "--image", image],
        env=sandbox.env(),
        cwd=sandbox.repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline()  # `head -1`: one line read, then the pipe is closed
        proc.stdout.close()
        stderr = proc.stderr.read()
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return code, stderr


def deployments(sandbox: Any) -> list[dict[str, Any]]:
    cd = sandbox.client("codedeploy")
    svc = sandbox.service_outputs()
    ids = cd.list_deployments(
        applicationName=svc["codedeploy_app_name"], deploymentGroupName=svc["codedeploy_deployment_group_name"]
    )["deployments"]
    return [cd.get_deployment(deploymentId=d)["deploymentInfo"] for d in ids]


def test_release_with_stdout_closed_follows_to_the_end_and_reports_on_stderr(sandbox) -> None:
    code, stderr = release_then_close_stdout(sandbox, "pipe-ok")
    assert code == 0, stderr
    assert "stdout was closed" in stderr
    assert "release succeeded" in stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr
    (dep,) = deployments(sandbox)
    assert dep["status"] == "Succeeded"
    assert f"deployment {dep['deploymentId']} Succeeded" in stderr


def test_release_with_stdout_closed_exits_with_the_failed_deployments_result(sandbox) -> None:
    sandbox.control.set_faults(fail_at="AfterAllowTestTraffic", message="smoke test failed")
    code, stderr = release_then_close_stdout(sandbox, "pipe-fail")
    assert code == 1, stderr
    assert "stdout was closed" in stderr and "release failed (exit 1)" in stderr
    assert "smoke test failed" in stderr
    assert "Traceback" not in stderr

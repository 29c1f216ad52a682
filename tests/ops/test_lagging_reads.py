"""Operations under lagging reads (the sandbox's list_lag fault): the rollback CodeDeploy starts on a
stop is a deployment created a moment ago, which GetDeployment may not know yet."""

from __future__ import annotations

import time

import pytest
from ops_support import approval_group, ops, start_release, summary, wait_status

pytestmark = pytest.mark.e2e

LAG_S = 300.0  # simulated seconds, times the test time scale


def test_stop_follows_a_rollback_that_reads_do_not_show_yet(sandbox) -> None:
    approval_group(sandbox)  # the deployment waits in Ready: Install has changed the service
    dep = start_release(sandbox, sandbox.pushed("to-stop"))
    wait_status(sandbox, dep, "Ready")
    time.sleep(LAG_S * sandbox.time_scale + 0.5)  # the deployment itself is old enough to be read
    sandbox.control.set_faults(list_lag=LAG_S)
    try:
        res = ops(sandbox, "stop", "--deployment-id", dep, timeout=180)
    finally:
        sandbox.control.set_faults(list_lag=0)
    assert res.returncode == 0, res.stderr
    rollback = sandbox.client("codedeploy").get_deployment(deploymentId=dep)["deploymentInfo"]["rollbackInfo"]
    assert summary(res.stdout)["rollback_deployment_id"] == rollback["rollbackDeploymentId"]

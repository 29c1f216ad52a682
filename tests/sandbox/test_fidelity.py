"""Engine behaviours that follow AWS's documentation (see docs/sandbox-control.md, the behaviour table)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support.stack import make_stack

from orchestrator.lifecycle import LIFECYCLE_EVENTS

TERMINAL = ("Succeeded", "Failed", "Stopped")


def test_ready_wait_timeout_ends_the_deployment_stopped(endpoint: str) -> None:
    # User guide, ECS deployment group settings, "Choose when to reroute traffic": if nobody continues
    # within the wait time, "the deployment status is changed to Stopped".
    stack = make_stack(
        endpoint, auto_rollback=True, ready_option={"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 1}
    )
    deployment_id = stack.deploy()
    info = stack.wait(deployment_id, TERMINAL)
    assert info["status"] == "Stopped"
    assert info["errorInformation"]["code"] == "TIMEOUT"
    assert not (info.get("rollbackInfo") or {}).get("rollbackDeploymentId")
    assert stack.prod_weights() == {stack.blue_tg: 1}  # production never moved


def test_no_rollback_when_the_deployment_fails_in_before_install(endpoint: str, control: object) -> None:
    # AWS creates no rollback deployment when nothing was changed yet (not spelled out in the user guide;
    # see docs/sandbox-control.md).
    stack = make_stack(endpoint, auto_rollback=True)
    control.set_faults(fail_at="BeforeInstall")  # type: ignore[attr-defined]
    deployment_id = stack.deploy()
    info = stack.wait(deployment_id, TERMINAL)
    assert info["status"] == "Failed"
    assert not (info.get("rollbackInfo") or {}).get("rollbackDeploymentId")
    assert [
        d
        for d in stack.c("codedeploy").list_deployments(applicationName=stack.app, deploymentGroupName=stack.group)[
            "deployments"
        ]
    ] == [deployment_id]


def test_stop_while_created_ends_stopped_without_rollback(endpoint: str, control: Any) -> None:
    stack = make_stack(endpoint, auto_rollback=True)
    cd = stack.c("codedeploy")
    # On a slower clock while it must stay Created (30 ms at the tests' scale is less than two calls take
    # on a loaded machine), as in test_deployment_targets_are_refused_until_the_deployment_starts.
    scale = control.time_scale()
    control.time_scale(0.5)
    try:
        deployment_id = stack.deploy()
        assert stack.deployment(deployment_id)["status"] == "Created"
        assert cd.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)["status"] == "Pending"
    finally:
        control.time_scale(scale)
    info = stack.wait(deployment_id, TERMINAL)
    assert info["status"] == "Stopped"
    assert not (info.get("rollbackInfo") or {}).get("rollbackDeploymentId")
    assert cd.list_deployments(applicationName=stack.app, deploymentGroupName=stack.group)["deployments"] == [
        deployment_id
    ]


def test_deployment_targets_are_refused_until_the_deployment_starts(endpoint: str, control: Any) -> None:
    # botocore model: List/Get/BatchGetDeploymentTargets raise DeploymentNotStartedException.
    stack = make_stack(endpoint)
    cd = stack.c("codedeploy")
    # The engine starts a deployment 3 simulated seconds after its creation (30 ms at the tests' scale, less
    # than two calls take on a loaded machine): on a slower clock it stays Created while this test looks.
    scale = control.time_scale()
    control.time_scale(1.0)
    try:
        deployment_id = stack.deploy()
        assert stack.deployment(deployment_id)["status"] == "Created"
        with pytest.raises(ClientError) as err:
            cd.list_deployment_targets(deploymentId=deployment_id)
        assert err.value.response["Error"]["Code"] == "DeploymentNotStartedException"
        with pytest.raises(ClientError) as err:
            cd.get_deployment_target(deploymentId=deployment_id, targetId=f"{stack.cluster}:{stack.service}")
        assert err.value.response["Error"]["Code"] == "DeploymentNotStartedException"
    finally:
        control.time_scale(scale)
    stack.wait(deployment_id, TERMINAL)
    assert cd.list_deployment_targets(deploymentId=deployment_id)["targetIds"]


def test_overview_is_null_while_running_and_successful_events_have_no_diagnostics(endpoint: str) -> None:
    stack = make_stack(endpoint, config="CodeDeployDefault.ECSCanary10Percent5Minutes")
    deployment_id = stack.deploy()
    stack.wait(deployment_id, ("InProgress",))
    assert "deploymentOverview" not in stack.deployment(deployment_id)
    info = stack.wait(deployment_id, TERMINAL, timeout=60)
    assert info["deploymentOverview"]["Succeeded"] == 1
    assert all("diagnostics" not in e for e in stack.target(deployment_id)["lifecycleEvents"])


def test_a_group_without_test_listener_lists_six_lifecycle_events(endpoint: str) -> None:
    # Observed on AWS (issue 9; the user guide's AppSpec "hooks" section does not spell it out): without a
    # test listener the target lists six events, no AllowTestTraffic/AfterAllowTestTraffic.
    stack = make_stack(endpoint, test_listener=False)
    deployment_id = stack.deploy()
    assert stack.wait(deployment_id, TERMINAL)["status"] == "Succeeded"
    names = [e["lifecycleEventName"] for e in stack.target(deployment_id)["lifecycleEvents"]]
    assert names == [n for n in LIFECYCLE_EVENTS if n not in ("AllowTestTraffic", "AfterAllowTestTraffic")]
    assert len(names) == 6


def test_computed_desired_count_follows_the_services_desired_count(endpoint: str) -> None:
    # ECS API reference, TaskSet.computedDesiredCount: the service's desiredCount times the task set's scale.
    stack = make_stack(endpoint, desired=2)
    stack.c("ecs").update_service(cluster=stack.cluster, service=stack.service, desiredCount=5)
    (task_set,) = stack.ecs_service()["taskSets"]
    assert task_set["computedDesiredCount"] == 5
    deadline = time.monotonic() + 5
    while task_set["runningCount"] != 5 and time.monotonic() < deadline:
        time.sleep(0.05)
        (task_set,) = stack.ecs_service()["taskSets"]
    assert task_set["runningCount"] == 5

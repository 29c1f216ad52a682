"""STOP_DEPLOYMENT + continue, the termination wait, and stop_deployment with and without rollback."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError
from support.stack import make_stack

TERMINAL = ("Succeeded", "Failed", "Stopped")


def test_stop_deployment_ready_option_waits_for_continue(endpoint: str) -> None:
    stack = make_stack(endpoint, ready_option={"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 60})
    cd = stack.c("codedeploy")
    deployment_id = stack.deploy()
    info = stack.wait(deployment_id, ("Ready", *TERMINAL))
    assert info["status"] == "Ready"
    assert "deploymentOverview" not in info  # null until the deployment ends, as on AWS
    target = stack.target(deployment_id)
    assert target["status"] == "Ready"
    events = {e["lifecycleEventName"]: e["status"] for e in target["lifecycleEvents"]}
    assert events["AfterAllowTestTraffic"] == "Succeeded"
    assert events["BeforeAllowTraffic"] == events["AllowTraffic"] == "Pending"
    # Test traffic reaches the replacement; production still the original.
    assert stack.test_weights() == {stack.green_tg: 100, stack.blue_tg: 0}
    assert stack.prod_weights() == {stack.blue_tg: 1}
    time.sleep(0.3)
    assert stack.deployment(deployment_id)["status"] == "Ready"

    cd.continue_deployment(deploymentId=deployment_id, deploymentWaitType="READY_WAIT")
    assert stack.wait(deployment_id, TERMINAL)["status"] == "Succeeded"
    assert stack.prod_weights() == {stack.blue_tg: 0, stack.green_tg: 100}
    with pytest.raises(ClientError) as done:
        cd.continue_deployment(deploymentId=deployment_id)
    assert done.value.response["Error"]["Code"] == "DeploymentAlreadyCompletedException"


def test_continue_is_refused_when_not_waiting(endpoint: str) -> None:
    stack = make_stack(endpoint, config="CodeDeployDefault.ECSCanary10Percent5Minutes")  # stays active ~4 s
    deployment_id = stack.deploy()
    with pytest.raises(ClientError) as refused:
        stack.c("codedeploy").continue_deployment(deploymentId=deployment_id, deploymentWaitType="READY_WAIT")
    assert refused.value.response["Error"]["Code"] == "DeploymentIsNotInReadyStateException"
    stack.wait(deployment_id, TERMINAL)


def test_continue_ends_the_termination_wait_early(endpoint: str) -> None:
    stack = make_stack(endpoint, termination_wait=600)  # 6 wall minutes at the test time scale
    deployment_id = stack.deploy()
    while not stack.deployment(deployment_id)["instanceTerminationWaitTimeStarted"]:
        time.sleep(0.02)
    info = stack.deployment(deployment_id)
    assert info["status"] == "InProgress"
    assert len(stack.ecs_service()["taskSets"]) == 2  # the original is still there, drained
    stack.c("codedeploy").continue_deployment(deploymentId=deployment_id, deploymentWaitType="TERMINATION_WAIT")
    assert stack.wait(deployment_id, TERMINAL)["status"] == "Succeeded"
    assert [ts["status"] for ts in stack.drained_service()["taskSets"]] == ["PRIMARY"]


def test_stop_with_rollback_returns_traffic_to_the_original(endpoint: str) -> None:
    stack = make_stack(endpoint, config="CodeDeployDefault.ECSCanary10Percent15Minutes")
    cd = stack.c("codedeploy")
    deployment_id = stack.deploy()
    while stack.prod_weights().get(stack.green_tg) != 10:
        time.sleep(0.02)
    answer = cd.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
    # API reference, StopDeployment: status "Pending: The stop operation is pending"; the stop completes
    # later (AWS documents no time; the sandbox takes Durations.STOP simulated seconds).
    assert answer["status"] == "Pending"
    assert stack.deployment(deployment_id)["status"] == "InProgress"

    info = stack.wait(deployment_id, TERMINAL)
    assert info["status"] == "Stopped"
    assert info["errorInformation"]["code"] == "MANUAL_STOP"
    # The lifecycle event running when the stop completed ends Failed, the ones after it Skipped.
    events = {e["lifecycleEventName"]: e["status"] for e in stack.target(deployment_id)["lifecycleEvents"]}
    assert events["AllowTraffic"] == "Failed"
    assert events["AfterAllowTraffic"] == "Skipped"
    assert events["Install"] == "Succeeded" and "diagnostics" not in stack.target(deployment_id)["lifecycleEvents"][1]
    rollback_id = info["rollbackInfo"]["rollbackDeploymentId"]
    rollback = stack.wait(rollback_id, TERMINAL)
    assert rollback["status"] == "Succeeded"
    assert rollback["creator"] == "codeDeployRollback"
    assert rollback["rollbackInfo"]["rollbackTriggeringDeploymentId"] == deployment_id

    assert stack.prod_weights() == {stack.blue_tg: 100, stack.green_tg: 0}
    assert stack.test_weights() == {stack.blue_tg: 100, stack.green_tg: 0}
    # Rollbacks report CodeDeployDefault.ECSAllAtOnce (observed on AWS; not documented, see docs/sandbox-control.md).
    assert rollback["deploymentConfigName"] == "CodeDeployDefault.ECSAllAtOnce"
    service = stack.drained_service()
    assert [ts["status"] for ts in service["taskSets"]] == ["PRIMARY"]
    assert service["taskSets"][0]["loadBalancers"][0]["targetGroupArn"] == stack.blue_tg
    assert service["taskDefinition"] == stack.initial_task_definition


def test_stop_without_rollback_then_deploy_again(endpoint: str) -> None:
    # Auto-rollback on the group: the explicit autoRollbackEnabled=False wins. Canary: stays active ~4 s.
    stack = make_stack(endpoint, auto_rollback=True, config="CodeDeployDefault.ECSCanary10Percent5Minutes")
    cd = stack.c("codedeploy")
    deployment_id = stack.deploy()
    stack.wait(deployment_id, ("InProgress",))
    cd.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=False)
    info = stack.wait(deployment_id, TERMINAL)
    assert info["status"] == "Stopped"
    assert "rollbackInfo" not in info
    with pytest.raises(ClientError) as done:
        cd.stop_deployment(deploymentId=deployment_id)
    assert done.value.response["Error"]["Code"] == "DeploymentAlreadyCompletedException"

    again = stack.deploy(config="CodeDeployDefault.ECSAllAtOnce")
    assert stack.wait(again, TERMINAL)["status"] == "Succeeded"
    assert [ts["status"] for ts in stack.drained_service()["taskSets"]] == ["PRIMARY"]

"""Faults set through the control endpoint."""

from __future__ import annotations

import time
import uuid

import pytest
from botocore.exceptions import ClientError
from support.clients import client
from support.stack import make_stack

from orchestrator.sandbox.control import ControlError, SandboxControl

TERMINAL = ("Succeeded", "Failed", "Stopped")


def test_fail_at_fails_that_event_of_the_next_deployment_only(endpoint: str, control: SandboxControl) -> None:
    stack = make_stack(endpoint)
    control.set_faults(fail_at="AfterInstall", message="smoke test returned 503")
    deployment_id = stack.deploy()
    assert control.faults()["fail_at"] is None  # consumed by this deployment
    info = stack.wait(deployment_id, TERMINAL)
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "HOOK_EXECUTION_FAILURE"
    assert "smoke test returned 503" in info["errorInformation"]["message"]
    assert info["deploymentOverview"]["Failed"] == 1
    assert "rollbackInfo" not in info
    events = {e["lifecycleEventName"]: e for e in stack.target(deployment_id)["lifecycleEvents"]}
    assert events["Install"]["status"] == "Succeeded"
    failed = events["AfterInstall"]
    assert failed["status"] == "Failed"
    assert failed["diagnostics"]["errorCode"] == "ScriptFailed"
    assert failed["diagnostics"]["message"] == "smoke test returned 503"
    assert "smoke test returned 503" in failed["diagnostics"]["logTail"]
    assert failed["diagnostics"]["scriptName"]
    assert events["AllowTestTraffic"]["status"] == events["AfterAllowTraffic"]["status"] == "Skipped"
    assert stack.prod_weights() == {stack.blue_tg: 1}

    again = stack.deploy()
    assert stack.wait(again, TERMINAL)["status"] == "Succeeded"


def test_failure_with_auto_rollback_rolls_back_in_a_new_deployment(endpoint: str, control: SandboxControl) -> None:
    stack = make_stack(endpoint, auto_rollback=True)
    control.set_faults(fail_at="AfterAllowTraffic")
    deployment_id = stack.deploy()
    info = stack.wait(deployment_id, TERMINAL)
    assert info["status"] == "Failed"
    rollback_id = info["rollbackInfo"]["rollbackDeploymentId"]
    assert rollback_id != deployment_id
    rollback = stack.wait(rollback_id, TERMINAL)
    assert rollback["status"] == "Succeeded"
    assert rollback["creator"] == "codeDeployRollback"
    assert rollback["rollbackInfo"]["rollbackTriggeringDeploymentId"] == deployment_id
    # Traffic was on green when AfterAllowTraffic failed; the rollback brought it back.
    assert stack.prod_weights() == {stack.blue_tg: 100, stack.green_tg: 0}
    service = stack.drained_service()
    assert [ts["loadBalancers"][0]["targetGroupArn"] for ts in service["taskSets"]] == [stack.blue_tg]
    assert service["taskDefinition"] == stack.initial_task_definition


def test_unhealthy_replacement_fails_install(endpoint: str, control: SandboxControl) -> None:
    stack = make_stack(endpoint)
    control.set_faults(unhealthy=True)
    deployment_id = stack.deploy()
    info = stack.wait(deployment_id, TERMINAL)
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "ECS_UPDATE_ERROR"
    assert "replacement ECS task set to become healthy" in info["errorInformation"]["message"]
    events = {e["lifecycleEventName"]: e["status"] for e in stack.target(deployment_id)["lifecycleEvents"]}
    assert events["BeforeInstall"] == "Succeeded"
    assert events["Install"] == "Failed"
    assert events["AllowTraffic"] == "Skipped"
    messages = [e["message"] for e in stack.ecs_service()["events"]]
    assert any("is unhealthy in (target-group" in m for m in messages)
    assert any(") failed ELB health checks in (target-group" in m for m in messages)
    ecs = stack.c("ecs")
    stopped = ecs.list_tasks(cluster=stack.cluster, serviceName=stack.service, desiredStatus="STOPPED")["taskArns"]
    assert stopped
    tasks = ecs.describe_tasks(cluster=stack.cluster, tasks=stopped)["tasks"]
    assert all(t["lastStatus"] == "STOPPED" and "failed ELB health checks" in t["stoppedReason"] for t in tasks)
    assert stack.prod_weights() == {stack.blue_tg: 1}
    assert control.faults()["unhealthy"] is False


def test_throttle_answers_throttling_errors_until_cleared(endpoint: str, control: SandboxControl) -> None:
    ecs, elbv2 = client(endpoint, "ecs"), client(endpoint, "elbv2")
    control.set_faults(throttle=1.0)
    with pytest.raises(ClientError) as json_protocol:
        ecs.list_clusters()
    assert json_protocol.value.response["Error"]["Code"] == "ThrottlingException"
    assert json_protocol.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as query_protocol:
        elbv2.describe_load_balancers()
    assert query_protocol.value.response["Error"]["Code"] == "Throttling"
    with pytest.raises(ClientError) as ec2_protocol:
        client(endpoint, "ec2").describe_vpcs()
    assert ec2_protocol.value.response["Error"]["Code"] == "RequestLimitExceeded"
    assert control.health()["status"] == "ok"  # the control endpoint is never throttled
    control.set_faults(throttle=0.0)
    ecs.list_clusters()


def test_error_rate_answers_http_500(endpoint: str, control: SandboxControl) -> None:
    ecs = client(endpoint, "ecs")
    control.set_faults(error_rate=1.0)
    with pytest.raises(ClientError) as failed:
        ecs.list_clusters()
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert failed.value.response["Error"]["Code"] == "InternalFailure"
    control.clear_faults()
    ecs.list_clusters()


def test_error_after_processes_the_call_then_answers_http_500(endpoint: str, control: SandboxControl) -> None:
    # AWS may commit a write and the caller still see a 5xx (the answer is lost): the call has happened.
    ecs = client(endpoint, "ecs")
    family = "fault-after-" + uuid.uuid4().hex[:6]
    control.set_faults(error_after_rate=1.0, error_after_actions=["RegisterTaskDefinition"])
    with pytest.raises(ClientError) as failed:
        ecs.register_task_definition(family=family, containerDefinitions=[{"name": "c", "image": "i", "memory": 64}])
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert failed.value.response["Error"]["Code"] == "InternalFailure"
    ecs.list_clusters()  # other actions are untouched
    assert ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"]  # yet it was registered
    assert control.faults()["error_after_actions"] == ["RegisterTaskDefinition"]


def test_latency_delays_every_call(endpoint: str, control: SandboxControl) -> None:
    ecs = client(endpoint, "ecs")
    control.set_faults(latency_ms=300)
    started = time.monotonic()
    ecs.list_clusters()
    assert time.monotonic() - started >= 0.3  # a lower bound: the added latency was applied
    assert control.faults()["latency_ms"] == 300  # stays until cleared


@pytest.mark.parametrize(
    "settings",
    [
        {"fail_at": "Deploy"},
        {"throttle": 1.5},
        {"error_rate": -0.1},
        {"latency_ms": -5},
        {"error_after_rate": 2},
        {"error_after_actions": [""]},
    ],
)
def test_bad_fault_settings_are_refused(control: SandboxControl, settings: dict[str, object]) -> None:
    with pytest.raises(ControlError):
        control.set_faults(**settings)  # type: ignore[arg-type]
    assert control.faults() == control.clear_faults()

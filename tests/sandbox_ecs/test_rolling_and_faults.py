"""Rolling deployments and the circuit breaker, per-service faults, and what ECS refuses."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest

from sandbox_ecs.conftest import EcsStack
from sandbox_ecs.helpers import blue_green, function, lambda_hook

ROLLING = {"strategy": "ROLLING", "deploymentCircuitBreaker": {"enable": True, "rollback": True}}


def test_rolling_tasks_that_never_start_trip_the_circuit_breaker_and_roll_back(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    s.configure(**ROLLING)
    s.control("POST", "/ecs/faults", {"service": s.service, "no_start": True})
    arn = s.deploy()
    dep = s.wait(arn)
    assert dep["status"] == "ROLLBACK_SUCCESSFUL"
    assert dep["rollback"]["reason"] == "ECS deployment circuit breaker: tasks failed to start."
    breaker = dep["deploymentCircuitBreaker"]
    assert breaker["status"] == "TRIGGERED" and breaker["failureCount"] >= breaker["threshold"] == 3
    assert "lifecycleStage" not in dep
    service = s.describe_service()
    assert service["taskDefinition"].endswith(":1")
    stopped = s.c("ecs").list_tasks(cluster=s.cluster, desiredStatus="STOPPED")["taskArns"]
    reasons = {t["stoppedReason"] for t in s.c("ecs").describe_tasks(cluster=s.cluster, tasks=stopped)["tasks"]}
    assert any(r.startswith("CannotPullContainerError") for r in reasons)


def test_rolling_without_rollback_stops_and_keeps_the_failed_revision(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    s.configure(strategy="ROLLING", deploymentCircuitBreaker={"enable": True, "rollback": False})
    s.control("POST", "/ecs/faults", {"service": s.service, "unhealthy": True})
    dep = s.wait(s.deploy())
    assert dep["status"] == "STOPPED" and "health checks" in dep["statusReason"]
    primary = s.describe_service()["deployments"][0]
    assert primary["rolloutState"] == "FAILED"


def test_rolling_success_replaces_the_tasks(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    s.configure(**ROLLING)
    dep = s.wait(s.deploy())
    assert dep["status"] == "SUCCESSFUL"
    assert dep["targetServiceRevision"]["runningTaskCount"] == 2
    assert "requestedProductionTrafficWeight" not in dep["targetServiceRevision"]


def test_an_injected_failure_at_a_stage_rolls_back_there(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    s.control("POST", "/ecs/faults", {"service": s.service, "fail_at": "BAKE_TIME", "message": "latency up"})
    dep = s.wait(s.deploy(**blue_green()))
    assert dep["status"] == "ROLLBACK_SUCCESSFUL" and dep["rollback"]["reason"] == "latency up"
    assert s.rule_weights(s.prod_rule) == {s.blue_tg: 100, s.green_tg: 0}
    # Consumed: the next deployment runs clean.
    assert s.wait(s.deploy("nginx:3"))["status"] == "SUCCESSFUL"


def _refused(s: EcsStack, **config: Any) -> str:
    before = s.describe_service()
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        s.c("ecs").update_service(
            cluster=s.cluster, service=s.service, taskDefinition=s.register(), deploymentConfiguration=config
        )
    after = s.describe_service()
    assert after["taskDefinition"] == before["taskDefinition"]
    assert after["deploymentConfiguration"] == before["deploymentConfiguration"]
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"
    return str(caught.value.response["Error"]["Message"])


@pytest.mark.parametrize("stage", ["SCALE_UP", "BAKE_TIME", "CLEAN_UP"])
def test_hooks_are_refused_at_scale_up_bake_time_and_clean_up(ecs_stack: EcsStack, stage: str) -> None:
    s = ecs_stack
    arn = function(s)
    message = _refused(s, **blue_green(lifecycleHooks=[lambda_hook(s, arn, stage)]))
    assert stage in message and "not supported" in message


def test_pause_hooks_are_refused_at_the_traffic_shift_stages(ecs_stack: EcsStack) -> None:
    message = _refused(
        ecs_stack, **blue_green(lifecycleHooks=[{"targetType": "PAUSE", "lifecycleStages": ["TEST_TRAFFIC_SHIFT"]}])
    )
    assert "PAUSE" in message and "TEST_TRAFFIC_SHIFT" in message


def test_blue_green_needs_a_bake_time_and_linear_a_valid_step(ecs_stack: EcsStack) -> None:
    assert "bakeTimeInMinutes" in _refused(ecs_stack, strategy="BLUE_GREEN")
    bad_step = {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 2.0, "stepBakeTimeInMinutes": 1}}
    assert "stepPercent" in _refused(ecs_stack, **bad_step)


def test_a_second_deployment_while_one_runs_is_refused(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    arn = s.deploy(**blue_green(bakeTimeInMinutes=30))
    with pytest.raises(botocore.exceptions.ClientError, match="in progress"):
        s.deploy("nginx:3")
    s.c("ecs").stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    assert s.wait(arn)["status"] == "ROLLBACK_SUCCESSFUL"


def test_a_missing_listener_rule_is_refused_at_create_service(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    service = s.describe_service()
    lb = dict(service["loadBalancers"][0])
    lb["advancedConfiguration"] = {**lb["advancedConfiguration"], "productionListenerRule": s.prod_rule + "0"}
    with pytest.raises(botocore.exceptions.ClientError, match="does not exist"):
        s.c("ecs").create_service(
            cluster=s.cluster,
            serviceName="other",
            taskDefinition=service["taskDefinition"],
            desiredCount=1,
            launchType="FARGATE",
            loadBalancers=[lb],
            networkConfiguration=service["networkConfiguration"],
            deploymentController={"type": "ECS"},
            deploymentConfiguration=blue_green(),
        )
    assert s.c("ecs").describe_services(cluster=s.cluster, services=["other"])["failures"]

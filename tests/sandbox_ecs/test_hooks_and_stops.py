"""Lifecycle hooks (Lambda and PAUSE), rollbacks and stops of ECS-native deployments, over HTTP."""

from __future__ import annotations

import time

import botocore.exceptions
import pytest

from sandbox_ecs.conftest import EcsStack
from sandbox_ecs.helpers import blue_green, function, lambda_hook

# A real handler: IN_PROGRESS twice (hookDetails carries the count, callBackDelay 1 s), then SUCCEEDED.
COUNTING = """
def handler(event, context):
    seen = (event.get("hookDetails") or {}).get("calls", 0) + 1
    if seen < 3:
        return {"hookStatus": "IN_PROGRESS", "callBackDelay": 1, "hookDetails": {"calls": seen}}
    assert event["targetServiceRevisionArn"] and event["productionTrafficWeights"]
    return {"hookStatus": "SUCCEEDED"}
"""


def test_a_failing_lambda_hook_rolls_back_naming_the_hook_and_the_stage(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    arn = function(s)
    s.control("POST", "/ecs/hooks", {"hook": "POST_TEST_TRAFFIC_SHIFT", "result": "fail"})
    dep_arn = s.deploy(**blue_green(lifecycleHooks=[lambda_hook(s, arn, "POST_TEST_TRAFFIC_SHIFT")]))
    dep = s.wait(dep_arn)
    assert dep["status"] == "ROLLBACK_SUCCESSFUL"
    assert arn in dep["rollback"]["reason"] and "POST_TEST_TRAFFIC_SHIFT" in dep["rollback"]["reason"]
    assert dep["rollback"]["serviceRevisionArn"] == dep["sourceServiceRevisions"][0]["arn"]
    # Production never moved; test traffic went back to blue.
    assert s.rule_weights(s.prod_rule) == {s.blue_tg: 100, s.green_tg: 0}
    assert s.rule_weights(s.test_rule)[s.blue_tg] == 100
    service = s.describe_service()
    assert service["taskDefinition"].endswith(":1") and len(service["deployments"]) == 1


def test_a_python_hook_returning_in_progress_is_called_again_until_it_succeeds(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    arn = function(s, COUNTING)
    dep = s.wait(s.deploy(**blue_green(lifecycleHooks=[lambda_hook(s, arn, "PRE_SCALE_UP")])), timeout=60)
    assert dep["status"] == "SUCCESSFUL", dep.get("rollback")


def test_a_hook_function_that_raises_rolls_back(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    arn = function(s, "def handler(event, context):\n    raise RuntimeError('database is down')\n")
    dep = s.wait(s.deploy(**blue_green(lifecycleHooks=[lambda_hook(s, arn, "POST_SCALE_UP")])), timeout=60)
    assert dep["status"] == "ROLLBACK_SUCCESSFUL"
    assert "POST_SCALE_UP" in dep["rollback"]["reason"]


def test_a_pause_hook_waits_until_continue_service_deployment(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    pause = {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}
    arn = s.deploy(**blue_green(lifecycleHooks=[pause]))
    dep = s.wait(arn, lambda d: any(h["status"] == "AWAITING_ACTION" for h in d.get("lifecycleHookDetails", [])))
    assert dep["lifecycleStage"] == "POST_TEST_TRAFFIC_SHIFT"
    hook = dep["lifecycleHookDetails"][0]
    assert hook["targetType"] == "PAUSE" and hook["timeoutAction"] == "ROLLBACK" and "targetArn" not in hook
    time.sleep(0.5)  # 50 simulated seconds
    assert s.deployment(arn)["lifecycleStage"] == "POST_TEST_TRAFFIC_SHIFT"  # still waiting
    assert s.rule_weights(s.prod_rule)[s.blue_tg] == 100
    s.c("ecs").continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"], action="CONTINUE")
    assert s.wait(arn)["status"] == "SUCCESSFUL"
    with pytest.raises(botocore.exceptions.ClientError, match="InvalidParameterException"):
        s.c("ecs").continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"])


def test_continue_with_rollback_rolls_back(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    pause = {"targetType": "PAUSE", "lifecycleStages": ["POST_SCALE_UP"]}
    arn = s.deploy(**blue_green(lifecycleHooks=[pause]))
    dep = s.wait(arn, lambda d: bool(d.get("lifecycleHookDetails")))
    hook_id = dep["lifecycleHookDetails"][0]["hookId"]
    s.c("ecs").continue_service_deployment(serviceDeploymentArn=arn, hookId=hook_id, action="ROLLBACK")
    assert s.wait(arn)["status"] == "ROLLBACK_SUCCESSFUL"


def test_stop_with_rollback_mid_production_shift_returns_traffic_to_blue(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    config = {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 50.0, "stepBakeTimeInMinutes": 10}}
    arn = s.deploy(**config)
    s.wait(arn, lambda d: s.rule_weights(s.prod_rule)[s.green_tg] == 50)
    stopped = s.c("ecs").stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    assert stopped["serviceDeploymentArn"] == arn
    assert s.deployment(arn)["status"] == "ROLLBACK_REQUESTED"
    dep = s.wait(arn)
    assert dep["status"] == "ROLLBACK_SUCCESSFUL"
    assert "StopServiceDeployment" in dep["rollback"]["reason"]
    assert s.rule_weights(s.prod_rule) == {s.blue_tg: 100, s.green_tg: 0}
    with pytest.raises(botocore.exceptions.ClientError, match="ConflictException"):
        s.c("ecs").stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")


def test_stop_with_abort_leaves_traffic_where_it_is(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    pause = {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}
    arn = s.deploy(**blue_green(lifecycleHooks=[pause]))
    s.wait(arn, lambda d: bool(d.get("lifecycleHookDetails")))
    s.c("ecs").stop_service_deployment(serviceDeploymentArn=arn, stopType="ABORT")
    dep = s.wait(arn)
    assert dep["status"] == "STOPPED" and dep["stoppedAt"] and "rollback" not in dep
    assert s.rule_weights(s.test_rule)[s.green_tg] == 100


def test_an_unknown_service_deployment_is_not_found(ecs_stack: EcsStack) -> None:
    missing = ecs_stack.deploy(**blue_green()) + "x"
    with pytest.raises(botocore.exceptions.ClientError, match="ServiceDeploymentNotFoundException"):
        ecs_stack.c("ecs").stop_service_deployment(serviceDeploymentArn=missing)
    found = ecs_stack.c("ecs").describe_service_deployments(serviceDeploymentArns=[missing])
    assert found["failures"] == [{"arn": missing, "reason": "MISSING"}]


def test_an_alarm_in_alarm_rolls_back(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    cw = s.c("cloudwatch")
    name = f"{s.project}-5xx"
    cw.put_metric_alarm(
        AlarmName=name,
        MetricName="HTTPCode_Target_5XX_Count",
        Namespace="AWS/ApplicationELB",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    alarms = {"alarmNames": [name], "enable": True, "rollback": True}
    arn = s.deploy(**blue_green(bakeTimeInMinutes=30, alarms=alarms))
    s.wait(arn, lambda d: d.get("lifecycleStage") == "BAKE_TIME")
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="test")
    dep = s.wait(arn)
    assert dep["status"] == "ROLLBACK_SUCCESSFUL"
    assert dep["alarms"]["status"] == "TRIGGERED" and dep["alarms"]["triggeredAlarmNames"] == [name]
    assert name in dep["rollback"]["reason"]


def test_an_in_progress_hook_shows_in_the_details_and_is_asked_again(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    arn = function(s)  # its own handler answers SUCCEEDED once the rule is gone
    s.control("POST", "/ecs/hooks", {"hook": arn, "result": "in-progress", "delay": 1})
    dep_arn = s.deploy(**blue_green(lifecycleHooks=[lambda_hook(s, arn, "PRE_SCALE_UP")]))
    dep = s.wait(dep_arn, lambda d: bool(d.get("lifecycleHookDetails")))
    detail = dep["lifecycleHookDetails"][0]
    assert detail["targetType"] == "AWS_LAMBDA" and detail["targetArn"] == arn
    assert detail["status"] == "IN_PROGRESS" and detail["timeoutAction"] == "ROLLBACK"
    assert dep["lifecycleStage"] == "PRE_SCALE_UP"
    time.sleep(1.0)  # 100 simulated seconds: IN_PROGRESS answers, each called again after 30 s
    assert s.deployment(dep_arn)["lifecycleStage"] == "PRE_SCALE_UP"
    s.control("DELETE", "/ecs/faults")
    assert s.wait(dep_arn, timeout=60)["status"] == "SUCCESSFUL"


@pytest.mark.parametrize(("action", "status"), [("ROLLBACK", "ROLLBACK_SUCCESSFUL"), ("CONTINUE", "SUCCESSFUL")])
def test_a_hook_that_never_answers_times_out_with_its_timeout_action(
    ecs_stack: EcsStack, action: str, status: str
) -> None:
    s = ecs_stack
    arn = function(s)
    s.control("POST", "/ecs/hooks", {"hook": "POST_SCALE_UP", "result": "silent"})
    timeout = {"timeoutInMinutes": 1, "action": action}
    hook = lambda_hook(s, arn, "POST_SCALE_UP", timeoutConfiguration=timeout)
    dep = s.wait(s.deploy(**blue_green(lifecycleHooks=[hook])))
    assert dep["status"] == status
    if action == "ROLLBACK":
        assert "timed out at POST_SCALE_UP" in dep["rollback"]["reason"]


def test_after_an_abort_the_next_deployment_reconciles_both_revisions(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    pause = {"targetType": "PAUSE", "lifecycleStages": ["POST_SCALE_UP"]}
    aborted = s.deploy(**blue_green(lifecycleHooks=[pause]))
    s.wait(aborted, lambda d: bool(d.get("lifecycleHookDetails")))
    s.c("ecs").stop_service_deployment(serviceDeploymentArn=aborted, stopType="ABORT")
    assert s.wait(aborted)["status"] == "STOPPED"
    s.configure(**blue_green())
    arn = s.deploy("nginx:3")
    dep = s.wait(arn)
    assert dep["status"] == "SUCCESSFUL"
    assert len(dep["sourceServiceRevisions"]) == 2
    assert s.trail(arn)[0] == "RECONCILE_SERVICE"
    assert [d["status"] for d in s.describe_service()["deployments"]] == ["PRIMARY"]

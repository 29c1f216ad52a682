"""ECS-native BLUE_GREEN, LINEAR and CANARY deployments over HTTP with boto3: the stage walk, the
listener rule weights ECS moves (test traffic first), service revisions, and the service's state."""

from __future__ import annotations

from typing import Any

from sandbox_ecs.conftest import EcsStack
from sandbox_ecs.helpers import blue_green

STAGES = [
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
]


def test_blue_green_moves_test_then_production_traffic_to_the_new_target_group(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    assert s.rule_weights(s.prod_rule) == {s.blue_tg: 100, s.green_tg: 0}
    # A PAUSE hook after the test traffic shift holds the deployment where test traffic has moved.
    pause = {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}
    arn = s.deploy(**blue_green(lifecycleHooks=[pause]))
    held = s.wait(arn, lambda d: bool(d.get("lifecycleHookDetails")))
    assert s.rule_weights(s.test_rule) == {s.green_tg: 100, s.blue_tg: 0}
    assert s.rule_weights(s.prod_rule) == {s.blue_tg: 100, s.green_tg: 0}
    assert held["targetServiceRevision"]["requestedTestTrafficWeight"] == 100.0
    assert held["targetServiceRevision"]["requestedProductionTrafficWeight"] == 0.0
    assert len(s.describe_service()["deployments"]) == 2  # PRIMARY (new) and ACTIVE (old) until the clean-up
    hook_id = held["lifecycleHookDetails"][0]["hookId"]
    s.c("ecs").continue_service_deployment(serviceDeploymentArn=arn, hookId=hook_id)
    dep = s.wait(arn)
    assert dep["status"] == "SUCCESSFUL"
    assert s.rule_weights(s.prod_rule) == {s.green_tg: 100, s.blue_tg: 0}
    assert s.rule_weights(s.test_rule) == {s.green_tg: 100, s.blue_tg: 0}
    assert s.trail(arn) == STAGES
    assert dep["targetServiceRevision"]["requestedProductionTrafficWeight"] == 100.0
    assert dep["sourceServiceRevisions"][0]["runningTaskCount"] == 0
    assert dep["finishedAt"] >= dep["startedAt"] >= dep["createdAt"]
    revision = s.c("ecs").describe_service_revisions(serviceRevisionArns=[dep["targetServiceRevision"]["arn"]])
    resolved = revision["serviceRevisions"][0]["resolvedConfiguration"]["loadBalancers"][0]
    assert resolved == {"targetGroupArn": s.green_tg, "productionListenerRule": s.prod_rule}
    service = s.describe_service()
    assert service["currentServiceDeployment"] == arn
    assert service["taskDefinition"] == revision["serviceRevisions"][0]["taskDefinition"]
    assert [d["status"] for d in service["deployments"]] == ["PRIMARY"]


def test_the_next_deployment_goes_back_to_the_first_target_group(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    s.wait(s.deploy("nginx:2", **blue_green()))
    s.wait(s.deploy("nginx:3"))
    assert s.rule_weights(s.prod_rule) == {s.blue_tg: 100, s.green_tg: 0}
    listed = s.c("ecs").list_service_deployments(cluster=s.cluster, service=s.service)["serviceDeployments"]
    assert [d["status"] for d in listed] == ["SUCCESSFUL", "SUCCESSFUL", "SUCCESSFUL"]  # newest first; create too


def test_linear_shows_each_intermediate_production_weight(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    config = {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 1}}
    arn = s.deploy(**config, bakeTimeInMinutes=0)
    weights: list[int] = []

    def record(dep: dict[str, Any]) -> bool:
        green = s.rule_weights(s.prod_rule)[s.green_tg]
        if not weights or weights[-1] != green:
            weights.append(green)
        return dep["status"] == "SUCCESSFUL"

    s.wait(arn, record)
    assert weights == [0, 25, 50, 75, 100]
    stages = s.trail(arn)
    # PRE_PRODUCTION_TRAFFIC_SHIFT before every step, PRODUCTION_TRAFFIC_SHIFT at every step.
    assert stages.count("PRE_PRODUCTION_TRAFFIC_SHIFT") == 4 and stages.count("PRODUCTION_TRAFFIC_SHIFT") == 4


def test_canary_shifts_the_canary_percent_then_the_rest(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    config = {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 1}}
    arn = s.deploy(**config)
    seen: set[int] = set()
    dep = s.wait(arn, lambda d: seen.add(s.rule_weights(s.prod_rule)[s.green_tg]) or d["status"] == "SUCCESSFUL")
    assert seen == {0, 10, 100}
    assert dep["deploymentConfiguration"]["canaryConfiguration"]["canaryPercent"] == 10.0


def test_a_desired_count_change_starts_no_deployment(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    before = s.describe_service()["currentServiceDeployment"]
    s.c("ecs").update_service(cluster=s.cluster, service=s.service, desiredCount=3)
    assert s.describe_service()["currentServiceDeployment"] == before


def test_services_stable_waiter_waits_for_the_clean_up(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    arn = s.deploy(**blue_green())
    waiter = s.c("ecs").get_waiter("services_stable")
    waiter.wait(cluster=s.cluster, services=[s.service], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    assert s.deployment(arn)["status"] == "SUCCESSFUL"

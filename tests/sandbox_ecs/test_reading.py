"""orchestrator/engines/ecs/deployments.py against real answers of the sandbox: the view, --wait-until
points, the wait in progress, the failure reason and the previous good revision."""

from __future__ import annotations

from datetime import UTC, datetime

from orchestrator.engines.ecs import deployments as esd
from sandbox_ecs.conftest import EcsStack
from sandbox_ecs.helpers import blue_green, function, lambda_hook


def test_a_paused_deployment_has_not_shifted_traffic_and_waits_for_approval(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    pause = {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}
    arn = s.deploy(**blue_green(lifecycleHooks=[pause]))
    s.wait(arn, lambda d: bool(d.get("lifecycleHookDetails")))
    view = esd.read(s.c("ecs"), arn)
    assert view.awaiting is not None and view.awaiting.label == "PAUSE hook"
    assert esd.reached(view, "post-test-traffic-shift") is False  # its hook has not passed
    assert esd.reached(view, "test-traffic-shift") and not esd.reached(view, "traffic-shifted")
    wait = esd.current_wait(view, datetime.now(UTC))
    assert wait is not None and "approval" in wait.label and wait.remaining_s and wait.remaining_s > 3600
    s.c("ecs").continue_service_deployment(serviceDeploymentArn=arn, hookId=view.awaiting.hook_id)
    done = esd.read(s.c("ecs"), s.wait(arn)["serviceDeploymentArn"])
    assert done.succeeded and esd.reached(done, "complete") and done.prod_weight == 100.0


def test_bake_time_counts_down_and_is_the_traffic_shifted_point(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    arn = s.deploy(**blue_green(bakeTimeInMinutes=30))
    s.wait(arn, lambda d: d.get("lifecycleStage") == "BAKE_TIME")
    view = esd.read(s.c("ecs"), arn)
    assert esd.reached(view, "traffic-shifted") and esd.reached(view, "bake-time")
    assert not esd.reached(view, "complete")
    wait = esd.current_wait(view, datetime.now(UTC))
    assert wait is not None and wait.label == "bake time" and wait.total_s == 1800.0
    assert wait.remaining_s is not None and 1700 < wait.remaining_s <= 1800
    s.c("ecs").stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    rolled = esd.read(s.c("ecs"), s.wait(arn)["serviceDeploymentArn"])
    assert esd.failure_reason(rolled) == (
        "rolled back: Service deployment rolled back by StopServiceDeployment (ROLLBACK)."
    )


def test_the_failure_reason_names_the_hook_and_the_stage(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    fn = function(s)
    s.control("POST", "/ecs/hooks", {"hook": fn, "result": "fail"})
    arn = s.deploy(**blue_green(lifecycleHooks=[lambda_hook(s, fn, "POST_SCALE_UP")]))
    view = esd.read(s.c("ecs"), s.wait(arn)["serviceDeploymentArn"])
    reason = esd.failure_reason(view)
    assert reason.startswith("rolled back: Lifecycle hook ") and fn in reason and "POST_SCALE_UP" in reason


def test_previous_good_revision_skips_the_live_task_definition(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    first = s.describe_service()["taskDefinition"]
    s.wait(s.deploy("nginx:2", **blue_green()))
    live = s.describe_service()["taskDefinition"]
    previous = esd.previous_good_revision(s.c("ecs"), s.cluster, s.service, live)
    assert previous is not None and previous["taskDefinition"] == first

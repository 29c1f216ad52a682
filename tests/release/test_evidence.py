"""Evidence of a failed deployment read from AWS's answers (orchestrator/replacement.py, evidence.py): the
shapes are the API references' (DescribeTargetHealth, DescribeTasks, GetDeploymentTarget); the sandbox
end to end is in test_failure_reason.py."""

from __future__ import annotations

from orchestrator.evidence import Evidence, health_cause, task_causes
from orchestrator.reason import next_step
from orchestrator.replacement import (
    awslogs_stream,
    codes_received,
    health_of,
    latest_event,
    replacement_task_set,
    stopped_of,
    task_set_id,
)

TG_ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/demo-web-green/0123456789abcdef"


def _target(state: str, reason: str | None = None, description: str | None = None) -> dict:  # type: ignore[type-arg]
    health = {
        "State": state,
        **({"Reason": reason} if reason else {}),
        **({"Description": description} if description else {}),
    }
    return {"Target": {"Id": "10.0.1.5", "Port": 8080}, "TargetHealth": health}


def test_unhealthy_targets_name_the_path_the_code_received_and_the_reason_code() -> None:
    mismatch = ("unhealthy", "Target.ResponseCodeMismatch", "Health checks failed with these codes: [503]")
    health = health_of([_target(*mismatch), _target(*mismatch), _target("healthy")], "demo-web-green", "/health")
    assert (health.total, health.healthy) == (3, 1)
    assert health_cause(health) == (
        "replacement tasks fail health checks on /health: 503 (Target.ResponseCodeMismatch), 2 of 3 tasks"
    )
    timeout = health_of([_target("unhealthy", "Target.Timeout", "Request timed out")], "tg", None)
    assert (
        health_cause(timeout)
        == "replacement tasks fail health checks: Request timed out (Target.Timeout), 1 of 1 tasks"
    )
    # Still starting, draining: no cause.
    starting = health_of([_target("initial", "Elb.InitialHealthChecking", "Initial health checks in progress")], "tg")
    assert health_cause(starting) == "" and health_cause(None) == ""
    assert codes_received("Health checks failed with these codes: [502, 503]") == "502,503"


def _task(task_id: str, reason: str, exit_code: int | None, container_reason: str = "") -> dict:  # type: ignore[type-arg]
    return {
        "taskArn": f"arn:aws:ecs:eu-west-1:123456789012:task/demo/{task_id}",
        "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/demo-web:8",
        "stoppedReason": reason,
        "stopCode": "EssentialContainerExited",
        "containers": [
            {"name": "web", **({"exitCode": exit_code} if exit_code is not None else {}), "reason": container_reason}
        ],
    }


def test_a_crashing_container_gives_its_exit_code_and_last_log_line_once_for_every_task() -> None:
    tail = ("starting", "Error: DATABASE_URL is not set")
    stopped = (
        stopped_of(_task("a1", "Essential container in task exited", 1), tail),
        stopped_of(_task("b2", "Essential container in task exited", 1), tail),
    )
    assert task_causes(stopped) == ["container web exited 1 (2 tasks): Error: DATABASE_URL is not set"]
    evidence = Evidence(None, stopped)
    assert next_step(evidence.causes(), "").startswith("fix what makes the container exit")
    assert list(evidence.to_dict()["stopped"][0]["log_tail"]) == list(tail)


def test_a_task_ecs_stopped_is_no_crash_even_though_its_container_was_killed() -> None:
    task = _task("e5", f"Task failed ELB health checks in (target-group {TG_ARN})", 137)
    task["stopCode"] = "ServiceSchedulerInitiated"
    stopped = stopped_of(task)
    assert stopped.crashed() is None
    assert task_causes((stopped,)) == [
        f"1 replacement task stopped: Task failed ELB health checks in (target-group {TG_ARN})"
    ]


def test_tasks_that_never_ran_give_their_stopped_reason_and_health_stops_are_not_repeated() -> None:
    pull = "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found"
    never = stopped_of(_task("c3", pull, None, "CannotPullContainerError: not found"))
    assert task_causes((never,)) == [f"1 replacement task stopped: {pull}"]
    assert next_step(Evidence(None, (never,)).causes(), "").startswith("fix what keeps the tasks from starting")
    elb = stopped_of(_task("d4", f"Task failed ELB health checks in (target-group {TG_ARN})", None))
    assert task_causes((elb,), skip_health_stops=True) == []
    mismatch = ("unhealthy", "Target.ResponseCodeMismatch", "Health checks failed with these codes: [500]")
    evidence = Evidence(health_of([_target(*mismatch)], "demo-web-green", "/health"), (elb,))
    assert evidence.causes() == [
        "replacement tasks fail health checks on /health: 500 (Target.ResponseCodeMismatch), 1 of 1 tasks"
    ]
    assert next_step(evidence.causes(), "") == "fix the health check or the app, release again"


def test_the_replacement_task_set_its_log_stream_and_the_latest_service_event() -> None:
    target = {
        "taskSetsInfo": [
            {"identifer": "ecs-svc/111", "taskSetLabel": "Blue", "targetGroup": {"name": "demo-web-blue"}},
            {"identifer": "ecs-svc/222", "taskSetLabel": "Green", "targetGroup": {"name": "demo-web-green"}},
        ]
    }
    green = replacement_task_set(target)
    assert green is not None and task_set_id(green) == "ecs-svc/222"
    taskdef = {
        "containerDefinitions": [
            {
                "name": "web",
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {"awslogs-group": "/ecs/demo/web", "awslogs-stream-prefix": "web"},
                },
            }
        ]
    }
    assert awslogs_stream(taskdef, "web", "a1") == ("/ecs/demo/web", "web/web/a1")
    assert awslogs_stream(taskdef, "sidecar", "a1") is None
    service = {"events": [{"message": "(service web) has started 2 tasks: (task a1) (task b2).", "createdAt": None}]}
    assert latest_event(service) == "(service web) has started 2 tasks: (task a1) (task b2)."
    assert latest_event({}) == ""


def test_the_unhealthy_service_event_names_the_target_group_and_the_description() -> None:
    from datetime import UTC, datetime, timedelta

    from orchestrator.replacement import reason_code, unhealthy_event

    now = datetime.now(UTC)
    events = [
        {
            "message": "(service web, taskSet ecs-svc/2) has stopped 2 running tasks: (task a1) (task b2).",
            "createdAt": now,
        },
        {
            "message": f"(service web, taskSet ecs-svc/2) (port 8080) is unhealthy in (target-group {TG_ARN}) due to "
            "(reason Health checks failed with these codes: [502]).",
            "createdAt": now,
        },
    ]
    assert unhealthy_event(events) == ("demo-web-green", "Health checks failed with these codes: [502]")
    assert unhealthy_event(events, since=now + timedelta(seconds=1)) is None  # older than the deployment
    assert reason_code("Health checks failed with these codes: [502]") == "Target.ResponseCodeMismatch"
    assert reason_code("Request timed out") == "Target.Timeout"
    assert reason_code("Health checks failed") == "Target.FailedHealthChecks"
    generic = health_of([_target("unhealthy", "Target.FailedHealthChecks", "Health checks failed")], "tg", "/health")
    assert (
        health_cause(generic)
        == "replacement tasks fail health checks on /health (Target.FailedHealthChecks), 1 of 1 tasks"
    )


def test_tasks_scaled_in_by_a_rollback_are_no_cause() -> None:
    drained = _task("f6", "Scaling activity initiated by (deployment ecs-svc/123)", 0)
    drained["stopCode"] = "ServiceSchedulerInitiated"
    assert task_causes((stopped_of(drained),)) == []

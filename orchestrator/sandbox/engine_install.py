"""The Install step's replacement tasks when they do not become healthy (helpers of engine_run.py).

With an `unhealthy` or `crash` fault the replacement task set's tasks start, then fail their target
group's health checks (ECS stops them: "Task failed ELB health checks in (target-group ...)") or their
essential container exits ("Essential container in task exited", with the fault's exit code and last
log lines); the service scheduler starts replacements, which fail the same way, for `ROUNDS` rounds;
then CodeDeploy gives up on Install as it does after its 60-minute wait. Each round writes the service
events ECS writes (Developer Guide, "Amazon ECS service event messages").
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from orchestrator.sandbox.engine_ecs import DeploymentError, service_event, short_id
from orchestrator.sandbox.faults import DeploymentFaults
from orchestrator.sandbox.service_tasks import Crash, Health, launch, placement_of, tasks_of
from orchestrator.sandbox.tasks import advance

ROUNDS = 3  # rounds of replacement tasks before Install fails (AWS: as many as fit in 60 minutes)
DEFAULT_HEALTH_REASON = "Target.FailedHealthChecks"


def health_of(faults: DeploymentFaults) -> Health | None:
    """The target health of the deployment's replacement tasks; None: healthy."""
    if not faults.unhealthy:
        return None
    if faults.health_reason:
        return Health(faults.health_reason, faults.health_code or 503)
    if faults.health_code is not None:
        return Health("Target.ResponseCodeMismatch", faults.health_code)
    return Health(DEFAULT_HEALTH_REASON)


def crash_of(faults: DeploymentFaults) -> Crash | None:
    if faults.crash_exit_code is None:
        return None
    return Crash(faults.crash_exit_code, tuple(faults.crash_log), faults.crash_reason or "")


def _names(tasks: list[Any]) -> str:
    return " ".join(f"(task {t.id})" for t in tasks)


def started_event(service: Any, task_set: Any, tasks: list[Any]) -> None:
    if tasks:
        service_event(
            service,
            f"(service {service.name}, taskSet {short_id(task_set)}) has started {len(tasks)} tasks: {_names(tasks)}.",
        )


def failing_install(run: Any, ecs: Any, service: Any, green: Any) -> Iterator[float]:
    """Rounds of replacement tasks that stop on their own or are stopped; then Install fails."""
    r = run.resolved
    health = health_of(run.faults)
    crash = crash_of(run.faults)
    placement = placement_of(service, green)
    prefix = f"(service {r.service}, taskSet {short_id(green)})"
    tasks = [t for t in tasks_of(ecs, r.cluster, started_by=green.id) if t.desired_status != "STOPPED"]
    for round_ in range(ROUNDS):
        if tasks:
            due = max(t._sim.stopped_at for t in tasks)
            yield max(due - time.monotonic(), 0.0) / max(run.engine.time_scale, 1e-9) + 1.0
            now = time.monotonic()
            for task in tasks:
                advance(task, now)
        if health is not None and crash is None:
            service_event(
                service,
                f"{prefix} (port {r.container_port}) is unhealthy in (target-group {r.green_tg_arn}) due to "
                f"(reason {health.describe()}).",
            )
            for task in tasks:
                failed = f"(task {task.id}) failed ELB health checks in (target-group {r.green_tg_arn})."
                service_event(service, f"{prefix} {failed}")
            service_event(service, f"{prefix} has stopped {len(tasks)} running tasks: {_names(tasks)}.")
            service_event(service, f"{prefix} deregistered {len(tasks)} targets in (target-group {r.green_tg_arn})")
        if round_ < ROUNDS - 1:
            tasks = launch(ecs, placement, max(service.desired_count, 1), health=health, crash=crash)
            started_event(service, green, tasks)
    if crash is not None:
        cause = f"Essential container in task exited (exit code {crash.exit_code})"
    else:
        cause = f"Task failed ELB health checks in (target-group {r.green_tg_arn})"
    raise DeploymentError(
        "ECS_UPDATE_ERROR",
        "The deployment timed out while waiting for the replacement ECS task set to become healthy. "
        "This time out period is 60 minutes.",
        diagnostics={
            "errorCode": "UnknownError",
            "scriptName": "",
            "message": f"The replacement task set never became healthy: {cause}",
            "logTail": "",
        },
    )

"""What a service deployment changes on moto's Service: its `deployments` (PRIMARY/ACTIVE, rollout
state), counts, current revisions and events, and the stopped tasks a failed launch leaves behind.

`Service.deployments` (API reference, Deployment): PRIMARY is "the most recent deployment", ACTIVE one
"that still has running tasks, but are in the process of being replaced"; rolloutState IN_PROGRESS ->
COMPLETED, or FAILED when the circuit breaker trips. botocore's `services_stable` waiter succeeds when
every service has exactly one deployment and runningCount == desiredCount, so a deployment keeps two
entries until its clean-up.
"""

from __future__ import annotations

import secrets
import types
from typing import Any

from orchestrator.sandbox.ecs_deployments.records import Deployment, utcnow
from orchestrator.sandbox.engine_ecs import add_stopped_tasks, service_event


def start(service: Any, task_definition: str) -> dict[str, Any]:
    """A new PRIMARY deployment entry; the previous PRIMARY becomes ACTIVE."""
    for entry in service.deployments:
        if entry.get("status") == "PRIMARY":
            entry["status"] = "ACTIVE"
            entry["updatedAt"] = utcnow()
    ident = f"ecs-svc/{secrets.randbelow(10**19):019d}"
    entry = {
        "id": ident,
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "desiredCount": service.desired_count,
        "pendingCount": 0,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": utcnow(),
        "updatedAt": utcnow(),
        "launchType": service.launch_type,
        "platformVersion": service.platform_version,
        "networkConfiguration": service.network_configuration or None,
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": f"ECS deployment {ident} in progress.",
    }
    service.deployments.insert(0, entry)
    return entry


def entry_of(service: Any, task_definition: str, status: str | None = None) -> dict[str, Any] | None:
    for entry in service.deployments:
        if entry.get("taskDefinition") == task_definition and (status is None or entry.get("status") == status):
            return entry
    return None


def set_counts(dep: Deployment, service: Any, revision: str, task_definition: str, running: int, pending: int) -> None:
    desired = service.desired_count
    dep.counts[revision] = {"requested": desired if running or pending else 0, "running": running, "pending": pending}
    entry = entry_of(service, task_definition)
    if entry is not None:
        entry.update(runningCount=running, pendingCount=pending, desiredCount=desired, updatedAt=utcnow())
    current = {arn: c for arn, c in dep.counts.items() if c["requested"] or c["running"]}
    service.current_service_revisions = [
        {
            "arn": arn,
            "requestedTaskCount": c["requested"],
            "runningTaskCount": c["running"],
            "pendingTaskCount": c["pending"],
        }
        for arn, c in current.items()
    ]
    dep.touch()


def finish(service: Any, keep: str, reason: str | None = None) -> None:
    """Only `keep`'s deployment entry remains, PRIMARY and COMPLETED (a steady state)."""
    kept = entry_of(service, keep)
    if kept is None:
        kept = start(service, keep)
    kept.update(
        status="PRIMARY",
        rolloutState="COMPLETED",
        rolloutStateReason=reason or f"ECS deployment {kept['id']} completed.",
        runningCount=service.desired_count,
        pendingCount=0,
        desiredCount=service.desired_count,
        updatedAt=utcnow(),
    )
    service.deployments[:] = [kept]
    service.task_definition = keep
    service.running_count, service.pending_count = service.desired_count, 0
    service_event(service, f"(service {service.name}) has reached a steady state.")


def fail_entry(service: Any, task_definition: str, reason: str) -> None:
    entry = entry_of(service, task_definition, "PRIMARY")
    if entry is not None:
        entry.update(rolloutState="FAILED", rolloutStateReason=reason, updatedAt=utcnow())


def failed_launch(backend: Any, service: Any, task_definition: str, count: int, reason: str) -> int:
    """`count` tasks that stopped before running (circuit breaker food); returns how many were recorded."""
    stand_in = types.SimpleNamespace(
        task_definition=task_definition,
        launch_type=service.launch_type,
        id=f"ecs-svc/{service.name}",
        network_configuration=service.network_configuration,
    )
    arns = add_stopped_tasks(backend, service.cluster_name, service.name, stand_in, count, reason)
    names = " ".join(f"(task {a.rsplit('/', 1)[-1]})" for a in arns) or f"({count} tasks)"
    service_event(service, f"(service {service.name}) was unable to place a task. Reason: {reason} {names}")
    entry = entry_of(service, task_definition, "PRIMARY")
    if entry is not None:
        entry["failedTasks"] = int(entry.get("failedTasks", 0)) + count
    return count

"""`orchestrator tasks`: a service's tasks per revision, with their health and their target's health.

Read-only: DescribeServices (which revision is current: the PRIMARY task set, else the PRIMARY
deployment), ListTasks/DescribeTasks (RUNNING, and STOPPED for the last stop of each revision; ECS
keeps stopped tasks visible for at least an hour, "Amazon ECS task lifecycle"), and
DescribeTargetHealth of the service's target groups, matched by the task's private IP (awsvpc tasks
register by IP). A service's tasks carry `group` = `service:<service name>` (Task.group, ECS API
reference): ListTasks' serviceName filter is checked again against it, so an endpoint that ignores the
filter does not mix one-off tasks in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from orchestrator.status import describe_service

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.contract import ServiceOutputs


@dataclass(frozen=True)
class TaskView:
    task_id: str
    task_arn: str
    task_definition: str
    revision: str  # family:revision
    role: str  # current | previous | other
    last_status: str
    desired_status: str
    health: str
    target_health: str
    target_reason: str
    started: str | None
    stopped_at: str | None
    stopped_reason: str
    exit_code: int | None
    ip: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def revision_of(task_definition_arn: str) -> str:
    """`arn:...:task-definition/demo-web:7` -> `demo-web:7`."""
    return task_definition_arn.rsplit("/", 1)[-1]


def revisions(service: dict[str, Any]) -> tuple[str | None, list[str]]:
    """(current task definition, the others the service still runs), from task sets or deployments."""
    units = service.get("taskSets") or service.get("deployments") or []
    current = next((u.get("taskDefinition") for u in units if u.get("status") == "PRIMARY"), None)
    current = current or service.get("taskDefinition")
    others = [u["taskDefinition"] for u in units if u.get("taskDefinition") and u["taskDefinition"] != current]
    return current, list(dict.fromkeys(others))


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)


def task_ip(task: dict[str, Any]) -> str | None:
    for attachment in task.get("attachments") or []:
        for detail in attachment.get("details") or []:
            if detail.get("name") == "privateIPv4Address" and detail.get("value"):
                return str(detail["value"])
    for container in task.get("containers") or []:
        for nic in container.get("networkInterfaces") or []:
            if nic.get("privateIpv4Address"):
                return str(nic["privateIpv4Address"])
    return None


def _list(aws: Aws, svc: ServiceOutputs, status: str) -> list[str]:
    ecs = aws.client("ecs")
    arns: list[str] = []
    pages = ecs.get_paginator("list_tasks").paginate(
        cluster=svc.cluster_name, serviceName=svc.service_name, desiredStatus=status
    )
    for page in pages:
        arns.extend(page.get("taskArns") or [])
    return arns


def describe_tasks(aws: Aws, cluster: str, arns: list[str]) -> list[dict[str, Any]]:
    ecs = aws.client("ecs")
    found: list[dict[str, Any]] = []
    for i in range(0, len(arns), 100):  # DescribeTasks takes at most 100 tasks
        found.extend(ecs.describe_tasks(cluster=cluster, tasks=arns[i : i + 100]).get("tasks") or [])
    return found


def service_tasks(aws: Aws, svc: ServiceOutputs, statuses: tuple[str, ...] = ("RUNNING",)) -> list[dict[str, Any]]:
    """The service's tasks (DescribeTasks' dicts) whose desired status is one of `statuses`."""
    arns = [arn for status in statuses for arn in _list(aws, svc, status)]
    group = f"service:{svc.service_name}"
    return [t for t in describe_tasks(aws, svc.cluster_name, list(dict.fromkeys(arns))) if t.get("group") == group]


def target_health(aws: Aws, service: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Target id (IP or instance) -> (state, reason: description) over the service's target groups."""
    groups = [lb.get("targetGroupArn") for lb in service.get("loadBalancers") or []]
    for ts in service.get("taskSets") or []:
        groups += [lb.get("targetGroupArn") for lb in ts.get("loadBalancers") or []]
    elb = aws.client("elbv2")
    health: dict[str, tuple[str, str]] = {}
    for arn in dict.fromkeys(g for g in groups if g):
        for d in elb.describe_target_health(TargetGroupArn=arn).get("TargetHealthDescriptions") or []:
            th = d.get("TargetHealth") or {}
            reason = ": ".join(x for x in (th.get("Reason"), th.get("Description")) if x)
            health[str((d.get("Target") or {}).get("Id"))] = (str(th.get("State", "")), reason)
    return health


def _view(task: dict[str, Any], role: str, container: str, health: dict[str, tuple[str, str]]) -> TaskView:
    arn = str(task.get("taskArn", ""))
    ip = task_ip(task)
    state, reason = health.get(ip or "", ("", ""))
    containers: list[dict[str, Any]] = list(task.get("containers") or [])
    main: dict[str, Any] = next(
        (c for c in containers if c.get("name") == container), containers[0] if containers else {}
    )
    td = str(task.get("taskDefinitionArn", ""))
    return TaskView(
        task_id=arn.rsplit("/", 1)[-1],
        task_arn=arn,
        task_definition=td,
        revision=revision_of(td),
        role=role,
        last_status=str(task.get("lastStatus", "")),
        desired_status=str(task.get("desiredStatus", "")),
        health=str(task.get("healthStatus", "UNKNOWN")),
        target_health=state,
        target_reason=reason,
        started=_iso(task.get("startedAt")),
        stopped_at=_iso(task.get("stoppedAt")),
        stopped_reason=str(task.get("stoppedReason", "")),
        exit_code=main.get("exitCode") if isinstance(main.get("exitCode"), int) else None,
        ip=ip,
    )


def read_tasks(aws: Aws, svc: ServiceOutputs) -> list[TaskView]:
    """The running tasks, current revision first, then each revision's most recently stopped task."""

    service = describe_service(aws, svc)
    current, others = revisions(service)
    tasks = service_tasks(aws, svc, ("RUNNING", "STOPPED"))
    health = target_health(aws, service) if any(t.get("desiredStatus") == "RUNNING" for t in tasks) else {}

    def role(td: str) -> str:
        return "current" if td == current else ("previous" if td in others else "other")

    views = [_view(t, role(str(t.get("taskDefinitionArn"))), svc.container_name, health) for t in tasks]
    running = [v for v in views if v.desired_status == "RUNNING"]
    last_stop: dict[str, TaskView] = {}
    for v in views:
        seen = last_stop.get(v.task_definition)
        if v.desired_status == "STOPPED" and (seen is None or (v.stopped_at or "") > (seen.stopped_at or "")):
            last_stop[v.task_definition] = v
    order = {"current": 0, "previous": 1, "other": 2}
    running.sort(key=lambda v: (order[v.role], v.revision, v.started or "", v.task_id))
    stopped = sorted(last_stop.values(), key=lambda v: (order[v.role], v.revision))
    return running + stopped


def healthy(v: TaskView) -> bool:
    """Running and passing its checks: its container health check (HEALTHY), and its target's when it
    is behind a load balancer; without a container health check (UNKNOWN), the target's alone."""
    if v.last_status != "RUNNING" or v.health == "UNHEALTHY":
        return False
    if v.target_health:
        return v.target_health == "healthy" and v.health in ("HEALTHY", "UNKNOWN")
    return v.health == "HEALTHY"


def by_revision(views: list[TaskView]) -> dict[str, dict[str, Any]]:
    """The summary: per revision, its role, how many run, how many are healthy, and its last stop."""
    out: dict[str, dict[str, Any]] = {}
    for v in views:
        entry = out.setdefault(v.revision, {"role": v.role, "running": 0, "healthy": 0, "last_stopped": None})
        if v.desired_status == "RUNNING":
            entry["running"] += 1
            entry["healthy"] += int(healthy(v))
        else:
            entry["last_stopped"] = {"task_id": v.task_id, "reason": v.stopped_reason, "exit_code": v.exit_code}
    return out

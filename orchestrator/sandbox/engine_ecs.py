"""What the engine does to ECS and ELB, and how it reads a deployment's AppSpec (helpers of the engine's runs)."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def utcnow() -> datetime:
    return datetime.now(UTC)


class DeploymentError(Exception):
    """A deployment fails: errorInformation code/message, plus the lifecycle event's diagnostics."""

    def __init__(self, code: str, message: str, diagnostics: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.diagnostics = diagnostics


@dataclass
class Resolved:
    """What a deployment acts on, worked out from its group, the AppSpec and the listeners."""

    cluster: str
    service: str
    service_arn: str
    task_definition: str
    container_name: str
    container_port: int
    network_configuration: dict[str, Any] | None
    platform_version: str | None
    hooks: dict[str, str]
    prod_listener: str
    test_listener: str | None
    blue_tg_arn: str
    blue_tg_name: str
    green_tg_arn: str
    green_tg_name: str


def parse_appspec(revision: dict[str, Any] | None) -> dict[str, Any]:
    import yaml

    from orchestrator.appspec import parse

    if not revision:
        raise DeploymentError("INVALID_REVISION", "The deployment has no revision.")
    kind = revision.get("revisionType")
    if kind == "AppSpecContent":
        content = (revision.get("appSpecContent") or {}).get("content")
    elif kind == "String":
        content = (revision.get("string") or {}).get("content")
    else:
        raise DeploymentError(
            "INVALID_REVISION", f"The revision type {kind} is not supported for the ECS compute platform."
        )
    try:
        spec = parse(content or "")
    except (ValueError, yaml.YAMLError) as exc:
        raise DeploymentError("INVALID_REVISION", f"The AppSpec file cannot be parsed: {exc}") from exc
    if not isinstance(spec, dict) or not spec.get("Resources"):
        raise DeploymentError("INVALID_REVISION", "The AppSpec file is missing the Resources section.")
    return spec


def target_service(spec: dict[str, Any]) -> dict[str, Any]:
    from orchestrator.appspec import service_properties

    props = service_properties(spec)
    if props is None:
        raise DeploymentError("INVALID_REVISION", "The AppSpec file has no resource of type AWS::ECS::Service.")
    return props


def hooks_of(spec: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for hook in spec.get("Hooks") or []:
        if isinstance(hook, dict):
            for name, target in hook.items():
                out[str(name)] = str(target)
    return out


def network_of(props: dict[str, Any]) -> dict[str, Any] | None:
    awsvpc = (props.get("NetworkConfiguration") or {}).get("AwsvpcConfiguration") or (
        props.get("NetworkConfiguration") or {}
    ).get("awsvpcConfiguration")
    if not awsvpc:
        return None
    conf: dict[str, Any] = {"subnets": list(awsvpc.get("Subnets") or awsvpc.get("subnets") or [])}
    groups = awsvpc.get("SecurityGroups") or awsvpc.get("securityGroups")
    if groups:
        conf["securityGroups"] = list(groups)
    public = awsvpc.get("AssignPublicIp") or awsvpc.get("assignPublicIp")
    if public:
        conf["assignPublicIp"] = public
    return {"awsvpcConfiguration": conf}


def backends(account_id: str, region: str) -> tuple[Any, Any]:
    from moto.ecs.models import ecs_backends
    from moto.elbv2.models import elbv2_backends

    return ecs_backends[account_id][region], elbv2_backends[account_id][region]


def listener_weights(listener: Any) -> dict[str, int]:
    """Target group ARN -> weight of the listener's default forward action."""
    if not listener.default_actions:
        return {}
    data = listener.default_actions[0].data
    groups = (data.get("ForwardConfig") or {}).get("TargetGroups") or []
    if groups:
        return {g["TargetGroupArn"]: int(g.get("Weight", 1)) for g in groups}
    if data.get("TargetGroupArn"):
        return {data["TargetGroupArn"]: 1}
    return {}


def service_event(service: Any, message: str) -> None:
    service.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": utcnow(), "message": message})
    del service.events[100:]


def short_id(task_set: Any) -> str:
    return str(task_set.id)


def set_task_set_counts(task_set: Any, desired: int, running: int, stable: bool) -> None:
    task_set.computed_desired_count = desired
    task_set.running_count = running
    task_set.pending_count = max(desired - running, 0)
    status = "STEADY_STATE" if stable else "STABILIZING"
    if getattr(task_set, "stabilityStatus", None) != status:
        task_set.stabilityStatus = status
        task_set.stabilityStatusAt = utcnow()
    task_set.updatedAt = utcnow()


# The ECS-native engine's failed launches (ecs_deployments/service_state.py) leave these behind.
def add_stopped_tasks(ecs: Any, cluster: str, service: str, task_set: Any, count: int, reason: str) -> list[str]:
    """Stopped tasks of a task set, as ECS leaves them behind (for describe_tasks); best effort."""
    from moto.ecs.models import Task

    arns: list[str] = []
    try:
        cluster_obj = ecs._get_cluster(cluster)
        # moto's Task cannot make the ENI of an awsvpc task (its NetworkInterface lacks private_dns_name);
        # a stopped task needs none, so build it from a copy that does not say awsvpc.
        task_definition = copy.copy(ecs.describe_task_definition(task_set.task_definition))
        task_definition.network_mode = "bridge"
        for _ in range(count):
            task = Task(
                cluster_obj,
                task_definition,
                None,
                None,
                ecs,
                group=f"service:{service}",
                launch_type=task_set.launch_type or "",
                started_by=task_set.id,
            )
            task.network_configuration = task_set.network_configuration
            task.desired_status = "STOPPED"
            task.status = "STOPPED"
            task.stopped_reason = reason
            task.stop_code = "ServiceSchedulerInitiated"  # type: ignore[attr-defined]
            task.stopped_at = utcnow()  # type: ignore[attr-defined]
            for container in task.containers:
                container.last_status = "STOPPED"
                container.health_status = "UNHEALTHY"
                container.exitCode = 137
            ecs.tasks.setdefault(cluster_obj.name, {})[task.task_arn] = task
            arns.append(task.task_arn)
    except Exception:  # e.g. an awsvpc task set without security groups: moto cannot make the ENI
        pass
    return arns

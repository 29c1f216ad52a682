"""One reading of each piece of ECS / CodeDeploy / ELB data the commands look at.

Plain functions over the dicts boto3 returns (DescribeServices, DescribeListeners,
GetDeploymentTarget): the release, the preflight, doctor and status all read them through here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orchestrator.clock import utc_iso
from orchestrator.events import LifecycleStatus


def primary_task_set(service: dict[str, Any]) -> dict[str, Any] | None:
    """The service's PRIMARY task set (the one serving production), or None without task sets."""
    return next((ts for ts in service.get("taskSets") or [] if ts.get("status") == "PRIMARY"), None)


def serving_task_definition(service: dict[str, Any]) -> str | None:
    """The task definition of the primary task set (of the service when it has no task sets)."""
    return (primary_task_set(service) or {}).get("taskDefinition") or service.get("taskDefinition")


def target_group_name(arn: str) -> str:
    """`arn:aws:elasticloadbalancing:...:targetgroup/<name>/<id>` → name (names are unique per region)."""
    parts = arn.split(":targetgroup/", 1)
    return parts[1].split("/", 1)[0] if len(parts) == 2 else arn


def forward_weights(listener: dict[str, Any]) -> dict[str, float]:
    """Target group ARN → percent of the listener's default forward action."""
    for action in listener.get("DefaultActions") or []:
        if action.get("Type") != "forward":
            continue
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
        if groups:
            total = sum(int(g.get("Weight", 1)) for g in groups)
            return {
                g["TargetGroupArn"]: (100.0 * int(g.get("Weight", 1)) / total if total else 0.0)
                for g in groups
                if "TargetGroupArn" in g
            }
        if action.get("TargetGroupArn"):
            return {action["TargetGroupArn"]: 100.0}
    return {}


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return utc_iso(value) if isinstance(value, datetime) else str(value)


def _duration(start: Any, end: Any) -> float | None:
    if isinstance(start, datetime) and isinstance(end, datetime):
        return round((end - start).total_seconds(), 3)
    return None


def lifecycle_events(ecs_target: dict[str, Any]) -> tuple[LifecycleStatus, ...]:
    """The lifecycle events of a deployment target's `ecsTarget`, in CodeDeploy's order."""
    return tuple(
        LifecycleStatus(
            name=str(e.get("lifecycleEventName", "?")),
            status=str(e.get("status", "Unknown")),
            start=_iso(e.get("startTime")),
            end=_iso(e.get("endTime")),
            duration_s=_duration(e.get("startTime"), e.get("endTime")),
        )
        for e in ecs_target.get("lifecycleEvents") or []
    )


def without_empty(doc: Any, *, blank_strings: bool = False) -> Any:
    """`doc` without empty values, recursively: describe_task_definition fills in defaults nobody wrote
    (mountPoints: [], ...). `blank_strings` also drops "" values."""
    empty: tuple[Any, ...] = (None, [], {}, "") if blank_strings else (None, [], {})
    if isinstance(doc, dict):
        pruned = {k: without_empty(v, blank_strings=blank_strings) for k, v in doc.items()}
        return {k: v for k, v in pruned.items() if v not in empty}
    if isinstance(doc, list):
        return [without_empty(v, blank_strings=blank_strings) for v in doc]
    return doc

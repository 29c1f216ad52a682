"""`orchestrator scale --count N`: the service's desired count, refused while a deployment is in progress.

A deployment in progress owns the counts: CodeDeploy sizes a blue/green deployment's replacement task
set from the service's desired count when it creates it, and an ECS rolling deployment is itself
moving tasks. So the command refuses (one line, nothing written) while the service's CodeDeploy
deployment group has an active deployment, or while its ECS deployments are not settled: more than
one deployment, or a PRIMARY one whose rolloutState is IN_PROGRESS (DescribeServices, "Deployment
circuit breaker" / rolloutState, ECS API reference).

"Steady" is what the `services-stable` waiter checks (botocore's ECS waiters): one deployment and
runningCount equal to desiredCount; with task sets, every task set's running count equals its
computed desired count.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from orchestrator.day2_events import ScaleProgress
from orchestrator.errors import InputError, TimedOut
from orchestrator.history import active_deployment
from orchestrator.nextsteps import Next, Unspelled
from orchestrator.status import describe_service

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.contract import ServiceOutputs
    from orchestrator.day2_events import EventSink
    from orchestrator.nextsteps import CommandLines

MAX_DESIRED_COUNT = 5000  # "Tasks per service", Amazon ECS service quotas (adjustable; checked by ECS too)


def deployment_in_progress(aws: Aws, svc: ServiceOutputs, service: dict[str, Any]) -> str | None:
    """Why the service's count may not change now (None: it may)."""
    controller = (service.get("deploymentController") or {}).get("type", "ECS")
    if controller == "CODE_DEPLOY":
        if svc.codedeploy_app_name and svc.codedeploy_deployment_group_name:
            active = active_deployment(aws, svc)
            if active is not None:
                return f"CodeDeploy deployment {active.deployment_id} is {active.status}"
        return None
    deployments = service.get("deployments") or []
    moving = [d for d in deployments if d.get("rolloutState") == "IN_PROGRESS"]
    if moving:
        d = moving[0]
        return f"ECS deployment {d.get('id')} is IN_PROGRESS ({d.get('rolloutStateReason') or 'rolling out'})"
    if len(deployments) > 1:
        return f"the service has {len(deployments)} ECS deployments (one is still draining)"
    return None


def steady(service: dict[str, Any]) -> bool:
    sets = service.get("taskSets") or []
    if sets:
        return all(int(ts.get("runningCount", 0)) == int(ts.get("computedDesiredCount", 0)) for ts in sets)
    return len(service.get("deployments") or [1]) == 1 and int(service.get("runningCount", 0)) == int(
        service.get("desiredCount", -1)
    )


def check_scale(
    aws: Aws, svc: ServiceOutputs, count: int, lines: CommandLines | None = None, key: str | None = None
) -> dict[str, Any]:
    """Validate before the write: the count, and no deployment in progress. Returns the service.
    `lines` spells the next step (following the deployment) for service `key`."""

    if not 0 <= count <= MAX_DESIRED_COUNT:
        raise InputError(f"--count {count}: expected 0 to {MAX_DESIRED_COUNT} tasks")
    service = describe_service(aws, svc)
    if service.get("schedulingStrategy") == "DAEMON":
        raise InputError(f"service {svc.service_name} is a DAEMON service: ECS runs one task per instance")
    busy = deployment_in_progress(aws, svc, service)
    if busy:
        raise InputError(
            f"service {svc.service_name}: {busy}; its desired count is not changed during a deployment",
            hint=f"scale after it ends; follow it with `{(lines or Unspelled()).line(Next.FOLLOW, service=key)}`",
        )
    return service


def autoscaling_range(aws: Aws, svc: ServiceOutputs) -> tuple[int, int] | None:
    """(min, max) of the service's Application Auto Scaling target, if it has one. Its scaling policies
    set the desired count themselves, within that range ("Automatically scale your Amazon ECS service",
    Developer Guide). None also when the caller may not read it: the warning is a courtesy."""
    try:
        found = aws.client("application-autoscaling").describe_scalable_targets(
            ServiceNamespace="ecs",
            ResourceIds=[f"service/{svc.cluster_name}/{svc.service_name}"],
            ScalableDimension="ecs:service:DesiredCount",
        )["ScalableTargets"]
    except Exception:  # AccessDenied for a role without it, an endpoint without the service
        return None
    return (int(found[0]["MinCapacity"]), int(found[0]["MaxCapacity"])) if found else None


def set_count(aws: Aws, svc: ServiceOutputs, count: int) -> dict[str, Any]:
    resp = aws.client("ecs").update_service(cluster=svc.cluster_name, service=svc.service_name, desiredCount=count)
    return dict(resp["service"])


def wait_steady(
    aws: Aws, svc: ServiceOutputs, rep: EventSink, *, timeout_s: float, interval_s: float
) -> dict[str, Any]:
    """Poll DescribeServices until steady; a ScaleProgress event per change. TimedOut after timeout_s."""

    deadline = time.monotonic() + timeout_s
    last: tuple[int, int, int] | None = None
    while True:
        service = describe_service(aws, svc)
        counts = (
            int(service.get("desiredCount", 0)),
            int(service.get("runningCount", 0)),
            int(service.get("pendingCount", 0)),
        )
        if counts != last:
            rep.emit(ScaleProgress(svc.service_name, *counts))
            last = counts
        if steady(service):
            return service
        if time.monotonic() >= deadline:
            raise TimedOut(
                f"service {svc.service_name} not steady after {timeout_s:.0f}s: "
                f"{counts[1]} running, {counts[2]} pending of {counts[0]}"
            )
        time.sleep(interval_s)

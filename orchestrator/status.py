"""What runs now: the service's task sets, where the listeners send traffic, the deployment in flight.

Everything here only reads. The traffic split comes from the production listener's forward action
(the truth for users), the task sets from ECS, the deployment from CodeDeploy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestrator.aws import error_code
from orchestrator.ecs_read import forward_weights, lifecycle_events, serving_task_definition, target_group_name
from orchestrator.engines.codedeploy.vocabulary import TERMINAL
from orchestrator.errors import InputError
from orchestrator.events import LifecycleStatus
from orchestrator.history import DeploymentRecord, TaskDefinitionImages, active_deployment, get_record, newest_records
from orchestrator.history import list_deployment_ids as _list_ids

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.contract import ServiceOutputs


@dataclass(frozen=True)
class TaskSetView:
    id: str
    status: str  # PRIMARY | ACTIVE | DRAINING
    task_definition: str
    image: str | None
    target_group: str | None
    running: int
    desired: int
    pending: int
    production_weight: float  # percent of production traffic its target group receives
    test_weight: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ServiceStatus:
    cluster: str
    service: str
    service_status: str
    controller: str
    running: int
    desired: int
    task_definition: str | None  # of the primary task set (or the service when it has none)
    image: str | None
    task_sets: tuple[TaskSetView, ...]
    production: dict[str, float]  # target group name → percent
    test: dict[str, float]
    active: DeploymentRecord | None = None
    lifecycle: tuple[LifecycleStatus, ...] = ()
    last: DeploymentRecord | None = None
    # When the last deployment is a rollback: the deployment it rolled back (why it ran).
    rolled_back: DeploymentRecord | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def primary(self) -> TaskSetView | None:
        return next((t for t in self.task_sets if t.status == "PRIMARY"), None)


def read_listeners(aws: Aws, svc: ServiceOutputs) -> tuple[dict[str, float], dict[str, float]]:
    """(production, test) forward weights by target group ARN."""
    elb = aws.client("elbv2")
    found = elb.describe_listeners(ListenerArns=[svc.prod_listener_arn, svc.test_listener_arn])["Listeners"]
    by_arn = {item["ListenerArn"]: item for item in found}
    return forward_weights(by_arn.get(svc.prod_listener_arn, {})), forward_weights(
        by_arn.get(svc.test_listener_arn, {})
    )


def describe_service(aws: Aws, svc: ServiceOutputs) -> dict[str, Any]:

    ecs = aws.client("ecs")
    resp = ecs.describe_services(cluster=svc.cluster_name, services=[svc.service_name])
    services = resp.get("services") or []
    if not services:
        reason = "; ".join(f.get("reason", "") for f in resp.get("failures") or []) or "not found"
        raise InputError(f"service {svc.service_name} in cluster {svc.cluster_name}: {reason}")
    return dict(services[0])


def running_task_definition(aws: Aws, svc: ServiceOutputs) -> str | None:
    """The task definition of the primary task set (of the service when it has no task sets)."""
    service = describe_service(aws, svc)
    return serving_task_definition(service)


def lifecycle_of(aws: Aws, deployment_id: str) -> tuple[tuple[LifecycleStatus, ...], list[dict[str, Any]]]:
    """The ECS target's lifecycle events and task sets of a deployment (empty before Install starts)."""

    cd = aws.client("codedeploy")
    try:
        target_ids = cd.list_deployment_targets(deploymentId=deployment_id).get("targetIds") or []
        if not target_ids:
            return (), []
        target = cd.get_deployment_target(deploymentId=deployment_id, targetId=target_ids[0])["deploymentTarget"]
    except Exception as exc:
        # AWS answers DeploymentNotStartedException while the deployment is Created or Queued.
        if error_code(exc) != "DeploymentNotStartedException":
            raise
        return (), []
    ecs_target = target.get("ecsTarget") or {}
    return lifecycle_events(ecs_target), list(ecs_target.get("taskSetsInfo") or [])


def last_finished(aws: Aws, svc: ServiceOutputs) -> DeploymentRecord | None:
    ids = _list_ids(aws, svc, TERMINAL)
    records = newest_records(aws, ids, 1)
    return records[0] if records else None


def read_status(aws: Aws, svc: ServiceOutputs, *, with_deployments: bool = True) -> ServiceStatus:
    service = describe_service(aws, svc)
    images = TaskDefinitionImages(aws, svc.container_name)
    prod, test = read_listeners(aws, svc)
    sets: list[TaskSetView] = []
    for ts in service.get("taskSets") or []:
        tg_arn = next((lb.get("targetGroupArn") for lb in ts.get("loadBalancers") or []), None)
        sets.append(
            TaskSetView(
                id=ts.get("id", ""),
                status=ts.get("status", ""),
                task_definition=ts.get("taskDefinition", ""),
                image=images.image(ts.get("taskDefinition")),
                target_group=target_group_name(tg_arn) if tg_arn else None,
                running=int(ts.get("runningCount", 0)),
                desired=int(ts.get("computedDesiredCount", 0)),
                pending=int(ts.get("pendingCount", 0)),
                production_weight=prod.get(tg_arn or "", 0.0),
                test_weight=test.get(tg_arn or "", 0.0),
            )
        )
    # PRIMARY first, then the others in ECS's order.
    sets.sort(key=lambda t: t.status != "PRIMARY")
    primary = next((t for t in sets if t.status == "PRIMARY"), None)
    task_def = primary.task_definition if primary else service.get("taskDefinition")
    active = last = rolled_back = None
    lifecycle: tuple[LifecycleStatus, ...] = ()
    if with_deployments:
        active = active_deployment(aws, svc)
        if active is not None:
            lifecycle, _ = lifecycle_of(aws, active.deployment_id)
            if active.task_definition and not active.image:
                from dataclasses import replace

                active = replace(active, image=images.image(active.task_definition))
        last = last_finished(aws, svc)
        if last is not None and last.task_definition and not last.image:
            from dataclasses import replace

            last = replace(last, image=images.image(last.task_definition))
        if last is not None and last.is_rollback and last.rollback_of:
            from dataclasses import replace

            # A rollback's own status says nothing about the release that failed: name it.
            rolled_back = get_record(aws, last.rollback_of)
            origin = {"Failed": "autoRollback", "Stopped": "stopRollback"}.get(rolled_back.status, last.origin)
            last = replace(last, origin=origin)
    return ServiceStatus(
        cluster=svc.cluster_name,
        service=svc.service_name,
        service_status=service.get("status", ""),
        controller=(service.get("deploymentController") or {}).get("type", "ECS"),
        running=int(service.get("runningCount", 0)),
        desired=int(service.get("desiredCount", 0)),
        task_definition=task_def,
        image=images.image(task_def),
        task_sets=tuple(sets),
        production={target_group_name(k): v for k, v in prod.items()},
        test={target_group_name(k): v for k, v in test.items()},
        active=active,
        lifecycle=lifecycle,
        last=last,
        rolled_back=rolled_back,
    )

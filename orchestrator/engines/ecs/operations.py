"""`stop`, `approve` and `rollback` for ECS-engine services (orchestrator.operations dispatches here).

- stop: StopServiceDeployment ROLLBACK (ABORT with --no-rollback) of the service deployment in progress,
  followed to its end (ROLLBACK_SUCCESSFUL: rolled back; STOPPED: stopped where it stood);
- approve: ContinueServiceDeployment(CONTINUE) of the PAUSE hook awaiting action, followed to its end;
- rollback: during a deployment, stop it with rollback; after one, deploy the previous good revision's
  task definition again (UpdateService), followed to its end.
Each returns the fields of operations.Outcome (deployment, status, rollback, task definition, image,
production): this module does not import operations (which imports it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from orchestrator.engines.ecs import deployments as esd
from orchestrator.engines.ecs.engine import EcsEngine
from orchestrator.errors import DeploymentFailed, InputError
from orchestrator.events import DeploymentFinished, Message

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.contract import ServiceOutputs
    from orchestrator.events import Reporter

ENGINE = EcsEngine()
DEFAULT_TIMEOUT_S = 3600.0


def _active(aws: Aws, svc: ServiceOutputs, deployment_id: str | None) -> esd.View:
    if deployment_id:
        return esd.read(aws.client("ecs"), deployment_id)
    record = ENGINE.active(aws, svc)
    if record is None:
        raise InputError(f"no service deployment is in progress for {svc.cluster_name}/{svc.service_name}")
    return esd.read(aws.client("ecs"), record.deployment_id)


def _live(aws: Aws, svc: ServiceOutputs) -> dict[str, Any]:
    found = aws.client("ecs").describe_services(cluster=svc.cluster_name, services=[svc.service_name])["services"]
    return dict(found[0]) if found else {}


def _follow(aws: Aws, arn: str, reporter: Reporter, timeout_s: float | None) -> esd.View:
    result = ENGINE.watch(
        aws, arn, reporter, until="complete", timeout=timeout_s or DEFAULT_TIMEOUT_S, target_id=None, waits=None
    )
    view = getattr(result.view, "ecs", None)
    assert view is not None
    return view


def _fields(arn: str | None, status: str, aws: Aws, svc: ServiceOutputs) -> dict[str, Any]:
    live = _live(aws, svc)
    return {
        "deployment_id": arn,
        "status": status,
        "rollback_deployment_id": None,
        "task_definition": live.get("taskDefinition"),
        "image": None,
        "production": {},
    }


def stop(
    aws: Aws,
    svc: ServiceOutputs,
    reporter: Reporter,
    *,
    rollback: bool,
    deployment_id: str | None,
    timeout_s: float | None,
    wait: bool,
    on_requested: Callable[[], None] | None = None,
) -> dict[str, Any]:
    view = _active(aws, svc, deployment_id)
    if view.finished:
        raise InputError(f"service deployment {view.arn} ended ({view.status}) before it could be stopped")
    reporter.emit(Message(f"stopping {view.arn} ({view.status} at {view.stage}){' with rollback' if rollback else ''}"))
    said = ENGINE.stop(aws, view.arn, rollback=rollback)
    if said:
        reporter.emit(Message(f"ECS: {said}"))
    if on_requested is not None:  # nothing more to send (the caller's interrupt shield may go down)
        on_requested()
    if not wait:
        return _fields(view.arn, "StopRequested", aws, svc)
    final = _follow(aws, view.arn, reporter, timeout_s)
    reason = esd.failure_reason(final) if not final.succeeded else "it finished before the stop took effect"
    reporter.emit(DeploymentFinished(deployment_id=view.arn, status=final.status, reason=reason))
    if final.status == "ROLLBACK_FAILED":
        raise DeploymentFailed(f"service deployment {view.arn}: {reason}")
    status = {"ROLLBACK_SUCCESSFUL": "RolledBack", "STOPPED": "Stopped", "SUCCESSFUL": "Succeeded"}
    return _fields(view.arn, status.get(final.status, final.status), aws, svc)


def approve(
    aws: Aws, svc: ServiceOutputs, reporter: Reporter, *, deployment_id: str | None, wait: bool, timeout_s: float | None
) -> dict[str, Any]:
    view = _active(aws, svc, deployment_id)
    ENGINE.approve(aws, view.arn)
    reporter.emit(Message(f"approved {view.arn}: the PAUSE hook at {view.stage} continues"))
    if not wait:
        return _fields(view.arn, "Approved", aws, svc)
    final = _follow(aws, view.arn, reporter, timeout_s)
    reporter.emit(
        DeploymentFinished(
            deployment_id=view.arn, status=final.status, reason=esd.failure_reason(final) if not final.succeeded else ""
        )
    )
    if not final.succeeded:
        raise DeploymentFailed(f"service deployment {view.arn}: {esd.failure_reason(final)}")
    return _fields(view.arn, "Succeeded", aws, svc)


def rollback(
    aws: Aws, svc: ServiceOutputs, reporter: Reporter, *, to: str | None, timeout_s: float | None, wait: bool
) -> dict[str, Any]:
    active, target, running = rollback_target(aws, svc, to)
    if active is not None:
        return stop(aws, svc, reporter, rollback=True, deployment_id=active, timeout_s=timeout_s, wait=wait)
    reporter.emit(Message(f"redeploying {target} (running now: {running}) through ECS (UpdateService)"))
    arn = redeploy(aws, svc, target)
    if not wait:
        return _fields(arn, "Created", aws, svc)
    final = _follow(aws, arn, reporter, timeout_s)
    reporter.emit(
        DeploymentFinished(
            deployment_id=arn, status=final.status, reason=esd.failure_reason(final) if not final.succeeded else ""
        )
    )
    if not final.succeeded:
        raise DeploymentFailed(f"rollback service deployment {arn}: {esd.failure_reason(final)}")
    return _fields(arn, "Succeeded", aws, svc)


def rollback_target(aws: Aws, svc: ServiceOutputs, to: str | None) -> tuple[str | None, str, str]:
    """(active service deployment or None, the task definition to deploy again, the running one), by reads
    alone: bad input (nothing to roll back to) raises InputError."""
    active = ENGINE.active(aws, svc)
    running = str(_live(aws, svc).get("taskDefinition") or "")
    if active is not None:
        if to:
            raise InputError(f"service deployment {active.deployment_id} is {active.status}; --to applies after one")
        return active.deployment_id, "", running
    if to:
        found = aws.client("ecs").describe_task_definition(taskDefinition=to)["taskDefinition"]
        return None, str(found["taskDefinitionArn"]), running
    previous = esd.previous_good_revision(aws.client("ecs"), svc.cluster_name, svc.service_name, running)
    if previous is None:
        raise InputError(
            f"no earlier successful service deployment of {svc.service_name} with another task definition",
            hint="name one with --to TASKDEF",
        )
    return None, str(previous["taskDefinition"]), running


def redeploy(aws: Aws, svc: ServiceOutputs, task_definition: str) -> str:
    """UpdateService to `task_definition`: the service deployment that rolls back (its ARN)."""
    return ENGINE.start(aws, ENGINE.start_request(svc, task_definition, "", None, ""))

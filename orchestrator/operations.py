"""Acting on deployments between and during releases: stop, approve, roll back — and follow the result.

Every change goes through the service's deployment engine (orchestrator/engines: stop, approve, start);
nothing here calls the ECS service API to change what runs. Each operation ends by reading back what
runs (the primary task set and the production listener) and saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orchestrator.appspec import content
from orchestrator.arns import short_arn
from orchestrator.aws import error_code, error_message, refusals
from orchestrator.deployment import default_timeout, describe, wait_model
from orchestrator.description import DeploymentDescription, release_token
from orchestrator.engines.codedeploy.vocabulary import (
    ALREADY_COMPLETED,
    NOT_READY,
    ROLLBACK_CREATORS,
    UNKNOWN_DEPLOYMENT,
)
from orchestrator.engines.select import engine_for
from orchestrator.errors import DeploymentFailed, InputError
from orchestrator.events import DeploymentCreated, DeploymentFinished, Message
from orchestrator.history import (
    DeploymentRecord,
    TaskDefinitionImages,
    active_deployment,
    get_record,
    load_history,
    record_of,
)
from orchestrator.interrupts import deferred_interrupts
from orchestrator.revisions import deployment_appspec
from orchestrator.status import ServiceStatus, read_status, target_group_name

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.contract import ServiceOutputs
    from orchestrator.deployment import WaitModel
    from orchestrator.events import Reporter


@dataclass(frozen=True)
class Outcome:
    """How an operation ended and what runs afterwards."""

    deployment_id: str | None
    status: str
    rollback_deployment_id: str | None
    task_definition: str | None
    image: str | None
    production: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment_id": self.deployment_id,
            "status": self.status,
            "rollback_deployment_id": self.rollback_deployment_id,
            "task_definition": self.task_definition,
            "image": self.image,
            "production": self.production,
        }


def follow(
    aws: Aws, svc: ServiceOutputs, deployment_id: str, reporter: Reporter, *, timeout_s: float | None = None
) -> DeploymentRecord:
    """Follow a deployment to its end with the release's watcher (adaptive polling, progress events).

    timeout_s None: the release's default, computed from the deployment's group and config."""

    with refusals():
        group, config = _settings(aws, deployment_id)
        if timeout_s is None:
            timeout_s = default_timeout(group, config)
        waits = _waits(aws, group, config)
        result = engine_for(svc).watch(
            aws, deployment_id, reporter, until="complete", timeout=timeout_s, target_id=None, waits=waits
        )
    return record_of(aws, result.view.info) if result.view.info else get_record(aws, deployment_id)


def _settings(aws: Aws, deployment_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The deployment's group and deployment config (as GetDeploymentGroup/GetDeploymentConfig give them)."""
    cd = aws.client("codedeploy")
    info_d = cd.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    group = cd.get_deployment_group(
        applicationName=info_d["applicationName"], deploymentGroupName=info_d["deploymentGroupName"]
    )["deploymentGroupInfo"]
    config = cd.get_deployment_config(deploymentConfigName=info_d.get("deploymentConfigName") or "")
    return group, config.get("deploymentConfigInfo") or {}


def _waits(aws: Aws, group: dict[str, Any], config: dict[str, Any]) -> WaitModel:
    """The deployment's known waits (canary/linear step, termination wait), so that the watcher sleeps
    through them and wakes near their ends. Only where the endpoint's clock is known (aws.time_scale,
    decided by orchestrator.target); otherwise plain adaptive polling."""

    return wait_model(group, config, aws.time_scale)


def _given(aws: Aws, deployment_id: str) -> DeploymentRecord:
    """The deployment named by --deployment-id; an unknown id is bad input (nothing written yet)."""

    try:
        return get_record(aws, deployment_id)
    except Exception as exc:
        if error_code(exc) in UNKNOWN_DEPLOYMENT:
            raise InputError(f"--deployment-id {deployment_id}: {error_message(exc)}") from None
        raise


def confirm(
    aws: Aws, svc: ServiceOutputs, reporter: Reporter, expected_task_definition: str | None, strict: bool = True
) -> ServiceStatus:
    """Read back what serves production; fail if it is not what the operation promised.

    strict=False only reports (a stop without rollback may leave traffic split on purpose)."""
    status = read_status(aws, svc, with_deployments=False)
    live = [name for name, weight in status.production.items() if weight > 0]
    serving = ", ".join(f"{n} {w:g}%" for n, w in status.production.items() if w > 0) or "nothing"
    reporter.emit(
        Message(
            f"production traffic: {serving}; primary task set runs {status.task_definition or '?'}"
            f" (image {status.image or '?'})"
        )
    )
    if not strict:
        return status
    if expected_task_definition and status.task_definition != expected_task_definition:
        raise DeploymentFailed(
            f"after the operation the primary task set runs {status.task_definition}, "
            f"expected {expected_task_definition}"
        )
    primary = status.primary
    if primary is not None and primary.target_group and live and live != [primary.target_group]:
        raise DeploymentFailed(
            f"production traffic goes to {serving}, but the primary task set is on {primary.target_group}"
        )
    return status


def stop(
    aws: Aws,
    svc: ServiceOutputs,
    reporter: Reporter,
    *,
    rollback: bool = True,
    deployment_id: str | None = None,
    timeout_s: float | None = None,
    expected_task_definition: str | None = None,
    on_requested: Callable[[], None] | None = None,
    wait: bool = True,
) -> Outcome:
    """Stop the active deployment (with rollback unless told otherwise) and follow it to its end.

    `on_requested` runs once nothing more is to be sent — CodeDeploy answered StopDeployment, or the
    deployment is itself a rollback, only followed — and before following it.

    `expected_task_definition`: what should run after the rollback (by default what the primary
    task set ran when stop was called, i.e. the original blue task set).
    """

    with refusals():
        record = _given(aws, deployment_id) if deployment_id else active_deployment(aws, svc)
        if record is None or not record.active:
            what = f"deployment {deployment_id} is {record.status}" if record else "no deployment is in progress"
            raise InputError(f"{what} in {svc.codedeploy_app_name}/{svc.codedeploy_deployment_group_name}")
        if expected_task_definition is None and rollback:
            before = read_status(aws, svc, with_deployments=False)
            # During a deployment the original task set is still PRIMARY until traffic is shifted;
            # afterwards it is the one that is not the deployment's own.
            expected_task_definition = next(
                (t.task_definition for t in before.task_sets if t.task_definition != record.task_definition),
                before.task_definition if before.task_definition != record.task_definition else None,
            )
        dep_id = record.deployment_id
        if record.creator in ROLLBACK_CREATORS and rollback:
            # Already a rollback: stopping it would strand the service between two task sets.
            if not wait:
                reporter.emit(Message(f"{dep_id} is itself a rollback; not stopping it"))
                return Outcome(dep_id, record.status, dep_id, expected_task_definition, None, {})
            reporter.emit(Message(f"{dep_id} is itself a rollback; following it to its end"))
            if on_requested is not None:  # nothing to send: following it may be cut short again
                on_requested()
            final = follow(aws, svc, dep_id, reporter, timeout_s=timeout_s)
            return _finish_rollback(aws, svc, reporter, None, final, expected_task_definition)
        reporter.emit(Message(f"stopping {dep_id} ({record.status}){' with rollback' if rollback else ''}"))

        try:
            with deferred_interrupts():  # a stop request in flight completes, even on a second Ctrl-C
                said = engine_for(svc).stop(aws, dep_id, rollback=rollback)
        except Exception as exc:
            if error_code(exc) == ALREADY_COMPLETED:
                raise InputError(f"deployment {dep_id} ended before it could be stopped") from None
            raise
        if said:
            reporter.emit(Message(f"CodeDeploy: {said}"))
        if on_requested is not None:
            on_requested()
    if not wait:
        return Outcome(dep_id, "StopRequested", None, expected_task_definition, None, {})
    stopped = follow(aws, svc, dep_id, reporter, timeout_s=timeout_s)
    if not rollback:
        reporter.emit(
            DeploymentFinished(deployment_id=dep_id, status=stopped.status, reason="stopped without rollback")
        )
        status = confirm(aws, svc, reporter, None, strict=False)
        return Outcome(dep_id, stopped.status, None, status.task_definition, status.image, status.production)
    with refusals():
        rollback_id = engine_for(svc).rollback_of(aws, dep_id, grace_s=3.0, wait_s=30.0)
        stopped = get_record(aws, dep_id)
    if rollback_id is None:
        reporter.emit(
            DeploymentFinished(
                deployment_id=dep_id, status=stopped.status, reason="stopped before it changed anything; no rollback"
            )
        )
        status = confirm(aws, svc, reporter, expected_task_definition)
        return Outcome(dep_id, stopped.status, None, status.task_definition, status.image, status.production)
    reporter.emit(
        DeploymentFinished(
            deployment_id=dep_id, status=stopped.status, reason="stopped", rollback_deployment_id=rollback_id
        )
    )
    reporter.emit(Message(f"following rollback {rollback_id}"))
    final = follow(aws, svc, rollback_id, reporter, timeout_s=timeout_s)
    return _finish_rollback(aws, svc, reporter, dep_id, final, expected_task_definition)


def _finish_rollback(
    aws: Aws,
    svc: ServiceOutputs,
    reporter: Reporter,
    stopped_id: str | None,
    final: DeploymentRecord,
    expected: str | None,
) -> Outcome:
    reporter.emit(
        DeploymentFinished(deployment_id=final.deployment_id, status=final.status, reason=final.error or "rollback")
    )
    if final.status != "Succeeded":
        raise DeploymentFailed(f"rollback {final.deployment_id} {final.status}: {final.error or 'no reason given'}")
    status = confirm(aws, svc, reporter, expected)
    return Outcome(
        stopped_id or final.deployment_id,
        "RolledBack",
        final.deployment_id,
        status.task_definition,
        status.image,
        status.production,
    )


def approve(
    aws: Aws,
    svc: ServiceOutputs,
    reporter: Reporter,
    *,
    deployment_id: str | None = None,
    wait: bool = True,
    timeout_s: float | None = None,
    termination_wait: bool = False,
) -> Outcome:
    """Let a deployment waiting in Ready (ready option STOP_DEPLOYMENT) shift production traffic; with
    termination_wait, end a deployment's termination wait now (ContinueDeployment TERMINATION_WAIT:
    the original task set is terminated without waiting out terminationWaitTimeInMinutes)."""

    group = f"{svc.codedeploy_app_name}/{svc.codedeploy_deployment_group_name}"
    with refusals():
        record = _given(aws, deployment_id) if deployment_id else active_deployment(aws, svc)
        if record is None:
            waiting = "is in its termination wait" if termination_wait else "waits for approval"
            raise InputError(f"nothing {waiting}: no deployment is in progress in {group}")
        if termination_wait:
            _end_termination_wait(aws, record, error_code)
        else:
            if record.status != "Ready":
                raise InputError(
                    f"deployment {record.deployment_id} is {record.status}, not waiting for approval (Ready)",
                    hint="approve applies to groups whose ready option is STOP_DEPLOYMENT, once the replacement "
                    "is up; `approve --termination-wait` ends the wait after the traffic shift",
                )
            engine_for(svc).approve(aws, record.deployment_id)
    if termination_wait:
        reporter.emit(Message(f"ended the termination wait of {record.deployment_id}: the original tasks stop now"))
    else:
        reporter.emit(Message(f"approved {record.deployment_id}: production traffic shifts to the replacement"))
    if not wait:
        said = "TerminationWaitEnded" if termination_wait else "Approved"
        return Outcome(record.deployment_id, said, None, record.task_definition, None, {})
    final = follow(aws, svc, record.deployment_id, reporter, timeout_s=timeout_s)
    reporter.emit(
        DeploymentFinished(
            deployment_id=final.deployment_id,
            status=final.status,
            reason=final.error,
            rollback_deployment_id=final.rolled_back_by,
        )
    )
    if final.status != "Succeeded":
        raise DeploymentFailed(f"deployment {final.deployment_id} {final.status}: {final.error or 'no reason given'}")
    status = confirm(aws, svc, reporter, record.task_definition)
    return Outcome(final.deployment_id, final.status, None, status.task_definition, status.image, status.production)


def _end_termination_wait(aws: Aws, record: DeploymentRecord, error_code: Any) -> None:
    """ContinueDeployment(TERMINATION_WAIT), refused up front unless production traffic is all on the
    replacement (the wait follows the shift: API reference, ContinueDeployment; BlueInstanceTermination
    Option). CodeDeploy's own refusal (DeploymentIsNotInReadyStateException) reads the same way."""

    view = describe(aws, record.deployment_id)
    not_waiting = InputError(
        f"deployment {record.deployment_id} is {view.status}, not in its termination wait "
        "(production traffic has not all shifted to the replacement yet)",
        hint="`approve` (without --termination-wait) lets a Ready deployment shift traffic",
    )
    if view.status != "InProgress" or not view.lifecycle or not view.traffic_shifted:
        raise not_waiting
    try:
        aws.client("codedeploy").continue_deployment(
            deploymentId=record.deployment_id, deploymentWaitType="TERMINATION_WAIT"
        )
    except Exception as exc:
        if error_code(exc) == NOT_READY:
            raise not_waiting from None
        raise


def previous_success(
    history: list[DeploymentRecord], running: str | None
) -> tuple[DeploymentRecord | None, DeploymentRecord | None]:
    """(the success that put `running` in place, the newest earlier success with another task definition)."""
    successes = [r for r in history if r.status == "Succeeded" and r.task_definition]
    current = next((r for r in successes if r.task_definition == running), None)
    older = successes[successes.index(current) + 1 :] if current else successes
    target = next((r for r in older if r.task_definition != running), None)
    return current, target


@dataclass(frozen=True)
class RollbackRequest:
    """What `rollback` will do, decided by reads alone: stop `active`, or redeploy `task_definition`."""

    active: DeploymentRecord | None
    task_definition: str | None = None
    running: str | None = None
    appspec: dict[str, Any] | None = None
    description: str = ""
    image: str | None = None


def plan_rollback(aws: Aws, svc: ServiceOutputs, reporter: Reporter, *, to: str | None = None) -> RollbackRequest:
    """Decide the rollback without writing: bad input (nothing to roll back to) raises InputError here."""

    with refusals():
        active = active_deployment(aws, svc)
    if active is not None:
        if to:
            raise InputError(f"deployment {active.deployment_id} is {active.status}; --to applies after a deployment")
        return RollbackRequest(active)
    with refusals():
        now = read_status(aws, svc, with_deployments=False)
        running = now.task_definition
        history = load_history(aws, svc, limit=50, images=False)
        current, previous = previous_success(history, running)
        if to:
            target_td = _resolve_task_definition(aws, to)
            template = previous or current
        elif previous is not None and previous.task_definition:
            target_td = previous.task_definition
            template = previous
        else:
            # What ran before the first recorded deployment (the one Terraform or provisioning
            # created) is in no deployment: take the family's previous revision, unless a
            # deployment of it failed.
            bad = {r.task_definition for r in history if r.status != "Succeeded" and r.task_definition}
            found = _previous_revision(aws, running, bad)
            if found is None:
                raise InputError(
                    f"no earlier successful deployment with another task definition than {running} in "
                    f"{svc.codedeploy_app_name}/{svc.codedeploy_deployment_group_name}",
                    hint="name one with --to FAMILY:REVISION",
                )
            reporter.emit(Message(f"no earlier deployment in the history; the family's previous revision is {found}"))
            target_td, template = found, current
        if target_td == running:
            raise InputError(f"{target_td} already runs; nothing to roll back to")
        doc = _appspec_for(aws, template, svc, target_td)
        image = _image(aws, target_td, svc.container_name)
    git = (previous.git_sha if previous and previous.task_definition == target_td else None) or None
    description = DeploymentDescription(
        f"orchestrator rollback to {short_arn(target_td)}", git, image or None, short_arn(running, "?")
    ).text()
    return RollbackRequest(None, target_td, running, doc, description, image)


def start_rollback(
    aws: Aws,
    svc: ServiceOutputs,
    reporter: Reporter,
    request: RollbackRequest,
    *,
    timeout_s: float | None = None,
    wait: bool = False,
) -> Outcome:
    """The first write of a rollback: stop the active deployment (followed to its end only with `wait`)
    or create the redeployment, which is returned at once (status Created)."""

    if request.active is not None:
        dep = request.active.deployment_id
        return stop(aws, svc, reporter, rollback=True, deployment_id=dep, timeout_s=timeout_s, wait=wait)
    assert request.task_definition and request.appspec is not None
    reporter.emit(Message(f"redeploying {request.task_definition} (running now: {request.running}) through CodeDeploy"))
    with refusals():
        engine = engine_for(svc)
        text, sha = content(request.appspec)
        start = engine.start_request(svc, {"content": text, "sha256": sha}, request.description, None, release_token())
        dep_id = engine.start(aws, start)
    reporter.emit(
        DeploymentCreated(
            deployment_id=dep_id,
            application=svc.codedeploy_app_name,
            deployment_group=svc.codedeploy_deployment_group_name,
            console_url=engine.console_url(aws.region, dep_id),
        )
    )
    return Outcome(dep_id, "Created", None, request.task_definition, request.image, {})


def rollback(
    aws: Aws,
    svc: ServiceOutputs,
    reporter: Reporter,
    *,
    to: str | None = None,
    timeout_s: float | None = None,
    wait: bool = True,
) -> Outcome:
    """During a deployment: stop it with rollback. After one: redeploy the previous successful task
    definition through CodeDeploy. Either way confirm what runs afterwards."""
    request = plan_rollback(aws, svc, reporter, to=to)
    started = start_rollback(aws, svc, reporter, request, timeout_s=timeout_s, wait=wait)
    if request.active is not None or not wait:
        return started
    dep_id, target_td = str(started.deployment_id), str(request.task_definition)
    final = follow(aws, svc, dep_id, reporter, timeout_s=timeout_s)
    reporter.emit(
        DeploymentFinished(
            deployment_id=dep_id, status=final.status, reason=final.error, rollback_deployment_id=final.rolled_back_by
        )
    )
    if final.status != "Succeeded":
        raise DeploymentFailed(f"rollback deployment {dep_id} {final.status}: {final.error or 'no reason given'}")
    status = confirm(aws, svc, reporter, target_td)
    return Outcome(dep_id, final.status, None, status.task_definition, status.image, status.production)


def _previous_revision(aws: Aws, running: str | None, exclude: set[str]) -> str | None:
    """The highest ACTIVE revision of the running task definition's family below the running one."""
    if not running or ":" not in running.rsplit("/", 1)[-1]:
        return None
    family, revision = running.rsplit("/", 1)[-1].rsplit(":", 1)
    ecs = aws.client("ecs")
    arns: list[str] = []
    for page in ecs.get_paginator("list_task_definitions").paginate(familyPrefix=family, status="ACTIVE"):
        arns.extend(page.get("taskDefinitionArns") or [])
    older = []
    for arn in arns:
        fam, rev = arn.rsplit("/", 1)[-1].rsplit(":", 1)
        if fam == family and rev.isdigit() and int(rev) < int(revision) and arn not in exclude:
            older.append((int(rev), arn))
    return max(older)[1] if older else None


def _resolve_task_definition(aws: Aws, ref: str) -> str:

    try:
        td = aws.client("ecs").describe_task_definition(taskDefinition=ref)["taskDefinition"]
    except Exception as exc:
        if error_code(exc) in ("ClientException", "InvalidParameterException"):
            raise InputError(f"--to {ref}: no such task definition") from None
        raise
    return str(td["taskDefinitionArn"])


def _image(aws: Aws, task_definition: str, container: str) -> str | None:

    return TaskDefinitionImages(aws, container).image(task_definition)


def _appspec_for(
    aws: Aws, template: DeploymentRecord | None, svc: ServiceOutputs, task_definition: str
) -> dict[str, Any]:
    """The AppSpec of an earlier deployment with the task definition swapped; the minimal one from
    the outputs when no earlier AppSpec is at hand."""

    doc = deployment_appspec(aws, template.deployment_id) if template is not None else None
    if doc:
        for resource in doc.get("Resources") or []:
            for body in resource.values():
                if isinstance(body, dict) and isinstance(body.get("Properties"), dict):
                    body["Properties"]["TaskDefinition"] = task_definition
        return doc
    return {
        "version": 0.0,
        "Resources": [
            {
                "TargetService": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {
                        "TaskDefinition": task_definition,
                        "LoadBalancerInfo": {
                            "ContainerName": svc.container_name,
                            "ContainerPort": svc.container_port,
                        },
                    },
                }
            }
        ],
    }


def production_target(status: ServiceStatus) -> str | None:
    """The target group that receives all production traffic, if one does."""
    full = [name for name, weight in status.production.items() if weight >= 100.0]
    return full[0] if full else None


__all__ = [
    "Outcome",
    "approve",
    "confirm",
    "follow",
    "previous_success",
    "production_target",
    "rollback",
    "stop",
    "target_group_name",
]

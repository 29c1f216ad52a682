"""ECS's own deployments behind the engine seam (orchestrator/engines/base.py).

Normalised vocabulary (base.py): PENDING -> Created; IN_PROGRESS and the stop/rollback states in
progress -> InProgress (a rollback is part of the same service deployment, followed to its end);
SUCCESSFUL -> Succeeded; ROLLBACK_SUCCESSFUL / ROLLBACK_FAILED -> Failed; STOPPED -> Stopped. The
lifecycle events are ECS's lifecycle stages (botocore's ServiceDeploymentLifecycleStage); the traffic is
the new revision's production weight (green) and the rest (blue). `--wait-until traffic-shifted` is
reached at BAKE_TIME (production traffic all on the new revision, its hooks passed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from orchestrator import deployment
from orchestrator.engines.ecs import deployments as esd
from orchestrator.errors import InputError, TimedOut
from orchestrator.events import LifecycleStatus, Message, WaitStarted
from orchestrator.evidence import Evidence
from orchestrator.history import DeploymentRecord
from orchestrator.poller import SharedPoller

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.contract import ServiceOutputs
    from orchestrator.deployment import WaitModel, WatchResult
    from orchestrator.events import Reporter

STATUS = {
    "PENDING": "Created",
    "IN_PROGRESS": "InProgress",
    "STOP_REQUESTED": "InProgress",
    "ROLLBACK_REQUESTED": "InProgress",
    "ROLLBACK_IN_PROGRESS": "InProgress",
    "SUCCESSFUL": "Succeeded",
    "STOPPED": "Stopped",
    "ROLLBACK_SUCCESSFUL": "Failed",
    "ROLLBACK_FAILED": "Failed",
}
ACTIVE = ["PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"]
POLL_MIN_S, POLL_MAX_S = 0.5, 2.0


@dataclass(frozen=True)
class EcsDeploymentView(deployment.DeploymentView):
    """A DeploymentView of a service deployment (its `ecs` view beside the normalised fields)."""

    ecs: esd.View | None = field(default=None, repr=False)
    groups: tuple[str | None, str | None] = (None, None)

    @property
    def traffic_shifted(self) -> bool:
        return self.ecs is not None and esd.reached(self.ecs, "traffic-shifted") and self.ecs.status != "STOPPED"

    @property
    def rollback_deployment_id(self) -> str | None:
        return None  # ECS rolls back within the same service deployment

    @property
    def target_groups(self) -> tuple[str | None, str | None]:
        return self.groups

    def key(self) -> tuple[Any, ...]:
        hooks = tuple((h.hook_id, h.status) for h in self.ecs.hooks) if self.ecs else ()
        tasks = (self.ecs.running, self.ecs.requested) if self.ecs else ()
        return (*super().key(), self.ecs.status if self.ecs else None, hooks, tasks)


def stages(view: esd.View) -> tuple[LifecycleStatus, ...]:
    """ECS's stages as lifecycle events: passed ones Succeeded, the current InProgress, the rest Pending;
    a deployment that rolled back shows where it stood as Failed and a ROLLBACK step."""
    if view.strategy == "ROLLING":
        done = "Succeeded" if view.succeeded else ("Failed" if view.finished else "InProgress")
        return (LifecycleStatus("ROLLING_UPDATE", done if view.status != "PENDING" else "Pending"),)
    names = [s for s in esd.STAGES if s != "RECONCILE_SERVICE" or view.stage == s]
    rolling_back = view.status.startswith("ROLLBACK") or view.status in ("STOP_REQUESTED", "STOPPED")
    out: list[LifecycleStatus] = []
    current = names.index(view.stage) if view.stage in names and not rolling_back else -1
    for i, name in enumerate(names):
        if view.succeeded:
            status = "Succeeded"
        elif rolling_back:
            status = "Skipped"
        elif view.status == "PENDING" or i > current:
            status = "Pending"
        else:
            status = "Succeeded" if i < current else "InProgress"
        out.append(LifecycleStatus(name, status))
    if rolling_back:
        back = {"ROLLBACK_SUCCESSFUL": "Succeeded", "ROLLBACK_FAILED": "Failed", "STOPPED": "Skipped"}
        out.append(LifecycleStatus("ROLLBACK", back.get(view.status, "InProgress")))
    return tuple(out)


class EcsEngine:
    """Services with the ECS deployment controller: UpdateService(taskDefinition) starts a deployment."""

    name = "ecs"

    def __init__(self) -> None:
        self._groups: dict[str, tuple[str | None, str | None]] = {}  # deployment -> (original, new) TG names

    # ---- start -----------------------------------------------------------------------------------
    def start_request(
        self, service: ServiceOutputs, revision: Any, description: str, deployment_config: str | None, token: str
    ) -> dict[str, Any]:
        """UpdateService's parameters: the registered task definition (a plan placeholder until it is).
        UpdateService takes no description: the new task definition's ARN finds the deployment again."""
        if deployment_config:
            raise InputError(
                "--deployment-config names a CodeDeploy config; an ECS-engine service's strategy, bake time and "
                "steps are its deploymentConfiguration (Terraform: terraform/ecs-native)"
            )
        task_definition = getattr(revision, "task_definition", revision)
        return {"cluster": service.cluster_name, "service": service.service_name, "taskDefinition": task_definition}

    def start(self, aws: Aws, request: dict[str, Any]) -> str:
        """UpdateService once: if its answer is lost, the service already naming the new task definition
        means it was applied (its currentServiceDeployment is ours)."""
        ecs = aws.client("ecs")
        try:
            answer = ecs.update_service(**request)
        except Exception:
            found = ecs.describe_services(cluster=request["cluster"], services=[request["service"]])["services"]
            if found and found[0].get("taskDefinition") == request["taskDefinition"]:
                return str(found[0]["currentServiceDeployment"])
            raise
        return str(answer["service"]["currentServiceDeployment"])

    # ---- read --------------------------------------------------------------------------------------
    def describe(self, aws: Aws, deployment_id: str, target_id: str | None = None) -> EcsDeploymentView:
        ecs = aws.client("ecs")
        view = esd.read(ecs, deployment_id)
        if deployment_id not in self._groups:
            self._groups[deployment_id] = _group_names(aws, view)
        green = float(view.prod_weight) if view.prod_weight is not None else None
        return EcsDeploymentView(
            deployment_id=deployment_id,
            status=STATUS.get(view.status, view.status),
            lifecycle=stages(view),
            blue_weight=None if green is None else 100.0 - green,
            green_weight=green,
            info={"ecs": view.status, "lifecycleStage": view.stage},
            ecs=view,
            groups=self._groups[deployment_id],
        )

    def watch(
        self,
        aws: Aws,
        deployment_id: str,
        reporter: Reporter,
        *,
        until: str,
        timeout: float,
        target_id: str | None,
        waits: WaitModel | None,
    ) -> WatchResult:
        point = "complete" if until == "complete" else until
        if point not in esd.WAIT_POINTS:
            raise InputError(
                f"--wait-until {until!r}: an ECS-engine service waits until one of {', '.join(esd.WAIT_POINTS)}"
            )
        scale = _scale(aws)
        start = time.monotonic()
        deadline = start + timeout
        last: EcsDeploymentView | None = None
        polls = 0
        interval = POLL_MIN_S
        while True:
            polls += 1
            view = self.describe(aws, deployment_id)
            if last is None or view.key() != last.key():
                deployment.report_change(reporter, view, last, time.monotonic() - start, deployment.WaitModel())
                _report_hooks(reporter, view, last)
                wait = esd.current_wait(view.ecs, datetime.now(UTC), scale) if view.ecs else None
                if wait is not None:
                    kind = (
                        "ready_wait"
                        if "approval" in wait.label
                        else "traffic_step"
                        if "step" in wait.label
                        else "bake_time"
                    )
                    reporter.emit(
                        WaitStarted(deployment_id, kind, wait.label, wait.total_s or 0.0, wait.remaining_s or 0.0)
                    )
                last, interval = view, POLL_MIN_S
            else:
                interval = min(POLL_MAX_S, interval * 1.5)
            assert view.ecs is not None
            if view.ecs.finished:
                outcome = view.status
                break
            if point != "complete" and esd.reached(view.ecs, point):
                outcome = "traffic-shifted"
                break
            now = time.monotonic()
            if now >= deadline:
                raise TimedOut(
                    f"service deployment {deployment_id} still {view.ecs.status} at {view.ecs.stage} after "
                    f"{timeout:.0f}s; it keeps running",
                    hint="follow it with `orchestrator status --watch`, or stop it with `orchestrator stop`",
                )
            time.sleep(max(0.05, min(interval, deadline - now)))
        from orchestrator.deployment import WatchResult

        return WatchResult(view=view, outcome=outcome, elapsed_s=round(time.monotonic() - start, 3), polls=polls)

    def poller(self, aws: Aws) -> SharedPoller:
        """The shared poller, which reads service deployments through `poll_service_deployments`
        (registered by engines/select.py) beside CodeDeploy's batch: a release may mix engines."""
        return SharedPoller(aws)

    # ---- act ---------------------------------------------------------------------------------------
    def stop(self, aws: Aws, deployment_id: str, *, rollback: bool) -> str | None:
        kind = "ROLLBACK" if rollback else "ABORT"
        aws.client("ecs").stop_service_deployment(serviceDeploymentArn=deployment_id, stopType=kind)
        return f"StopServiceDeployment ({kind}) accepted"

    def approve(self, aws: Aws, deployment_id: str) -> None:
        view = esd.read(aws.client("ecs"), deployment_id)
        hook = view.awaiting
        if hook is None:
            raise InputError(
                f"service deployment {deployment_id} waits for no approval (no PAUSE hook awaiting action; "
                f"status {view.status}, stage {view.stage})"
            )
        aws.client("ecs").continue_service_deployment(
            serviceDeploymentArn=deployment_id, hookId=hook.hook_id, action="CONTINUE"
        )

    def rollback_of(self, aws: Aws, deployment_id: str, *, grace_s: float, wait_s: float) -> str | None:
        return None  # the rollback is the same service deployment (ROLLBACK_* statuses)

    def console_url(self, region: str, deployment_id: str) -> str:
        cluster, service = _names(deployment_id)
        return (
            f"https://{region}.console.aws.amazon.com/ecs/v2/clusters/{cluster}/services/{service}/deployments"
            f"?region={region}"
        )

    def failure_evidence(self, aws: Aws, view: deployment.DeploymentView, service: ServiceOutputs) -> Evidence:
        """ECS's own deployments keep no task sets: the rollback reason and the service's events say why
        (failure_clues); no separate evidence is read."""
        return Evidence()

    def failure_clues(
        self, aws: Aws, view: deployment.DeploymentView, service: ServiceOutputs, evidence: Evidence | None = None
    ) -> list[str]:
        """ECS's reason (rollback.reason: a hook, an alarm, the circuit breaker, a stop), then the ECS
        service's events and stopped tasks."""
        ecs_view = getattr(view, "ecs", None)
        clues = [esd.failure_reason(ecs_view)] if ecs_view is not None else []
        plain = deployment.DeploymentView(view.deployment_id, view.status)
        clues += deployment.failure_clues(aws, plain, service.cluster_name, service.service_name, evidence=Evidence())
        return [c for c in clues if not c.startswith("deployment ") or not c.endswith("with no error information")]

    # ---- history ---------------------------------------------------------------------------------
    def active(self, aws: Aws, service: ServiceOutputs) -> DeploymentRecord | None:
        found = aws.client("ecs").list_service_deployments(
            cluster=service.cluster_name, service=service.service_name, status=ACTIVE
        )
        briefs = found.get("serviceDeployments") or []
        return _record(aws, briefs[0]) if briefs else None

    def succeeded_since(self, aws: Aws, service: ServiceOutputs, since: datetime) -> list[DeploymentRecord]:
        """One filtered page (ListServiceDeployments' status and createdAt filters), whatever the history's
        length; the created time is checked again here, as a lagging or older endpoint may not filter."""
        found = aws.client("ecs").list_service_deployments(
            cluster=service.cluster_name,
            service=service.service_name,
            status=["SUCCESSFUL"],
            createdAt={"after": since},
            maxResults=100,
        )
        records = [_record(aws, brief) for brief in found.get("serviceDeployments") or []]
        return [r for r in records if r.status == "Succeeded" and (r.created is None or r.created >= since)]

    def history(self, aws: Aws, service: ServiceOutputs, *, limit: int) -> list[DeploymentRecord]:
        found = aws.client("ecs").list_service_deployments(
            cluster=service.cluster_name, service=service.service_name, maxResults=max(1, min(limit, 100))
        )
        return [_record(aws, brief) for brief in (found.get("serviceDeployments") or [])[:limit]]


def _names(deployment_arn: str) -> tuple[str, str]:
    """(cluster, service) of `arn:...:service-deployment/<cluster>/<service>/<id>`."""
    parts = deployment_arn.split(":", 5)[-1].split("/")
    return (parts[1], parts[2]) if len(parts) >= 4 else ("", "")


def _scale(aws: Aws) -> float:
    return float(getattr(aws, "time_scale", None) or 1.0)


def _group_names(aws: Aws, view: esd.View) -> tuple[str | None, str | None]:
    """(original, new) target-group names, from the revisions' resolved load balancers."""
    arns = [a for a in (view.source_revisions[:1] + ((view.target_revision,) if view.target_revision else ())) if a]
    if not arns:
        return None, None
    revisions = (
        aws.client("ecs").describe_service_revisions(serviceRevisionArns=list(arns)).get("serviceRevisions") or []
    )
    by_arn = {}
    for revision in revisions:
        lbs = (revision.get("resolvedConfiguration") or {}).get("loadBalancers") or []
        tg = lbs[0].get("targetGroupArn") if lbs else None
        by_arn[revision["serviceRevisionArn"]] = tg.split(":targetgroup/", 1)[-1].split("/")[0] if tg else None
    original = by_arn.get(view.source_revisions[0]) if view.source_revisions else None
    return original, by_arn.get(view.target_revision or "")


def _report_hooks(reporter: Reporter, view: EcsDeploymentView, last: EcsDeploymentView | None) -> None:
    """One line per hook state change (the stage's Lambda or PAUSE hooks); a rolling deployment's
    progress: the new revision's running tasks of those requested."""
    ecs, before = view.ecs, last.ecs if last else None
    if (
        ecs is not None
        and ecs.strategy == "ROLLING"
        and ecs.requested
        and (before is None or (before.running, before.requested) != (ecs.running, ecs.requested))
    ):
        reporter.emit(Message(f"{view.deployment_id}: {ecs.running}/{ecs.requested} tasks of the new revision running"))
    seen = {h.hook_id: h.status for h in (last.ecs.hooks if last and last.ecs else ())}
    for hook in view.ecs.hooks if view.ecs else ():
        if seen.get(hook.hook_id) != hook.status:
            what = "waits for `orchestrator approve`" if hook.status == "AWAITING_ACTION" else hook.status
            reporter.emit(Message(f"{view.deployment_id}: {view.ecs.stage if view.ecs else ''} {hook.label} {what}"))


def _record(aws: Aws, brief: dict[str, Any]) -> DeploymentRecord:
    return record(aws, str(brief["serviceDeploymentArn"]))


def record(aws: Aws, arn: str) -> DeploymentRecord:
    """A service deployment as the history's DeploymentRecord (status normalised, its task definition)."""
    view = esd.read(aws.client("ecs"), arn)
    revision = {}
    if view.target_revision:
        found = aws.client("ecs").describe_service_revisions(serviceRevisionArns=[view.target_revision])
        revision = (found.get("serviceRevisions") or [{}])[0]
    images = revision.get("containerImages") or []
    return DeploymentRecord(
        deployment_id=arn,
        status=STATUS.get(view.status, view.status),
        creator="user",
        config=view.strategy,
        task_definition=revision.get("taskDefinition"),
        image=images[0].get("image") if images else None,
        created=view.created_at,
        started=view.started_at,
        completed=view.finished_at,
        error="" if view.succeeded or not view.finished else esd.failure_reason(view),
        origin="user",
    )


ENGINE = EcsEngine()


def is_service_deployment(deployment_id: str) -> bool:
    return ":service-deployment/" in deployment_id


def poll_service_deployments(aws: Aws, items: list[Any], now: float) -> list[Any]:
    """One round over followed service deployments (poller.Followed items): report what changed, set each
    one's outcome when it ends (or reaches its --wait-until point, or times out); returns those that ended."""
    ended = []
    for item in items:
        view = ENGINE.describe(aws, item.deployment_id)
        if item.view is None or view.key() != item.view.key():
            deployment.report_change(item.reporter, view, item.view, now - item.started, deployment.WaitModel())
            _report_hooks(item.reporter, view, item.view)
            item.changed_at = now
        item.view = view
        item.due_at = now + POLL_MAX_S
        assert view.ecs is not None
        if view.ecs.finished:
            item.outcome = view.status
        elif item.until != "complete" and item.until in esd.WAIT_POINTS and esd.reached(view.ecs, item.until):
            item.outcome = "traffic-shifted"
        elif now - item.started >= item.timeout:
            item.outcome = "TimedOut"
        if item.outcome is not None:
            ended.append(item)
    return ended

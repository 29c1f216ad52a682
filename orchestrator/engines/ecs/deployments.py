"""ECS service deployments as the orchestrator reads them: one typed view of a DescribeServiceDeployments
answer, where it stands (stage, hooks, weights, the wait in progress), whether it reached a
`--wait-until` point, and why it failed, in one line. Pure functions over the API's answers (botocore's
ECS model); the calls themselves are `read()` and `previous_good_revision()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# botocore's ServiceDeploymentStatus.
SUCCEEDED = frozenset({"SUCCESSFUL"})
ROLLED_BACK = frozenset({"ROLLBACK_SUCCESSFUL"})
FAILED = frozenset({"STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"})
FINISHED = SUCCEEDED | FAILED
STOPPING = frozenset({"STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"})
# botocore's ServiceDeploymentLifecycleStage, in the order a blue/green deployment walks them.
STAGES = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
)
# --wait-until points: the option's spelling -> the stage from which the point counts as reached.
# `traffic-shifted` (the CodeDeploy engine's name) and `bake-time` both mean: production traffic is all
# on the new revision and its hooks passed; `complete` waits for the end.
WAIT_POINTS: dict[str, str | None] = {
    **{stage.lower().replace("_", "-"): stage for stage in STAGES},
    "traffic-shifted": "BAKE_TIME",
    "complete": None,
}
# The points `release --wait-until` takes for an ECS-engine service: the end, or a stage from which
# production traffic is all on the new revision (the release then ends `traffic-shifted`; an earlier
# stop belongs to a PAUSE hook and `approve`).
UNTIL_POINTS: tuple[str, ...] = (
    "complete",
    "traffic-shifted",
    "post-production-traffic-shift",
    "bake-time",
    "clean-up",
)


@dataclass(frozen=True)
class Hook:
    hook_id: str
    target_type: str  # AWS_LAMBDA | PAUSE
    target_arn: str | None
    status: str  # AWAITING_ACTION | IN_PROGRESS | SUCCEEDED | FAILED | TIMED_OUT
    expires_at: datetime | None
    timeout_action: str | None

    @property
    def label(self) -> str:
        if self.target_type == "PAUSE":
            return "PAUSE hook"
        name = (self.target_arn or "").rsplit(":function:", 1)[-1] or "?"
        return f"Lambda hook {name}"


@dataclass(frozen=True)
class View:
    arn: str
    status: str
    stage: str | None
    status_reason: str | None
    target_revision: str | None
    source_revisions: tuple[str, ...]
    strategy: str
    prod_weight: float | None  # of the new revision, percent
    test_weight: float | None
    running: int
    requested: int
    hooks: tuple[Hook, ...] = ()
    rollback_reason: str | None = None
    rollback_revision: str | None = None
    breaker: dict[str, Any] = field(default_factory=dict)
    alarms: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def succeeded(self) -> bool:
        return self.status in SUCCEEDED

    @property
    def awaiting(self) -> Hook | None:
        """The PAUSE hook waiting for ContinueServiceDeployment (`approve`), if any."""
        return next((h for h in self.hooks if h.status == "AWAITING_ACTION"), None)


def parse(raw: dict[str, Any]) -> View:
    """A view of one `ServiceDeployment`."""
    target = raw.get("targetServiceRevision") or {}
    rollback = raw.get("rollback") or {}
    config = raw.get("deploymentConfiguration") or {}
    hooks = tuple(
        Hook(
            hook_id=str(h.get("hookId", "")),
            target_type=str(h.get("targetType", "AWS_LAMBDA")),
            target_arn=h.get("targetArn"),
            status=str(h.get("status", "")),
            expires_at=h.get("expiresAt"),
            timeout_action=h.get("timeoutAction"),
        )
        for h in raw.get("lifecycleHookDetails") or []
    )
    return View(
        arn=str(raw["serviceDeploymentArn"]),
        status=str(raw.get("status", "")),
        stage=raw.get("lifecycleStage"),
        status_reason=raw.get("statusReason"),
        target_revision=target.get("arn"),
        source_revisions=tuple(str(s["arn"]) for s in raw.get("sourceServiceRevisions") or [] if s.get("arn")),
        strategy=str(config.get("strategy", "ROLLING")),
        prod_weight=target.get("requestedProductionTrafficWeight"),
        test_weight=target.get("requestedTestTrafficWeight"),
        running=int(target.get("runningTaskCount", 0)),
        requested=int(target.get("requestedTaskCount", 0)),
        hooks=hooks,
        rollback_reason=rollback.get("reason"),
        rollback_revision=rollback.get("serviceRevisionArn"),
        breaker=dict(raw.get("deploymentCircuitBreaker") or {}),
        alarms=dict(raw.get("alarms") or {}),
        config=dict(config),
        created_at=raw.get("createdAt"),
        started_at=raw.get("startedAt"),
        finished_at=raw.get("finishedAt"),
        updated_at=raw.get("updatedAt"),
    )


def reached(view: View, point: str) -> bool:
    """Whether the deployment reached a `--wait-until` point (a finished one always has)."""
    if point not in WAIT_POINTS:
        raise ValueError(f"unknown wait point {point!r}; points: {', '.join(WAIT_POINTS)}")
    stage = WAIT_POINTS[point]
    if view.finished or stage is None:
        return view.finished
    if view.status != "IN_PROGRESS" or view.stage not in STAGES:
        return False
    if STAGES.index(view.stage) < STAGES.index(stage):
        return False
    # A stage counts once its hooks have passed (none in progress or awaiting action).
    return view.stage != stage or not any(h.status in ("IN_PROGRESS", "AWAITING_ACTION") for h in view.hooks)


@dataclass(frozen=True)
class Wait:
    label: str
    total_s: float | None
    remaining_s: float | None


def current_wait(view: View, now: datetime, time_scale: float = 1.0) -> Wait | None:
    """The wait in progress with its time left, in wall seconds: a PAUSE hook (until it expires), the bake
    time, a linear or canary step's bake (configured minutes x `time_scale`: 1 on AWS, the sandbox's
    scale there). ECS reports no stage start time: the deployment's `updatedAt` (when it entered the
    stage, unless something changed since) stands in for it."""
    pause = view.awaiting
    if pause is not None:
        left = (pause.expires_at - now).total_seconds() if pause.expires_at else None
        return Wait(f"{view.stage} waits for approval (PAUSE hook)", None, max(left, 0.0) if left is not None else None)
    total: float | None = None
    label = ""
    if view.stage == "BAKE_TIME":
        total, label = float(view.config.get("bakeTimeInMinutes") or 0) * 60, "bake time"
    elif view.stage == "PRODUCTION_TRAFFIC_SHIFT" and view.strategy in ("LINEAR", "CANARY") and view.prod_weight:
        key = "linearConfiguration" if view.strategy == "LINEAR" else "canaryConfiguration"
        minutes = (view.config.get(key) or {}).get(
            "stepBakeTimeInMinutes" if view.strategy == "LINEAR" else "canaryBakeTimeInMinutes", 0
        )
        total, label = float(minutes or 0) * 60, f"{view.strategy.lower()} step at {view.prod_weight:g}%"
    if not total:
        return None
    total *= time_scale
    since = view.updated_at or view.started_at
    elapsed = (now - since).total_seconds() if since else 0.0
    return Wait(label, total, max(total - elapsed, 0.0))


def failure_reason(view: View) -> str:
    """Why it failed, in one line: the rollback's reason (a hook, an alarm, the circuit breaker, a stop),
    else the status reason; the triggered alarms and the breaker's count when they say more."""
    what = {"ROLLBACK_SUCCESSFUL": "rolled back", "ROLLBACK_FAILED": "rollback failed", "STOPPED": "stopped"}
    head = what.get(view.status, view.status.lower())
    reason = view.rollback_reason or view.status_reason or "no reason given"
    clues = [reason]
    fired = view.alarms.get("triggeredAlarmNames") or []
    if fired and not all(name in reason for name in fired):
        clues.append(f"alarms in ALARM: {', '.join(fired)}")
    if view.breaker.get("status") == "TRIGGERED" and "circuit breaker" not in reason:
        clues.append(
            f"circuit breaker: {view.breaker.get('failureCount')} of {view.breaker.get('threshold')} tasks failed"
        )
    return f"{head}: {'; '.join(clues)}"


def read(ecs: Any, arn: str) -> View:
    """DescribeServiceDeployments of one deployment."""
    found = ecs.describe_service_deployments(serviceDeploymentArns=[arn])
    deployments = found.get("serviceDeployments") or []
    if not deployments:
        raise LookupError(f"service deployment {arn} not found")
    return parse(deployments[0])


def previous_good_revision(ecs: Any, cluster: str, service: str, current_task_definition: str) -> dict[str, Any] | None:
    """The newest SUCCESSFUL deployment's target revision whose task definition is not the current one
    (what `rollback` deploys again): the `ServiceRevision` (taskDefinition, loadBalancers, ...), or None."""
    token: str | None = None
    while True:
        page = ecs.list_service_deployments(
            cluster=cluster, service=service, status=["SUCCESSFUL"], **({"nextToken": token} if token else {})
        )
        arns = [
            b["targetServiceRevisionArn"]
            for b in page.get("serviceDeployments") or []
            if b.get("targetServiceRevisionArn")
        ]
        for start in range(0, len(arns), 20):  # DescribeServiceRevisions takes at most 20
            found = ecs.describe_service_revisions(serviceRevisionArns=arns[start : start + 20])
            by_arn = {r["serviceRevisionArn"]: r for r in found.get("serviceRevisions") or []}
            for arn in arns[start : start + 20]:
                revision = by_arn.get(arn)
                if revision and revision.get("taskDefinition") != current_task_definition:
                    return dict(revision)
        token = page.get("nextToken")
        if not token:
            return None


BASE_BUDGET_S = 15 * 60.0
HOOK_BUDGET_S = 60 * 60.0


def default_timeout(config: dict[str, Any], until: str = "complete") -> float:
    """Seconds a release waits by default: start-up, an hour per lifecycle hook (a Lambda that answers
    IN_PROGRESS, a PAUSE waiting for `approve`), the linear/canary step bakes, and (for `complete`) the
    bake time and clean-up."""
    budget = BASE_BUDGET_S + HOOK_BUDGET_S * len(config.get("lifecycleHooks") or [])
    strategy = config.get("strategy", "ROLLING")
    if strategy == "LINEAR":
        linear = config.get("linearConfiguration") or {}
        step = float(linear.get("stepPercent", 10.0)) or 10.0
        budget += (-(-100 // step) - 1) * float(linear.get("stepBakeTimeInMinutes", 6)) * 60
    elif strategy == "CANARY":
        budget += float((config.get("canaryConfiguration") or {}).get("canaryBakeTimeInMinutes", 10)) * 60
    if until == "complete":
        budget += float(config.get("bakeTimeInMinutes") or 0) * 60
    return budget

"""CodeDeploy ECS blue/green deployments: create, describe, watch, explain a failure, verify what runs.

API for other commands (status, rollback, stop, approve, the release policies):

- `create_deployment_params(...)`: CreateDeployment's parameters (orchestrator.writes sends them once)
- `describe(aws, deployment_id, target_id=None) -> DeploymentView` one snapshot: status, lifecycle
  events, blue/green production weights, error and rollback information.
- `watch(aws, deployment_id, reporter, until="complete"|"traffic-shifted", timeout=..., target_id=...)
  -> WatchResult`: follows the deployment with adaptive polling and emits DeploymentProgress on every
  visible change. Raises TimedOut when the budget runs out (the deployment keeps running); a failed,
  stopped or rolled-back deployment is a result (`result.ok` False), not an exception.
- `failure_clues(aws, view, cluster, service) -> list[str]`: why it failed, most telling first.
- `verify_live(aws, cluster, service, task_definition_arn) -> LiveVerified`.
- `default_timeout(group, config, until, hooks) -> float`: the wait budget in seconds.
- `stop_deployment(aws, deployment_id, rollback=True)`, `continue_deployment(aws, deployment_id)`.

Polling: about once a second while anything moves; when nothing changes the interval grows (x1.5 up to
MAX_INTERVAL) — except that when a wait of known length is running (canary/linear interval, termination
wait), the watcher sleeps until shortly before it should end and then polls every second, so the end is
seen within a second or two. Throttling doubles the interval instead of failing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from orchestrator.aws import as_refusal, error_code, throttled
from orchestrator.description import with_token
from orchestrator.ecs_read import lifecycle_events, primary_task_set, serving_task_definition, target_group_name
from orchestrator.engines.codedeploy.vocabulary import NO_TARGET, NOT_STARTED, OK_OUTCOMES, TERMINAL, TRAFFIC_SHIFTED
from orchestrator.errors import AwsRefused, DeploymentFailed, TimedOut
from orchestrator.events import (
    DeploymentProgress,
    LifecycleChanged,
    LifecycleStatus,
    LiveVerified,
    Message,
    ReplacementHealth,
)
from orchestrator.waits import current_wait

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.events import Reporter
    from orchestrator.replacement import Probe, TargetHealth

# A failure's explanation lives in orchestrator/evidence.py; callers still find it here.
from orchestrator.evidence import alarm_names as alarm_names
from orchestrator.evidence import failure_clues as failure_clues
from orchestrator.evidence import failure_evidence as failure_evidence

UNTIL_CHOICES = ("complete", TRAFFIC_SHIFTED)
MIN_INTERVAL = 1.0
MAX_INTERVAL = 10.0
# A long wait of known length ends at a predicted time; wake this much before it.
WAKE_EARLY = 1.5
LONG_SLEEP = 30.0
# Task start-up, health checks and hooks: what a release takes besides the configured waits.
BASE_BUDGET_S = 15 * 60.0
INSTALL_LIMIT_S = 60 * 60.0  # CodeDeploy gives the replacement an hour to become healthy (its error says so)
HOOK_REPORT_S = 60 * 60.0  # a hook function has an hour to call PutLifecycleEventHookExecutionStatus


def console_url(region: str, deployment_id: str) -> str:
    return f"https://{region}.console.aws.amazon.com/codesuite/codedeploy/deployments/{deployment_id}?region={region}"


def create_deployment_params(
    application: str,
    group: str,
    appspec_content: Any,
    description: str,
    deployment_config: str | None,
    token: str,
) -> dict[str, Any]:
    """CreateDeployment's parameters. `appspec_content`: the revision's {content, sha256} (or the
    plan's placeholder for it); the description ends with the release token, cut to fit 512 characters."""
    kwargs: dict[str, Any] = {
        "applicationName": application,
        "deploymentGroupName": group,
        "revision": {"revisionType": "AppSpecContent", "appSpecContent": appspec_content},
        "description": with_token(description, token),
    }
    if deployment_config:
        kwargs["deploymentConfigName"] = deployment_config
    return kwargs


def stop_deployment(aws: Aws, deployment_id: str, rollback: bool = True) -> dict[str, Any]:
    return dict(aws.client("codedeploy").stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=rollback))


def continue_deployment(aws: Aws, deployment_id: str) -> None:
    aws.client("codedeploy").continue_deployment(deploymentId=deployment_id, deploymentWaitType="READY_WAIT")


@dataclass(frozen=True)
class DeploymentView:
    """One snapshot of a deployment and its ECS target."""

    deployment_id: str
    status: str
    lifecycle: tuple[LifecycleStatus, ...] = ()
    blue_weight: float | None = None
    green_weight: float | None = None
    info: dict[str, Any] = field(default_factory=dict, repr=False)  # get_deployment's deploymentInfo
    target: dict[str, Any] = field(default_factory=dict, repr=False)  # get_deployment_target's ecsTarget
    # While the replacement starts (replacement.Probe): its counts and the service's latest event; the
    # last target health read of it (kept to the end: a failure's evidence).
    replacement: ReplacementHealth | None = None
    service_event: str = ""
    health: TargetHealth | None = field(default=None, repr=False)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def traffic_shifted(self) -> bool:
        """Production traffic all on green and every lifecycle event (hooks included) done."""
        allow = next((e for e in self.lifecycle if e.name == "AllowTraffic"), None)
        if allow is None or allow.status != "Succeeded":
            return self.status == "Succeeded"
        return all(e.status in ("Succeeded", "Skipped") for e in self.lifecycle)

    @property
    def rollback_deployment_id(self) -> str | None:
        return (self.info.get("rollbackInfo") or {}).get("rollbackDeploymentId")

    @property
    def target_groups(self) -> tuple[str | None, str | None]:
        """(original, replacement) target-group names: the task sets labelled Blue and Green."""
        return target_group_names(self.target)

    def key(self) -> tuple[Any, ...]:
        """What counts as a visible change."""
        return (
            self.status,
            tuple((e.name, e.status) for e in self.lifecycle),
            self.blue_weight,
            self.green_weight,
            self.replacement,
            self.service_event,
        )

    def probed(self, probe: Probe | None) -> DeploymentView:
        """This view with what `probe` reads of the replacement now (while it starts)."""
        if probe is None:
            return self
        counts, event = probe.observe(self.status, self.lifecycle, self.target, self.info.get("createTime"))
        return replace(self, replacement=counts, service_event=event, health=probe.last_health)

    def elapsed_since_created(self, fallback: float) -> float:
        """Seconds since CodeDeploy created the deployment (`createTime`), else `fallback`."""
        created = self.info.get("createTime")
        if isinstance(created, datetime):
            return max(0.0, (datetime.now(UTC) - created).total_seconds())
        return fallback


def _lifecycle(target: dict[str, Any]) -> tuple[LifecycleStatus, ...]:

    return lifecycle_events(target)


def _weights(target: dict[str, Any]) -> tuple[float | None, float | None]:
    blue = green = None
    for ts in target.get("taskSetsInfo") or []:
        label = ts.get("taskSetLabel")
        if label == "Blue":
            blue = float(ts.get("trafficWeight", 0.0))
        elif label == "Green":
            green = float(ts.get("trafficWeight", 0.0))
    if green is not None and blue is None:
        blue = 100.0 - green
    elif blue is not None and green is not None and 0 < blue + green != 100:
        # The listener splits traffic in proportion to the weights. A removed task set reports 0 while
        # the other may keep its last weight (a stopped canary read Blue 90, Green 0): that is 100/0.
        blue, green = 100.0 * blue / (blue + green), 100.0 * green / (blue + green)
    return blue, green


def target_group_names(target: dict[str, Any]) -> tuple[str | None, str | None]:
    """(original, replacement) target-group names of an ECS target's task sets. CodeDeploy labels the
    original task set BLUE and the replacement GREEN (botocore ECSTaskSet.taskSetLabel); which target
    group each uses alternates between releases, so the UI names them, not the colours."""
    names: dict[str, str | None] = {}
    for ts in target.get("taskSetsInfo") or []:
        names[str(ts.get("taskSetLabel"))] = (ts.get("targetGroup") or {}).get("name")
    return names.get("Blue"), names.get("Green")


def _get_target(aws: Aws, deployment_id: str, target_id: str) -> dict[str, Any]:

    try:
        resp = aws.client("codedeploy").get_deployment_target(deploymentId=deployment_id, targetId=target_id)
    except Exception as exc:
        if error_code(exc) in NO_TARGET:
            return {}
        raise
    return dict((resp.get("deploymentTarget") or {}).get("ecsTarget") or {})


def describe(aws: Aws, deployment_id: str, target_id: str | None = None, with_target: bool = True) -> DeploymentView:
    """get_deployment, plus get_deployment_target (`cluster:service`) for the lifecycle and weights."""
    info = dict(aws.client("codedeploy").get_deployment(deploymentId=deployment_id)["deploymentInfo"])
    target: dict[str, Any] = {}
    status = str(info.get("status", "Unknown"))
    if with_target and status not in NOT_STARTED:
        if target_id is None:
            ids = aws.client("codedeploy").list_deployment_targets(deploymentId=deployment_id).get("targetIds") or []
            target_id = ids[0] if ids else None
        if target_id:
            target = _get_target(aws, deployment_id, target_id)
    blue, green = _weights(target)
    return DeploymentView(deployment_id, status, _lifecycle(target), blue, green, info, target)


@dataclass
class WatchResult:
    view: DeploymentView
    outcome: str  # Succeeded | traffic-shifted | Failed | Stopped
    elapsed_s: float
    polls: int
    phases: dict[str, float] = field(default_factory=dict)  # lifecycle event → seconds

    @property
    def ok(self) -> bool:
        return self.outcome in OK_OUTCOMES


@dataclass
class PollPolicy:
    """How long to sleep between polls."""

    min_interval: float = MIN_INTERVAL
    max_interval: float = MAX_INTERVAL
    growth: float = 1.5
    interval: float = MIN_INTERVAL

    def changed(self) -> None:
        self.interval = self.min_interval

    def quiet(self) -> None:
        self.interval = min(self.max_interval, self.interval * self.growth)

    def throttled(self) -> None:
        self.interval = min(max(self.max_interval, 30.0), self.interval * 2)

    def next_sleep(self, predicted_end: float | None, now: float) -> float:
        if predicted_end is None:
            return self.interval
        until = predicted_end - WAKE_EARLY - now
        if until <= 0:
            return self.min_interval
        # Sleep through a known wait, but not beyond its predicted end (nor long blind).
        return max(self.min_interval, min(until, LONG_SLEEP))


@dataclass
class WaitModel:
    """Known waits of the deployment in seconds (already scaled for the sandbox): to predict their ends."""

    traffic_interval_s: float | None = None  # canary / linear step interval
    termination_wait_s: float | None = None
    ready_wait_s: float | None = None  # ready option STOP_DEPLOYMENT: how long `approve` may take
    traffic_kind: str | None = None  # canary | linear
    # Install: how long CodeDeploy waits for the replacement task set to become healthy. Not a setting;
    # CodeDeploy's own ECS_UPDATE_ERROR says "This time out period is 60 minutes".
    install_s: float | None = None


def wait_model(group: dict[str, Any], config: dict[str, Any], time_scale: float | None = 1.0) -> WaitModel:
    """The deployment's known waits on the endpoint's clock (`time_scale`, decided where the target is
    resolved: 1.0 on AWS, the sandbox's scale). An endpoint whose clock is unknown (None) gets no known
    waits: plain adaptive polling, no predicted ends."""
    if time_scale is None:
        return WaitModel()
    routing = config.get("trafficRoutingConfig") or {}
    interval = None
    kind = None
    if routing.get("type") == "TimeBasedCanary":
        interval = float((routing.get("timeBasedCanary") or {}).get("canaryInterval", 0)) * 60
        kind = "canary"
    elif routing.get("type") == "TimeBasedLinear":
        interval = float((routing.get("timeBasedLinear") or {}).get("linearInterval", 0)) * 60
        kind = "linear"
    term = (
        (group.get("blueGreenDeploymentConfiguration") or {}).get("terminateBlueInstancesOnDeploymentSuccess")
    ) or {}
    termination = float(term.get("terminationWaitTimeInMinutes", 0)) * 60 if term.get("action") == "TERMINATE" else 0.0
    ready = (group.get("blueGreenDeploymentConfiguration") or {}).get("deploymentReadyOption") or {}
    ready_wait = (
        float(ready.get("waitTimeInMinutes", 0)) * 60 if ready.get("actionOnTimeout") == "STOP_DEPLOYMENT" else 0.0
    )
    return WaitModel(
        traffic_interval_s=interval * time_scale if interval else None,
        termination_wait_s=termination * time_scale if termination else None,
        ready_wait_s=ready_wait * time_scale if ready_wait else None,
        traffic_kind=kind,
        install_s=INSTALL_LIMIT_S * time_scale,
    )


def default_timeout(group: dict[str, Any], config: dict[str, Any], until: str = "complete", hooks: int = 0) -> float:
    """Seconds to wait: a base for start-up plus, per AppSpec hook, the hour CodeDeploy gives its function
    to report (user guide, AppSpec 'hooks' section for ECS), the ready wait, traffic shifting and (for
    until=complete) the termination wait, as configured. aws ecs deploy's fixed waiter ignores
    canary/linear time (aws/aws-cli#5963)."""
    bg = group.get("blueGreenDeploymentConfiguration") or {}
    ready = bg.get("deploymentReadyOption") or {}
    budget = BASE_BUDGET_S + hooks * HOOK_REPORT_S
    if ready.get("actionOnTimeout") == "STOP_DEPLOYMENT":
        budget += float(ready.get("waitTimeInMinutes", 0)) * 60
    routing = config.get("trafficRoutingConfig") or {}
    if routing.get("type") == "TimeBasedCanary":
        budget += float((routing.get("timeBasedCanary") or {}).get("canaryInterval", 0)) * 60
    elif routing.get("type") == "TimeBasedLinear":
        linear = routing.get("timeBasedLinear") or {}
        step = max(1, int(linear.get("linearPercentage", 100)))
        budget += (-(-100 // step) - 1) * float(linear.get("linearInterval", 0)) * 60
    if until == "complete":
        term = bg.get("terminateBlueInstancesOnDeploymentSuccess") or {}
        if term.get("action") == "TERMINATE":
            budget += float(term.get("terminationWaitTimeInMinutes", 0)) * 60
    return budget


def predict_end(view: DeploymentView, waits: WaitModel, changed_at: float) -> float | None:
    """When the current known wait should end (monotonic clock), or None when nothing is predictable."""
    allow = next((e for e in view.lifecycle if e.name == "AllowTraffic"), None)
    in_step = view.green_weight is not None and 0 < view.green_weight < 100
    if allow is not None and allow.status == "InProgress" and waits.traffic_interval_s and in_step:
        return changed_at + waits.traffic_interval_s
    if view.status == "InProgress" and view.lifecycle and view.traffic_shifted and waits.termination_wait_s:
        return changed_at + waits.termination_wait_s
    return None


def report_change(
    reporter: Reporter, view: DeploymentView, last: DeploymentView | None, elapsed_s: float, waits: WaitModel
) -> None:
    """A visible change: the lifecycle events that moved, the progress, and the wait it is now in."""

    dep = view.deployment_id
    previous = {e.name: e.status for e in (last.lifecycle if last else ())}
    for event in view.lifecycle:
        if event.status != previous.get(event.name, "Pending"):
            reporter.emit(LifecycleChanged(dep, event.name, event.status, event.duration_s))
    reporter.emit(
        DeploymentProgress(
            deployment_id=dep,
            status=view.status,
            lifecycle=view.lifecycle,
            blue_weight=view.blue_weight,
            green_weight=view.green_weight,
            elapsed_s=round(view.elapsed_since_created(elapsed_s), 3),
            original_target_group=view.target_groups[0],
            replacement_target_group=view.target_groups[1],
            replacement=view.replacement,
            service_event=view.service_event,
        )
    )
    # What it now waits for and the time left (orchestrator/waits.py), with every change.
    waiting = current_wait(view, waits, datetime.now(UTC), 0.0)
    if waiting is not None:
        reporter.emit(waiting)


def view_of(info: dict[str, Any], target: dict[str, Any]) -> DeploymentView:
    """A DeploymentView from a deploymentInfo and (maybe empty) ecsTarget."""
    blue, green = _weights(target)
    dep, status = str(info.get("deploymentId", "")), str(info.get("status", "Unknown"))
    return DeploymentView(dep, status, _lifecycle(target), blue, green, info, target)


def get_target(aws: Aws, deployment_id: str, target_id: str) -> dict[str, Any]:
    """The deployment's ECS target (lifecycle events, task sets); {} before it exists."""
    return _get_target(aws, deployment_id, target_id)


def watch(
    aws: Aws,
    deployment_id: str,
    reporter: Reporter,
    *,
    until: str = "complete",
    timeout: float,
    target_id: str | None = None,
    waits: WaitModel | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    started_at: float | None = None,
    probe: Probe | None = None,
) -> WatchResult:
    """Follow a deployment until it ends (or, with until="traffic-shifted", until production traffic is
    all on green); emit DeploymentProgress on every visible change. `probe` reads the replacement while
    it starts (default: one of its own)."""
    from orchestrator.replacement import Probe

    if until not in UNTIL_CHOICES:
        raise ValueError(f"until must be one of {UNTIL_CHOICES}")
    waits = waits or WaitModel()
    probe = probe or Probe(aws)
    start = started_at if started_at is not None else clock()
    deadline = clock() + timeout
    policy = PollPolicy()
    last_key: tuple[Any, ...] | None = None
    last_view: DeploymentView | None = None
    changed_at = clock()
    throttled_in_a_row = 0
    polls = 0
    view: DeploymentView | None = None
    while True:
        polls += 1
        # Once every lifecycle event is done only the status can still change: get_deployment alone.
        lifecycle_done = view is not None and view.lifecycle and view.traffic_shifted
        try:
            fresh = describe(aws, deployment_id, target_id, with_target=not lifecycle_done)
        except Exception as exc:
            if not throttled(exc):
                raise
            throttled_in_a_row += 1
            if throttled_in_a_row >= 6:
                raise as_refusal(exc) or AwsRefused(f"throttled: {exc}") from exc
            policy.throttled()
            reporter.emit(Message(f"throttled by CodeDeploy; polling every {policy.interval:.0f}s", level="warning"))
        else:
            throttled_in_a_row = 0
            if lifecycle_done and view is not None:
                fresh = DeploymentView(
                    fresh.deployment_id,
                    fresh.status,
                    view.lifecycle,
                    view.blue_weight,
                    view.green_weight,
                    fresh.info,
                    view.target,
                )
            view = fresh.probed(probe)
            now = clock()
            if view.key() != last_key:
                report_change(reporter, view, last_view, now - start, waits)
                last_key = view.key()
                last_view = view
                changed_at = now
                policy.changed()
            else:
                policy.quiet()
            if view.terminal:
                outcome = view.status
                break
            if until == "traffic-shifted" and view.traffic_shifted:
                outcome = "traffic-shifted"
                break
        now = clock()
        if now >= deadline:
            state = view.status if view else "unknown"
            raise TimedOut(
                f"deployment {deployment_id} still {state} after {timeout:.0f}s; it keeps running",
                hint="follow it with `orchestrator status --watch`, or stop it with `orchestrator stop`",
            )
        predicted = predict_end(view, waits, changed_at) if view else None
        sleep(max(0.05, min(policy.next_sleep(predicted, now), deadline - now)))
    phases = {e.name: e.duration_s for e in view.lifecycle if e.duration_s is not None}
    return WatchResult(view=view, outcome=outcome, elapsed_s=round(clock() - start, 3), polls=polls, phases=phases)


def verify_live(aws: Aws, cluster: str, service: str, task_definition_arn: str) -> LiveVerified:
    """Check that the service's primary task set runs the task definition; raise DeploymentFailed if not."""
    svc = (aws.client("ecs").describe_services(cluster=cluster, services=[service]).get("services") or [{}])[0]
    return live_of(svc, cluster, service, task_definition_arn)


# DescribeServices, services: "You may specify up to 10 services to describe."
DESCRIBE_SERVICES_MAX = 10


def describe_services_many(aws: Aws, services: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """(cluster, service) → its description, in as few DescribeServices calls as the API allows."""
    by_cluster: dict[str, list[str]] = {}
    for cluster, name in services:
        by_cluster.setdefault(cluster, []).append(name)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for cluster, names in by_cluster.items():
        for i in range(0, len(names), DESCRIBE_SERVICES_MAX):
            resp = aws.client("ecs").describe_services(cluster=cluster, services=names[i : i + DESCRIBE_SERVICES_MAX])
            for svc in resp.get("services") or []:
                found[(cluster, str(svc.get("serviceName")))] = dict(svc)
    return found


def live_of(svc: dict[str, Any], cluster: str, service: str, task_definition_arn: str) -> LiveVerified:
    """What a described service runs, checked against the task definition a release deployed."""

    primary = primary_task_set(svc)
    running_td = serving_task_definition(svc)
    if running_td != task_definition_arn:
        raise DeploymentFailed(
            f"deployment reported success, but {cluster}/{service} runs {running_td or 'nothing'}, "
            f"not {task_definition_arn}"
        )
    lbs = (primary or svc).get("loadBalancers") or []
    tg = target_group_name(str(lbs[0].get("targetGroupArn", ""))) if lbs else ""
    return LiveVerified(
        cluster=cluster,
        service=service,
        task_definition_arn=task_definition_arn,
        task_set_id=str((primary or {}).get("id", "")),
        running=int((primary or svc).get("runningCount", 0)),
        desired=int((primary or svc).get("computedDesiredCount", svc.get("desiredCount", 0)) or 0),
        target_group=tg,
    )

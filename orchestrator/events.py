"""Events the domain emits. Reporters render them; the domain never prints.

Each event has a stable `kind` (the `event` field of a JSON line) and a one-line `describe()` for
plain output. Add new events here so every renderer sees the same set.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Protocol

from orchestrator.arns import short_arn
from orchestrator.clock import clock_text, utc_now_iso


class Reporter(Protocol):
    """The one interface the domain emits through; orchestrator/report/ holds its renderers."""

    def emit(self, event: Event) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str] = "event"
    # The service key (the outputs' `services` map) when a command acts on several services at once;
    # set by `for_service` on the way to the reporter, None otherwise (and then absent from the JSON).
    # (Named service_key: some events' `service` is the ECS service's name.)
    service_key: str | None = field(default=None, kw_only=True)

    def fields(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("service_key", None)
        return data

    def to_dict(self) -> dict[str, Any]:
        tag = {"service_key": self.service_key} if self.service_key is not None else {}
        return {"event": self.kind, "time": utc_now_iso(), **tag, **self.fields()}

    def describe(self) -> str:
        return self.kind


class ServiceReporter:
    """A reporter seen through one service: every event it passes on carries that service's key, so a
    multi-service release's renderers can put it on the service's row (rich), prefix it (plain) or keep
    it as the `service_key` field (JSON lines). Closing it does not close the shared reporter."""

    def __init__(self, inner: Any, service_key: str) -> None:
        self.inner, self.service_key = inner, service_key

    def emit(self, event: Event) -> None:
        from dataclasses import replace

        tagged = event if event.service_key == self.service_key else replace(event, service_key=self.service_key)
        self.inner.emit(tagged)

    def close(self) -> None:
        pass


def for_service(reporter: Any, service_key: str) -> ServiceReporter:
    return ServiceReporter(reporter, service_key)


@dataclass(frozen=True)
class Message(Event):
    """Free text for people: progress notes, warnings."""

    kind: ClassVar[str] = "message"
    text: str
    level: str = "info"  # info | warning | error

    def describe(self) -> str:
        return self.text if self.level == "info" else f"{self.level}: {self.text}"


@dataclass(frozen=True)
class StepStarted(Event):
    kind: ClassVar[str] = "step_started"
    step: str
    detail: str = ""

    def describe(self) -> str:
        return f"{self.step}: {self.detail}" if self.detail else f"{self.step} ..."


@dataclass(frozen=True)
class StepFinished(Event):
    kind: ClassVar[str] = "step_finished"
    step: str
    detail: str = ""
    duration_s: float = 0.0

    def describe(self) -> str:
        tail = f" {self.detail}" if self.detail else ""
        return f"{self.step} done in {self.duration_s:.1f}s{tail}"


@dataclass(frozen=True)
class LifecycleStatus:
    name: str
    status: str  # Pending | InProgress | Succeeded | Failed | Skipped | Unknown
    start: str | None = None
    end: str | None = None
    duration_s: float | None = None


@dataclass(frozen=True)
class DeploymentCreated(Event):
    kind: ClassVar[str] = "deployment_created"
    deployment_id: str
    application: str
    deployment_group: str
    console_url: str = ""

    def describe(self) -> str:
        return f"deployment {self.deployment_id} created ({self.application}/{self.deployment_group})"


def traffic_text(original: float, replacement: float, original_tg: str | None, replacement_tg: str | None) -> str:
    """The traffic split in words: original/replacement (not blue/green) with the target groups' names."""
    before = " ".join(p for p in ("original", original_tg, f"{original:g}%") if p)
    after = " ".join(p for p in ("replacement", replacement_tg, f"{replacement:g}%") if p)
    return f"{before} → {after}"


@dataclass(frozen=True)
class ReplacementHealth:
    """The replacement task set while it starts (Install, the ready wait): its tasks and, when read, its
    targets in the replacement target group (DescribeTargetHealth)."""

    running: int
    desired: int
    healthy: int | None = None  # targets healthy; None: not read
    targets: int | None = None
    failing: str = ""  # the most common reason of the targets that are not healthy, with its description

    def text(self) -> str:
        """`2/2 running · 0/2 healthy (Target.ResponseCodeMismatch: Health checks failed ... [503])`."""
        parts = [f"{self.running}/{self.desired} running"]
        if self.healthy is not None and self.targets:  # no targets registered yet: nothing to count
            parts.append(f"{self.healthy}/{self.targets if self.targets is not None else self.desired} healthy")
        return " · ".join(parts) + (f" ({self.failing})" if self.failing else "")


@dataclass(frozen=True)
class DeploymentProgress(Event):
    """Emitted when anything visible changes: status, a lifecycle event, or the traffic split."""

    kind: ClassVar[str] = "deployment_progress"
    deployment_id: str
    status: str
    lifecycle: tuple[LifecycleStatus, ...] = ()
    # Production weights of the original (CodeDeploy's Blue) and replacement (Green) task sets.
    blue_weight: float | None = None
    green_weight: float | None = None
    elapsed_s: float = 0.0
    # Their target groups' names: they alternate between releases, so the UI says which is which.
    original_target_group: str | None = None
    replacement_target_group: str | None = None
    # While the replacement starts (Install, the ready wait): its counts, and the service's latest event.
    replacement: ReplacementHealth | None = None
    service_event: str = ""

    def describe(self) -> str:
        current = next((e for e in self.lifecycle if e.status == "InProgress"), None)
        parts = [f"{self.deployment_id} {self.status}"]
        if current:
            parts.append(f"{current.name} in progress")
        if self.replacement is not None:
            parts.append(f"replacement {self.replacement.text()}")
        if self.green_weight is not None:
            parts.append(f"traffic {self.traffic()}")
        parts.append(f"{self.elapsed_s:.0f}s")
        return " · ".join(parts)

    def traffic(self) -> str:
        """`original demo-web-green 0% → replacement demo-web-blue 100%`."""
        green = self.green_weight or 0.0
        blue = self.blue_weight if self.blue_weight is not None else 100.0 - green
        return traffic_text(blue, green, self.original_target_group, self.replacement_target_group)


@dataclass(frozen=True)
class DeploymentFinished(Event):
    kind: ClassVar[str] = "deployment_finished"
    deployment_id: str
    status: str
    reason: str = ""
    rollback_deployment_id: str | None = None
    # The command fails with this deployment: its short reason is on the `error:` line (stderr), so
    # the rich and plain reporters do not print `reason` (the full text, kept in the JSON) again.
    failed_command: bool = False

    def describe(self) -> str:
        text = f"deployment {self.deployment_id} {self.status}"
        if self.reason and not self.failed_command:
            text += f": {self.reason}"
        if self.rollback_deployment_id:
            text += f" (rollback {self.rollback_deployment_id})"
        return text


@dataclass(frozen=True)
class Summary(Event):
    """The last event of a command: the JSON-lines contract ends with `event: "summary"`."""

    kind: ClassVar[str] = "summary"
    command: str
    ok: bool
    exit_code: int
    result: dict[str, Any] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        return {"command": self.command, "ok": self.ok, "exit_code": self.exit_code, **self.result}

    def describe(self) -> str:
        # A command that did only part of the work says what it did (`message`), not "succeeded".
        if self.ok and self.result.get("message"):
            return f"{self.command}: {self.result['message']}"
        outcome = "succeeded" if self.ok else f"failed (exit {self.exit_code})"
        return f"{self.command} {outcome}"


# --- operations (status, history, doctor, release policies) ---


def _pct(weights: dict[str, float]) -> str:
    return ", ".join(f"{name} {w:g}%" for name, w in weights.items()) or "none"


@dataclass(frozen=True)
class StatusReport(Event):
    """`orchestrator status`: what runs now, where traffic goes, the deployment in flight, the last one."""

    kind: ClassVar[str] = "status"
    service: str
    cluster: str
    controller: str
    task_definition: str | None
    image: str | None
    running: int
    desired: int
    production: dict[str, float] = field(default_factory=dict)  # target group → percent
    test: dict[str, float] = field(default_factory=dict)
    task_sets: tuple[dict[str, Any], ...] = ()
    active_deployment: dict[str, Any] | None = None
    lifecycle: tuple[LifecycleStatus, ...] = ()
    last_deployment: dict[str, Any] | None = None
    rolled_back_deployment: dict[str, Any] | None = None  # when the last deployment is a rollback: of what

    def describe(self) -> str:
        lines = [
            f"{self.service} (cluster {self.cluster}, {self.controller} controller): "
            f"{self.running}/{self.desired} tasks running",
            f"  serving: {short_arn(self.task_definition)}  image {self.image or '-'}",
            f"  production traffic: {_pct(self.production)} · test traffic: {_pct(self.test)}",
        ]
        for ts in self.task_sets:
            lines.append(
                f"  task set {ts.get('id')} {ts.get('status')}: {short_arn(ts.get('task_definition'))} on "
                f"{ts.get('target_group') or '-'}, {ts.get('running')}/{ts.get('desired')} running, "
                f"production {ts.get('production_weight', 0):g}%"
            )
        if self.active_deployment:
            a = self.active_deployment
            steps = " ".join(f"{e.name}:{e.status}" for e in self.lifecycle) or "no lifecycle yet"
            lines.append(
                f"  active deployment {a.get('deployment_id')} {a.get('status')} → "
                f"{short_arn(a.get('task_definition'))}"
            )
            lines.append(f"    {steps}")
        else:
            lines.append("  no active deployment")
        if self.last_deployment:
            last = self.last_deployment
            took = f" in {last['duration_s']:g}s" if last.get("duration_s") is not None else ""
            error = f": {last['error']}" if last.get("error") else ""
            if last.get("rollback_of"):
                # Say what the rollback undid and why, not just "Succeeded".
                rolled = self.rolled_back_deployment or {}
                kind = {"autoRollback": "automatic rollback", "stopRollback": "rollback after a stop"}.get(
                    str(last.get("origin")), "rollback"
                )
                why = f"{rolled.get('status')}" if rolled.get("status") else ""
                why += f": {rolled['error']}" if rolled.get("error") else ""
                lines.append(
                    f"  last deployment {last.get('deployment_id')} {last.get('status')}{took}: {kind} of "
                    f"{last['rollback_of']}{f' ({why})' if why else ''}{error}"
                )
                if last.get("status") == "Succeeded":
                    lines.append(
                        f"    serving {short_arn(self.task_definition)} again: what ran before {last['rollback_of']}"
                    )
            else:
                lines.append(
                    f"  last deployment {last.get('deployment_id')} {last.get('status')}{took} "
                    f"({short_arn(last.get('task_definition'))}){error}"
                )
        return "\n".join(lines)


@dataclass(frozen=True)
class HistoryEntry(Event):
    """One deployment of the group in `orchestrator history`, newest first."""

    kind: ClassVar[str] = "history_entry"
    deployment_id: str
    status: str
    creator: str
    origin: str = ""  # user | autoRollback | alarmRollback | stopRollback | the creator as CodeDeploy gives it
    task_definition: str | None = None
    image: str | None = None
    git_sha: str | None = None
    config: str = ""
    created: str | None = None
    completed: str | None = None
    duration_s: float | None = None
    error: str = ""
    rollback_of: str | None = None
    rolled_back_by: str | None = None
    description: str = ""

    def describe(self) -> str:
        td = short_arn(self.task_definition, "?")
        parts = [
            self.deployment_id,
            f"{self.status:<10}",
            f"{self.origin or self.creator or '?':<12}",
            td,
            self.image or "-",
            f"git {self.git_sha[:12]}" if self.git_sha else "git -",
            (self.created or "-")[:19],
            f"{self.duration_s:g}s" if self.duration_s is not None else "-",
        ]
        if self.rollback_of:
            parts.append(f"rolls back {self.rollback_of}")
        if self.rolled_back_by:
            parts.append(f"rolled back by {self.rolled_back_by}")
        if self.error:
            parts.append(self.error)
        return "  ".join(parts)


@dataclass(frozen=True)
class DoctorCheck(Event):
    """One pre-flight check of `orchestrator doctor`: pass, fail or skipped (with the reason)."""

    kind: ClassVar[str] = "doctor_check"
    check: str
    status: str  # pass | fail | skipped
    detail: str = ""

    def describe(self) -> str:
        return f"{self.status.upper():<7} {self.check}" + (f": {self.detail}" if self.detail else "")


@dataclass(frozen=True)
class ActiveDeploymentFound(Event):
    """A release met a deployment already holding the group, and what the --if-active policy does."""

    kind: ClassVar[str] = "active_deployment"
    deployment_id: str
    status: str
    policy: str  # fail | wait | replace
    action: str  # fail | wait | replace | reattach
    detail: str = ""

    def describe(self) -> str:
        text = f"deployment {self.deployment_id} is {self.status}: {self.action} (--if-active {self.policy})"
        return f"{text}; {self.detail}" if self.detail else text


# --- release pipeline (render, release, deploy) ---


@dataclass(frozen=True)
class Validated(Event):
    """Every check before the first write passed: files, task definition, AppSpec, AWS wiring."""

    kind: ClassVar[str] = "validated"
    checks: tuple[str, ...] = ()
    deployment_config: str = ""
    timeout_s: float = 0.0

    def describe(self) -> str:
        return f"validated: {', '.join(self.checks)} (config {self.deployment_config}, budget {self.timeout_s:.0f}s)"


@dataclass(frozen=True)
class TaskDefinitionRegistered(Event):
    kind: ClassVar[str] = "task_definition_registered"
    task_definition_arn: str
    family: str
    revision: int
    image: str = ""

    def describe(self) -> str:
        return f"registered {self.family}:{self.revision}" + (f" (image {self.image})" if self.image else "")


@dataclass(frozen=True)
class LiveVerified(Event):
    """After the deployment: what the service's primary task set runs, and where production traffic goes."""

    kind: ClassVar[str] = "live_verified"
    cluster: str
    service: str
    task_definition_arn: str
    task_set_id: str = ""
    running: int = 0
    desired: int = 0
    target_group: str = ""

    def describe(self) -> str:
        where = f" behind {self.target_group}" if self.target_group else ""
        return (
            f"live: {self.cluster}/{self.service} primary task set {self.task_set_id or '?'} runs "
            f"{short_arn(self.task_definition_arn)} ({self.running}/{self.desired} running){where}"
        )


@dataclass(frozen=True)
class PlanRendered(Event):
    """`--dry-run`: the plan as data, with nothing executed."""

    kind: ClassVar[str] = "plan"
    taskdef_diff: str
    live_task_definition_arn: str | None
    appspec: dict[str, Any]
    calls: tuple[dict[str, Any], ...]

    def describe(self) -> str:
        import json as _json

        lines = [f"task definition (diff against {self.live_task_definition_arn or 'nothing live'}):"]
        lines += ["  " + line for line in (self.taskdef_diff or "(no change)").splitlines()]
        lines.append("appspec:")
        lines += ["  " + line for line in _json.dumps(self.appspec, indent=2).splitlines()]
        lines.append("calls it would make:")
        for i, call in enumerate(self.calls, 1):
            lines.append(f"  {i}. {call['call']}: {call.get('summary', '')}")
        lines.append("dry run: nothing was written")
        return "\n".join(lines)


@dataclass(frozen=True)
class BuildOutput(Event):
    """One line of the image builder's own output (docker, buildah or podman), during `step`."""

    kind: ClassVar[str] = "build_output"
    step: str
    line: str

    def describe(self) -> str:
        return f"  {self.line}"


@dataclass(frozen=True)
class ImagePushed(Event):
    """The image is in the registry: `image` is the immutable reference (repository@digest)."""

    kind: ClassVar[str] = "image_pushed"
    image: str
    repository: str
    digest: str
    tags: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"pushed {self.image} (tags {', '.join(self.tags)})"


@dataclass(frozen=True)
class LifecycleChanged(Event):
    """One lifecycle event of a deployment changed status (plain logs get one line per step)."""

    kind: ClassVar[str] = "lifecycle_event"
    deployment_id: str
    name: str
    status: str
    duration_s: float | None = None

    def describe(self) -> str:
        took = f" in {self.duration_s:.1f}s" if self.duration_s is not None and self.status != "InProgress" else ""
        return f"{self.deployment_id} {self.name} {self.status}{took}"


# --- one-off tasks (run, release --pre-task) ---


@dataclass(frozen=True)
class TaskStarted(Event):
    kind: ClassVar[str] = "task_started"
    task_arn: str
    task_definition_arn: str
    cluster: str
    command: tuple[str, ...] = ()

    def describe(self) -> str:
        return (
            f"task {short_arn(self.task_arn)} started in {self.cluster} "
            f"({short_arn(self.task_definition_arn)}): {' '.join(self.command)}"
        )


@dataclass(frozen=True)
class TaskProgress(Event):
    """The task's lastStatus changed (PROVISIONING, PENDING, RUNNING, ..., STOPPED)."""

    kind: ClassVar[str] = "task_progress"
    task_id: str
    status: str
    elapsed_s: float = 0.0

    def describe(self) -> str:
        return f"task {self.task_id} {self.status} · {self.elapsed_s:.0f}s"


@dataclass(frozen=True)
class TaskLogLine(Event):
    """One line of the task's container log (CloudWatch Logs, awslogs driver)."""

    kind: ClassVar[str] = "task_log"
    task_id: str
    line: str

    def describe(self) -> str:
        return f"  | {self.line}"


@dataclass(frozen=True)
class TaskStopped(Event):
    kind: ClassVar[str] = "task_stopped"
    task_id: str
    exit_code: int | None
    stop_code: str | None = None
    stopped_reason: str = ""
    duration_s: float = 0.0

    def describe(self) -> str:
        if self.exit_code is None:
            return f"task {self.task_id} stopped without running: {self.stopped_reason or self.stop_code}"
        return f"task {self.task_id} exited with code {self.exit_code} after {self.duration_s:.1f}s"


@dataclass(frozen=True)
class WaitStarted(Event):
    """The deployment entered a known wait (orchestrator/waits.py): what it waits for and the time left
    when this was emitted. kind: install | ready_wait | traffic_step | termination_wait."""

    kind: ClassVar[str] = "wait"
    deployment_id: str
    wait: str
    label: str
    total_s: float
    remaining_s: float

    def describe(self) -> str:
        left, total = clock_text(self.remaining_s), clock_text(self.total_s)
        return f"{self.deployment_id} waiting: {self.label}, {left} left of {total}"


# --- several services in one command (orchestrator/fleet.py) ---

# A service's state in a multi-service release, in the order a release goes through them.
SERVICE_STATES = (
    "queued",  # validated; waiting for its registration or for a slot (--max-parallel)
    "registering",
    "registered",
    "pre-task",
    "deploying",  # deployment created and followed
    "succeeded",
    "traffic-shifted",
    "failed",
    "stopped",
    "stopping",  # --atomic or --stop-on-cancel: StopDeployment sent, rollback following
    "rolling-back",  # --atomic: a finished deployment is being rolled back through CodeDeploy
    "rolled-back",
    "skipped",  # --atomic: another service failed before this one's deployment was created
    "not-followed",  # --no-wait
)


@dataclass(frozen=True)
class FleetStarted(Event):
    """A command that acts on several services begins: one row per service, in this order."""

    kind: ClassVar[str] = "fleet_started"
    command: str
    services: tuple[str, ...]
    max_parallel: int = 0  # 0: no limit
    atomic: bool = False

    def describe(self) -> str:
        limit = f", at most {self.max_parallel} at a time" if self.max_parallel else ""
        atomic = ", all or nothing (--atomic)" if self.atomic else ""
        return f"{self.command}: {len(self.services)} services ({', '.join(self.services)}){limit}{atomic}"


@dataclass(frozen=True)
class ServiceState(Event):
    """A service's row changes state (SERVICE_STATES); `detail` says why (a failure's one-line reason,
    the task definition it serves after a rollback). `service_key` is always set."""

    kind: ClassVar[str] = "service_state"
    state: str
    detail: str = ""
    deployment_id: str | None = None
    elapsed_s: float = 0.0

    def describe(self) -> str:
        dep = f" ({self.deployment_id})" if self.deployment_id else ""
        tail = f": {self.detail}" if self.detail else ""
        return f"{self.state}{dep}{tail}"

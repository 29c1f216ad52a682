"""One-off ECS tasks: run a command in the service's cluster and network, follow it to STOPPED, stream its logs.

Used by `orchestrator run` and by the release's pre-tasks (`release --pre-task`). The task runs where the
service's tasks run: its cluster, its awsvpc subnets/security groups/public IP setting, and its launch
type or capacity provider strategy (read from DescribeServices: the primary task set's for a CODE_DEPLOY
service, else the service's own). The command replaces the service container's `command`
(containerOverrides). Log lines come from the awslogs driver's stream
`<awslogs-stream-prefix>/<container>/<task id>` in `awslogs-group` ("Using the awslogs log driver",
Amazon ECS Developer Guide).

The domain emits events (TaskStarted, TaskProgress, TaskLogLine, TaskStopped) and never prints.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestrator.arns import short_arn
from orchestrator.aws import as_refusal, error_code, error_message, refusals
from orchestrator.errors import DeploymentFailed, InputError, Interrupted, TimedOut
from orchestrator.events import Message, TaskLogLine, TaskProgress, TaskStarted, TaskStopped
from orchestrator.interrupts import deferred_interrupts

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.events import Reporter

DEFAULT_POLL_S = 2.0  # DescribeTasks / GetLogEvents while following a task on AWS


def poll_interval(time_scale: float | None) -> float:
    """2 s on AWS; the sandbox's scaled clock is polled proportionally faster."""
    scale = time_scale or 1.0
    return DEFAULT_POLL_S if scale >= 1.0 else max(0.02, DEFAULT_POLL_S * scale)


LOG_TAIL = 50  # lines kept for the failure reason


@dataclass(frozen=True)
class RunSpec:
    """Where and how a one-off task runs: as the service runs its own tasks."""

    cluster: str
    service: str
    network_configuration: dict[str, Any] | None = None
    launch_type: str | None = None
    capacity_provider_strategy: tuple[dict[str, Any], ...] = ()
    platform_version: str | None = None
    live_task_definition: str | None = None  # the primary task set's (or the service's)

    def run_task_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"cluster": self.cluster}
        if self.network_configuration:
            params["networkConfiguration"] = self.network_configuration
        if self.capacity_provider_strategy:
            params["capacityProviderStrategy"] = [dict(s) for s in self.capacity_provider_strategy]
        elif self.launch_type:
            params["launchType"] = self.launch_type
        if self.platform_version and (self.launch_type == "FARGATE" or self.capacity_provider_strategy):
            params["platformVersion"] = self.platform_version
        return params


@dataclass(frozen=True)
class LogSource:
    group: str
    stream: str  # the full stream name of this task's container


@dataclass
class TaskOutcome:
    task_arn: str
    exit_code: int | None
    stop_code: str | None
    stopped_reason: str
    started: bool  # reached RUNNING
    log_tail: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_arn": self.task_arn,
            "task_exit_code": self.exit_code,
            "stop_code": self.stop_code,
            "stopped_reason": self.stopped_reason,
            "task_duration_s": self.duration_s,
        }


def service_run_spec(aws: Aws, cluster: str, service: str) -> RunSpec:
    """Read the service (DescribeServices) for the network and launch settings of a one-off task."""

    with refusals():
        resp = aws.client("ecs").describe_services(cluster=cluster, services=[service])
    found = [s for s in resp.get("services") or [] if s.get("status") != "INACTIVE"]
    if not found:
        raise InputError(
            f"ECS service {service} not found in cluster {cluster}",
            hint="check the outputs (--service, --terraform-dir) or run `orchestrator doctor`",
        )
    svc = found[0]
    # A CODE_DEPLOY service keeps its network and launch settings on its task sets; the primary one serves.
    sets = svc.get("taskSets") or []
    primary = next((t for t in sets if t.get("status") == "PRIMARY"), sets[0] if sets else {})
    src = {**svc, **{k: v for k, v in primary.items() if v not in (None, [], {})}}
    return RunSpec(
        cluster=cluster,
        service=service,
        network_configuration=src.get("networkConfiguration") or None,
        launch_type=src.get("launchType") or None,
        capacity_provider_strategy=tuple(src.get("capacityProviderStrategy") or ()),
        platform_version=src.get("platformVersion") or None,
        live_task_definition=primary.get("taskDefinition") or svc.get("taskDefinition"),
    )


def log_source(taskdef: dict[str, Any], container: str, task_id: str) -> LogSource | None:
    """The CloudWatch Logs stream of `container` in this task, from its awslogs logConfiguration."""
    for c in taskdef.get("containerDefinitions") or []:
        if c.get("name") != container:
            continue
        conf = c.get("logConfiguration") or {}
        options = conf.get("options") or {}
        if conf.get("logDriver") != "awslogs" or not options.get("awslogs-group"):
            return None
        prefix = options.get("awslogs-stream-prefix")
        stream = f"{prefix}/{container}/{task_id}" if prefix else task_id
        return LogSource(str(options["awslogs-group"]), stream)
    return None


def check_container(taskdef: dict[str, Any], container: str, where: str) -> None:
    names = [str(c.get("name")) for c in taskdef.get("containerDefinitions") or []]
    if container not in names:
        raise InputError(
            f"{where}: no container {container!r} (containers: {', '.join(names) or 'none'})",
            hint="the outputs' container_name names the service's container",
        )


class _LogFollower:
    """GetLogEvents from the head of the task's stream, page by page (nextForwardToken)."""

    def __init__(self, aws: Aws, source: LogSource | None) -> None:
        self.aws, self.source = aws, source
        self.token: str | None = None

    def fetch(self) -> list[str]:
        if self.source is None:
            return []
        logs = self.aws.client("logs")
        lines: list[str] = []
        for _ in range(100):  # pages; a stream that keeps growing is read on the next poll
            kwargs: dict[str, Any] = {
                "logGroupName": self.source.group,
                "logStreamName": self.source.stream,
                "startFromHead": True,
            }
            if self.token:
                kwargs["nextToken"] = self.token
            try:
                resp = logs.get_log_events(**kwargs)
            except Exception as exc:
                if error_code(exc) == "ResourceNotFoundException":  # the stream appears when the task runs
                    return lines
                refused = as_refusal(exc)
                if refused is not None:
                    raise refused from exc
                raise
            lines += [str(e.get("message", "")) for e in resp.get("events") or []]
            token = resp.get("nextForwardToken")
            # The same token again means the end of the stream (GetLogEvents API reference).
            if not token or token == self.token:
                break
            self.token = token
            if not resp.get("events"):
                break
        return lines


def _start(aws: Aws, cluster: str, params: dict[str, Any]) -> dict[str, Any]:
    """RunTask: the started task. DeploymentFailed when ECS refuses or starts nothing; on Ctrl-C the call
    completes first and whatever it started is stopped."""
    resp: dict[str, Any] = {}
    try:
        with refusals(), deferred_interrupts():  # the task must be known before an interrupt is handled
            try:
                resp = aws.client("ecs").run_task(**params)
            except Exception as exc:
                if not error_code(exc) or as_refusal(exc) is not None:
                    raise
                raise DeploymentFailed(f"ECS refused RunTask: {error_code(exc)}: {error_message(exc)}") from exc
    except KeyboardInterrupt:
        for started_task in resp.get("tasks") or []:
            _stop(aws, cluster, str(started_task["taskArn"]), "orchestrator: interrupted")
        raise Interrupted("interrupted while starting the task; it was stopped (StopTask)") from None
    failures = resp.get("failures") or []
    tasks = resp.get("tasks") or []
    if failures or not tasks:
        why = "; ".join(f"{f.get('arn', '')} {f.get('reason', '')} {f.get('detail', '')}".strip() for f in failures)
        raise DeploymentFailed(f"ECS did not start the task: {why or 'no task returned'}")
    return dict(tasks[0])


def _outcome(task: dict[str, Any], container: str, started: bool, tail: list[str], took: float) -> TaskOutcome:
    """How the stopped task ended: its container's exit code and the reasons ECS gives."""
    mine: dict[str, Any] = next((c for c in task.get("containers") or [] if c.get("name") == container), {})
    exit_code = mine.get("exitCode")
    reason = str(task.get("stoppedReason") or "")
    detail = str(mine.get("reason") or "")
    if detail and detail not in reason:
        reason = f"{reason} ({detail})" if reason else detail
    return TaskOutcome(
        task_arn=str(task["taskArn"]),
        exit_code=None if exit_code is None else int(exit_code),
        stop_code=task.get("stopCode"),
        stopped_reason=reason,
        started=started and exit_code is not None,
        log_tail=tail,
        duration_s=took,
    )


def run_task(
    aws: Aws,
    spec: RunSpec,
    task_definition_arn: str,
    taskdef: dict[str, Any],
    container: str,
    command: list[str],
    reporter: Reporter,
    *,
    timeout: float,
    poll_s: float = DEFAULT_POLL_S,
    started_by: str = "orchestrator-run",
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> TaskOutcome:
    """RunTask, then follow the task to STOPPED with progress and log lines.

    Returns the outcome whatever the exit code. Raises DeploymentFailed when ECS does not start the task
    (RunTask failures), TimedOut after `timeout` seconds and Interrupted on Ctrl-C/SIGTERM (the task is
    stopped with StopTask in both cases)."""

    ecs = aws.client("ecs")
    params = spec.run_task_params()
    params.update(
        taskDefinition=task_definition_arn,
        count=1,
        startedBy=started_by[:36],  # startedBy: up to 36 characters (RunTask API reference)
        overrides={"containerOverrides": [{"name": container, "command": list(command)}]},
    )
    task = _start(aws, spec.cluster, params)
    arn = str(task["taskArn"])
    task_id = short_arn(arn)
    t0 = clock()
    reporter.emit(TaskStarted(arn, task_definition_arn, spec.cluster, tuple(command)))
    follower = _LogFollower(aws, log_source(taskdef, container, task_id))
    tail: deque[str] = deque(maxlen=LOG_TAIL)
    last_status = ""
    started = False

    def drain() -> None:
        for line in follower.fetch():
            tail.append(line)
            reporter.emit(TaskLogLine(task_id, line))

    try:
        while True:
            with refusals():
                described = ecs.describe_tasks(cluster=spec.cluster, tasks=[arn]).get("tasks") or []
            if described:
                task = described[0]
            status = str(task.get("lastStatus", ""))
            started = (
                started
                or status in ("RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING")
                or bool(task.get("startedAt"))
            )
            if status != last_status:
                last_status = status
                reporter.emit(TaskProgress(task_id, status, round(clock() - t0, 1)))
            drain()
            if status == "STOPPED":
                break
            if clock() - t0 >= timeout:
                _stop(aws, spec.cluster, arn, f"orchestrator: timed out after {timeout:g}s")
                raise TimedOut(
                    f"task {task_id} did not stop within {timeout:g}s; stopped it (StopTask)",
                    hint="raise --timeout",
                )
            sleep(poll_s)
    except KeyboardInterrupt:
        _stop(aws, spec.cluster, arn, "orchestrator: interrupted")
        reporter.emit(Message(f"interrupted: task {task_id} stopped (StopTask)", level="warning"))
        raise Interrupted(f"interrupted; task {task_id} was stopped (StopTask)") from None
    drain()  # lines the driver flushed as the container exited
    if started:
        # CloudWatch Logs may show the last lines a moment after the task stops: look once more.
        with contextlib.suppress(KeyboardInterrupt):
            sleep(min(poll_s, 2.0))
            drain()
    outcome = _outcome(task, container, started, list(tail), round(clock() - t0, 3))
    reporter.emit(
        TaskStopped(task_id, outcome.exit_code, outcome.stop_code, outcome.stopped_reason, outcome.duration_s)
    )
    return outcome


def _stop(aws: Aws, cluster: str, arn: str, reason: str) -> None:
    """StopTask, best effort (the task may have stopped meanwhile); a second Ctrl-C does not skip it."""

    # Reporting the timeout/interrupt matters more than this call's own error.
    with deferred_interrupts(), contextlib.suppress(Exception):
        aws.client("ecs").stop_task(cluster=cluster, task=arn, reason=reason[:255])


def failure_reason(outcome: TaskOutcome, what: str = "", lines: int = 5) -> str:
    """One line for a failed task: ECS's reason if it never started, else the exit code and last log lines."""
    task_id = short_arn(outcome.task_arn)
    head = f"{what}: task {task_id}" if what else f"task {task_id}"
    if outcome.exit_code is None:
        return f"{head} did not start: {outcome.stopped_reason or outcome.stop_code or 'no reason given'}"
    text = f"{head} exited with code {outcome.exit_code}"
    tail = outcome.log_tail[-lines:]
    if tail:
        text += "; last log lines: " + " | ".join(tail)
    return text


def parse_commands(texts: list[str], option: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(text, argv) of each command string, split like a POSIX shell (shlex); no shell runs it."""
    import shlex

    out: list[tuple[str, tuple[str, ...]]] = []
    for text in texts:
        try:
            argv = shlex.split(text)
        except ValueError as exc:
            raise InputError(f"{option} {text!r}: {exc}", hint="quote it as you would in a shell") from None
        if not argv:
            raise InputError(f"{option}: empty command")
        out.append((text, tuple(argv)))
    return tuple(out)

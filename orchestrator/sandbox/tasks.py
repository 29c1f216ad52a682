"""One-off ECS tasks in the sandbox: RunTask for awsvpc tasks, their lifecycle on the scaled clock, their logs.

moto 5.2.5's RunTask cannot make an awsvpc task (its EC2 NetworkInterface has no `private_dns_name`
unless the VPC enables DNS hostnames) and its tasks start RUNNING and stop when described. Here a task
goes PROVISIONING -> PENDING -> RUNNING -> STOPPED ("Task lifecycle", Amazon ECS Developer Guide:
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle.html), each step a number of
simulated seconds (`TaskDurations`) times the engine's time scale, fixed when the task starts. The state
is computed from the clock whenever a call looks at tasks or their logs (DescribeTasks, ListTasks,
StopTask, GetLogEvents, FilterLogEvents, DescribeLogStreams), so progress never depends on how often a
client polls. On RUNNING the task writes its log lines to the awslogs group of its container's
logConfiguration, stream `<awslogs-stream-prefix>/<container>/<task id>` (awslogs driver docs:
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html).

How a task ends is set through the control endpoint (/_sandbox/tasks, `orchestrator sandbox fault
--task-...`), armed now and consumed by the next RunTask: the exit code, the log lines, how long it
runs, or a task that never starts. See docs/sandbox-control.md.
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrator.sandbox.clock import CLOCK, LOCK


class TaskDurations:
    """Simulated seconds per task step (times the engine's time scale)."""

    PROVISION = 5.0  # PROVISIONING -> PENDING: the awsvpc ENI is created and attached
    START = 10.0  # PENDING -> RUNNING: the image is pulled and the container started
    RUN = 5.0  # RUNNING -> STOPPED: the command runs (a fault may change it)
    STOP = 3.0  # StopTask: SIGTERM, the container exits (ECS waits up to 30 s before SIGKILL)


# stoppedReason texts. ECS's own words where documented ("Amazon ECS stopped task errors" and the
# CannotPullContainer troubleshooting page of the Developer Guide); the image/reference part varies.
ESSENTIAL_EXITED = "Essential container in task exited"  # stopCode EssentialContainerExited
STOPPED_BY_USER = "Task stopped by user"  # StopTask without a reason; the default text is not documented
CANNOT_PULL = (
    "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref {image}: not found"
)
NO_LOG_GROUP = (
    "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: "
    "failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist."
)
# Exit code of a container stopped by StopTask: SIGTERM (128 + 15) if it exits on the signal. ECS
# documents the signal, not the code.
SIGTERM_EXIT = 143


class TaskFaultError(ValueError):
    """A bad task fault setting (the control endpoint answers HTTP 400)."""


@dataclass
class TaskFaults:
    exit_code: int | None = None  # None: 0
    log: list[str] = field(default_factory=list)  # None/empty: one line echoing the command
    run_seconds: float | None = None  # simulated seconds RUNNING (TaskDurations.RUN)
    no_start: str | None = None  # stoppedReason of a task that never starts ("" -> CannotPullContainerError)


class TaskFaultState:
    """The task faults armed for the next RunTask (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults = TaskFaults()

    def get(self) -> dict[str, Any]:
        with self._lock:
            return asdict(self._faults)

    def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        unknown = set(changes) - set(TaskFaults.__dataclass_fields__)
        if unknown:
            raise TaskFaultError(f"unknown task fault setting(s): {', '.join(sorted(unknown))}")
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            if key == "exit_code":
                if value is not None and (
                    isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255
                ):
                    raise TaskFaultError("exit_code must be an integer between 0 and 255")
                clean[key] = value
            elif key == "log":
                if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
                    raise TaskFaultError("log must be a list of strings")
                clean[key] = list(value or [])
            elif key == "run_seconds":
                try:
                    seconds = None if value is None else float(value)
                except (TypeError, ValueError) as exc:
                    raise TaskFaultError("run_seconds must be a number") from exc
                if seconds is not None and not 0 <= seconds <= 86_400:
                    raise TaskFaultError("run_seconds must be between 0 and 86400")
                clean[key] = seconds
            elif key == "no_start":
                clean[key] = None if value is None or value is False else ("" if value is True else str(value))
        with self._lock:
            for key, value in clean.items():
                setattr(self._faults, key, value)
            return asdict(self._faults)

    def clear(self) -> dict[str, Any]:
        with self._lock:
            self._faults = TaskFaults()
            return asdict(self._faults)

    def take(self) -> TaskFaults:
        with self._lock:
            taken, self._faults = self._faults, TaskFaults()
            return taken


TASK_FAULTS = TaskFaultState()


def control(method: str, payload: dict[str, Any]) -> tuple[str, Any]:
    """/_sandbox/tasks: GET the armed task faults; POST sets some; DELETE clears them."""
    if method == "GET":
        return "200", TASK_FAULTS.get()
    if method in ("POST", "PUT"):
        return "200", TASK_FAULTS.update(payload)
    if method == "DELETE":
        return "200", TASK_FAULTS.clear()
    return "405", {"error": f"{method} not allowed on /_sandbox/tasks"}


# ---- the simulation ---------------------------------------------------------------------------------
@dataclass
class TaskSim:
    """When a simulated task reaches each status (time.monotonic() seconds) and how it ends."""

    pending_at: float
    running_at: float
    stopped_at: float
    exit_code: int
    lines: list[str]
    no_start: str | None
    log_target: tuple[str, str] | None  # (group, stream) of the awslogs driver, if any
    scale: float
    stop_reason: str | None = None  # StopTask's
    stop_code: str = "UserInitiated"  # StopTask's; the service scheduler's stops say ServiceSchedulerInitiated
    logged: bool = False
    # How the task ends on its own at stopped_at (a one-off task's command ends; a service task crashes or
    # is stopped by the scheduler), the lines its container writes just before, and the container's reason.
    end_code: str = "EssentialContainerExited"
    end_reason: str = ESSENTIAL_EXITED
    last_lines: list[str] = field(default_factory=list)
    container_reason: str = ""
    stopping_since: float | None = None  # when it began to stop (monotonic): its targets start draining


def _wall(mono: float) -> datetime:
    """The wall-clock time of a monotonic instant (timestamps say when a step was due, not when seen)."""
    return datetime.now(UTC) - timedelta(seconds=time.monotonic() - mono)


def _container_def(task_definition: Any, name: str | None) -> dict[str, Any]:
    defs = list(task_definition.container_definitions or [])
    return next((c for c in defs if c.get("name") == name), defs[0] if defs else {})


def _command_of(task: Any, container: dict[str, Any]) -> list[str]:
    for override in (task.overrides or {}).get("containerOverrides") or []:
        if override.get("name") == container.get("name") and override.get("command"):
            return [str(part) for part in override["command"]]
    return [str(part) for part in (container.get("command") or container.get("entryPoint") or [])]


def _log_target(container: dict[str, Any], task_id: str) -> tuple[str, str, bool] | None:
    conf = container.get("logConfiguration") or {}
    options = conf.get("options") or {}
    if conf.get("logDriver") != "awslogs" or not options.get("awslogs-group"):
        return None
    prefix = options.get("awslogs-stream-prefix")
    # awslogs-stream-prefix: stream prefix-name/container-name/ecs-task-id (Fargate requires a prefix).
    stream = f"{prefix}/{container.get('name')}/{task_id}" if prefix else task_id
    return str(options["awslogs-group"]), stream, str(options.get("awslogs-create-group", "")).lower() == "true"


def _logs_backend(account_id: str, region: str) -> Any:
    from moto.logs.models import logs_backends

    return logs_backends[account_id][region]


def simulate(backend: Any, task: Any, faults: TaskFaults, container_name: str | None = None) -> TaskSim:
    """Make a task moto just created follow the lifecycle below (`container_name`: the container that
    logs, else the one whose command was overridden, else the first). A `run_seconds` of math.inf runs
    until stopped (a service's task)."""
    now = time.monotonic()
    scale = CLOCK.time_scale
    task_definition = backend.describe_task_definition(task.task_definition_arn)
    overridden = [o.get("name") for o in (task.overrides or {}).get("containerOverrides") or [] if o.get("command")]
    # The container whose command was overridden is the one that runs it (and logs); else the first.
    container = _container_def(task_definition, container_name or (overridden[0] if overridden else None))
    target = _log_target(container, task.id)
    no_start = faults.no_start
    if no_start == "":
        no_start = CANNOT_PULL.format(image=container.get("image") or "?")
    log_target = None
    if target is not None:
        group, stream, create = target
        logs = _logs_backend(backend.account_id, backend.region_name)
        if group not in logs.groups and not create:
            no_start = no_start or NO_LOG_GROUP  # the awslogs driver cannot create its stream
        else:
            log_target = (group, stream)
    pending_at = now + TaskDurations.PROVISION * scale
    running_at = pending_at + TaskDurations.START * scale
    run = TaskDurations.RUN if faults.run_seconds is None else faults.run_seconds
    lines = faults.log or [" ".join(_command_of(task, container)) or "(no command)"]
    task._sim = sim = TaskSim(
        pending_at=pending_at,
        running_at=running_at,
        stopped_at=running_at + run * scale,
        exit_code=faults.exit_code or 0,
        lines=lines,
        no_start=no_start,
        log_target=log_target,
        scale=scale,
    )
    task._transitions = []  # moto's ManagedState must not move it (it would stop on the second describe)
    task.status = "PROVISIONING"
    task.desired_status = "RUNNING"
    task.created_at = _wall(now)
    task.connectivity = "CONNECTED" if task.attachments else None
    task.health_status = "UNKNOWN"
    for c in task.containers:
        c.last_status = "PENDING"
        c.exitCode = None
        c.health_status = "UNKNOWN"
    return sim


def advance(task: Any, now: float) -> None:
    """Bring a simulated task to where the clock says it is."""
    sim: TaskSim | None = getattr(task, "_sim", None)
    if sim is None or task.status == "STOPPED":
        return
    if task.status == "PROVISIONING" and now >= sim.pending_at:
        task.status = "PENDING"
        task.pull_started_at = _wall(sim.pending_at)
    if task.status == "PENDING" and now >= sim.running_at:
        task.pull_stopped_at = _wall(sim.running_at)
        if sim.no_start:
            _stop(
                task, sim.running_at, "TaskFailedToStart", sim.no_start, exit_code=None, container_reason=sim.no_start
            )
            return
        task.status = "RUNNING"
        task.started_at = _wall(sim.running_at)
        for c in task.containers:
            c.last_status = "RUNNING"
        _write_logs(task, sim)
    if task.status == "STOPPING" and sim.stop_reason is not None and now >= sim.stopped_at:
        _stop(task, sim.stopped_at, sim.stop_code, sim.stop_reason, exit_code=SIGTERM_EXIT)
    elif task.status == "RUNNING" and now >= sim.stopped_at:
        sim.stopping_since = sim.stopped_at
        _append_logs(task, sim, sim.last_lines, sim.stopped_at)  # a crashing container's last words
        _stop(
            task,
            sim.stopped_at,
            sim.end_code,
            sim.end_reason,
            exit_code=sim.exit_code,
            container_reason=sim.container_reason,
        )


def _stop(task: Any, at: float, code: str, reason: str, *, exit_code: int | None, container_reason: str = "") -> None:
    task.status = "STOPPED"
    task.desired_status = "STOPPED"
    task.stop_code = code
    task.stopped_reason = reason
    task.stopping_at = getattr(task, "stopping_at", None) or _wall(at)
    task.execution_stopped_at = _wall(at)
    task.stopped_at = _wall(at)
    task.connectivity = None
    for c in task.containers:
        c.last_status = "STOPPED"
        c.exitCode = exit_code
        if container_reason:
            c.reason = container_reason


def _write_logs(task: Any, sim: TaskSim) -> None:
    if sim.logged or sim.log_target is None:
        return
    sim.logged = True
    _append_logs(task, sim, sim.lines, sim.running_at)


def _append_logs(task: Any, sim: TaskSim, lines: list[str], at: float) -> None:
    """Put `lines` in the task's awslogs stream, timestamped from the monotonic instant `at` on."""
    if sim.log_target is None or not lines:
        return
    group, stream = sim.log_target
    logs = _logs_backend(task._account_id, task.region_name)
    if group not in logs.groups:  # awslogs-create-group "true": the driver creates the group
        logs.create_log_group(group, {})
    logs.ensure_log_stream(group, stream)
    start_ms = int(_wall(at).timestamp() * 1000)
    events = [{"timestamp": start_ms + i, "message": line} for i, line in enumerate(lines)]
    logs.put_log_events(group, stream, events)


def request_stop(task: Any, reason: str | None, code: str = "UserInitiated") -> None:
    """StopTask on a simulated task (or the service scheduler's stop, `code` ServiceSchedulerInitiated):
    RUNNING goes STOPPING then STOPPED; earlier states stop at once."""
    sim: TaskSim = task._sim
    now = time.monotonic()
    advance(task, now)
    if task.status in ("STOPPED", "STOPPING"):
        return
    text = reason or STOPPED_BY_USER
    task.desired_status = "STOPPED"
    sim.stopping_since = now
    if task.status == "RUNNING":
        task.status = "STOPPING"
        task.stopping_at = _wall(now)
        sim.stop_reason = text
        sim.stop_code = code
        sim.stopped_at = now + TaskDurations.STOP * sim.scale
        for c in task.containers:
            c.last_status = "RUNNING"
        return
    _stop(task, now, code, text, exit_code=None)


def advance_all(backend: Any) -> None:
    now = time.monotonic()
    for cluster_tasks in backend.tasks.values():
        for task in cluster_tasks.values():
            advance(task, now)


# ---- the patches ------------------------------------------------------------------------------------
def _ecs_backend_of(account_id: str, region: str) -> Any:
    from moto.ecs.models import ecs_backends

    return ecs_backends[account_id][region]


def _run_task(original: Any) -> Any:
    @functools.wraps(original)
    def run_task(self: Any, *args: Any, **kwargs: Any) -> Any:
        import inspect

        bound = inspect.signature(original).bind(self, *args, **kwargs)
        bound.apply_defaults()
        params = dict(bound.arguments)
        params.pop("self")
        net = params.get("networking_configuration") or {}
        awsvpc = net.get("awsvpcConfiguration")
        if awsvpc is not None and "securityGroups" not in awsvpc:
            # RunTask: without security groups "the default security group for the VPC is used".
            params["networking_configuration"] = {**net, "awsvpcConfiguration": {**awsvpc, "securityGroups": []}}
        with LOCK:
            faults = TASK_FAULTS.take()
            tasks = original(self, **params)
            for task in tasks:
                name_eni(task)
                simulate(self, task, faults)
        return tasks

    return run_task


def name_eni(task: Any) -> None:
    # The ENI detail moto could not fill: AWS's private DNS names are ip-<a-b-c-d>.<region>.compute.internal.
    for attachment in task.attachments:
        details = attachment.get("details") or []
        ip = next((d["value"] for d in details if d.get("name") == "privateIPv4Address"), None)
        for detail in details:
            if detail.get("name") == "privateDnsName" and not detail.get("value") and ip:
                detail["value"] = f"ip-{ip.replace('.', '-')}.{task.region_name}.compute.internal"


def _advancing(original: Any, backend_of: Any) -> Any:
    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with LOCK:
            advance_all(backend_of(self))
            return original(self, *args, **kwargs)

    return wrapper


def _stop_task(original: Any) -> Any:
    @functools.wraps(original)
    def stop_task(self: Any, cluster_str: str, task_str: str, reason: str) -> Any:
        with LOCK:
            advance_all(self)
            cluster = self._get_cluster(cluster_str)
            task_id = task_str.split("/")[-1]
            for arn, task in (self.tasks.get(cluster.name) or {}).items():
                if arn.endswith(task_id) and getattr(task, "_sim", None) is not None:
                    request_stop(task, reason)
                    return task
            return original(self, cluster_str, task_str, reason)

    return stop_task


# moto internals this module wraps or reads; tests/sandbox/test_tasks.py checks them.
INTERNALS = (
    "moto.ecs.models.EC2ContainerServiceBackend.run_task",
    "moto.ecs.models.EC2ContainerServiceBackend.describe_tasks",
    "moto.ecs.models.EC2ContainerServiceBackend.list_tasks",
    "moto.ecs.models.EC2ContainerServiceBackend.stop_task",
    "moto.logs.models.LogsBackend.get_log_events",
    "moto.logs.models.LogsBackend.filter_log_events",
    "moto.logs.models.LogsBackend.describe_log_streams",
    "moto.logs.models.LogsBackend.ensure_log_stream",
    "moto.logs.models.LogsBackend.put_log_events",
    "moto.ec2.models.elastic_network_interfaces.NetworkInterface",
)

_installed = False


def install() -> None:
    """Apply the patches once per process (after moto_ext.install)."""
    global _installed
    if _installed:
        return
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface
    from moto.ecs.models import EC2ContainerServiceBackend as Ecs
    from moto.logs.models import LogsBackend as Logs

    # Set only when the VPC enables DNS hostnames; moto's Task reads it for every awsvpc task.
    NetworkInterface.private_dns_name = None  # type: ignore[assignment]
    Ecs.run_task = _run_task(Ecs.run_task)  # type: ignore[method-assign]
    Ecs.stop_task = _stop_task(Ecs.stop_task)  # type: ignore[method-assign]
    for name in ("describe_tasks", "list_tasks"):
        setattr(Ecs, name, _advancing(getattr(Ecs, name), lambda backend: backend))
    for name in ("get_log_events", "filter_log_events", "describe_log_streams"):
        setattr(Logs, name, _advancing(getattr(Logs, name), lambda b: _ecs_backend_of(b.account_id, b.region_name)))
    _installed = True

"""The tasks of ECS services in the sandbox: they run, register with their target group, log, and stop.

moto runs no task for a service or a task set. Here a service's tasks are moto `Task`s (group
`service:<name>`, startedBy the task set's id) following the same scaled-clock lifecycle as one-off
tasks (tasks.py: PROVISIONING -> PENDING -> RUNNING), but they keep running until the service scheduler
stops them (a task set drained or scaled in), their container crashes (a `Crash`), or they fail the
target group's health checks (a `Health` other than healthy). At RUNNING each task's container writes
its first line to its awslogs stream `<awslogs-stream-prefix>/<container>/<task id>` (the awslogs
driver's naming, Developer Guide "Using the awslogs log driver"); a crashing container writes its last
lines just before it stops.

Target health (ELBv2 DescribeTargetHealth) of a target group that service tasks register with is
computed from the same clock and the target group's own health-check settings: `initial`
(Elb.InitialHealthChecking) for `HealthyThresholdCount` x `HealthCheckIntervalSeconds` after RUNNING,
then `healthy`, or `unhealthy` with the fault's reason code once `UnhealthyThresholdCount` checks failed,
and `draining` (Target.DeregistrationInProgress) for the deregistration delay after the task begins to
stop. Reason codes: the ELBv2 API reference, TargetHealth. See docs/sandbox-control.md.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from orchestrator.sandbox.clock import LOCK
from orchestrator.sandbox.tasks import TaskFaults, name_eni, simulate

SCHEDULER = "ServiceSchedulerInitiated"  # stopCode of the tasks the service scheduler stops
# stoppedReason of a task ECS stops because it failed its target group's health checks (Developer
# Guide, "Amazon ECS stopped task errors"; the target group named by its ARN).
ELB_UNHEALTHY = "Task failed ELB health checks in (target-group {arn})"
# stoppedReason of a task stopped when its task set is scaled in or drained: not documented for task
# sets; ECS's rolling deployments say "Scaling activity initiated by (deployment ecs-svc/...)".
SCALED_IN = "Scaling activity initiated by (deployment {deployment})"
CRASH_AFTER = 5.0  # simulated seconds a crashing container runs before it exits (the sandbox's choice)

# Target health descriptions as ELB answers them (reason codes: ELBv2 API reference, TargetHealth).
HEALTH_REASONS = {
    "Target.ResponseCodeMismatch": "Health checks failed with these codes: [{code}]",
    "Target.Timeout": "Request timed out",
    "Target.FailedHealthChecks": "Health checks failed",
}
INITIAL = ("initial", "Elb.InitialHealthChecking", "Initial health checks in progress")
DRAINING = ("draining", "Target.DeregistrationInProgress", "Target deregistration is in progress")


@dataclass(frozen=True)
class Health:
    """How the target group's health checks see a service's tasks: healthy (reason None), or failing."""

    reason: str | None = None  # Target.ResponseCodeMismatch | Target.Timeout | Target.FailedHealthChecks
    code: int = 503  # the HTTP status a ResponseCodeMismatch check receives

    def describe(self) -> str:
        return HEALTH_REASONS.get(self.reason or "", "").format(code=self.code)


@dataclass(frozen=True)
class Crash:
    """A service task's essential container exits on its own, after writing `log`."""

    exit_code: int = 1
    log: tuple[str, ...] = ()
    reason: str = ""  # containers[].reason, when ECS gives one (e.g. OutOfMemoryError: ...)


@dataclass(frozen=True)
class Placement:
    """What a service's task runs and where: its task definition, network, task set and target group."""

    cluster: str
    service: str
    task_definition: str
    network_configuration: dict[str, Any] | None
    launch_type: str
    platform_version: str | None
    started_by: str  # the task set's id (ecs-svc/...), or the service deployment's
    target_group_arn: str | None = None
    container_name: str | None = None
    container_port: int | None = None


@dataclass
class ServiceTask:
    """A service task's link to its service, target group and health (kept on the moto Task)."""

    placement: Placement
    health: Health = field(default_factory=Health)


def placement_of(service: Any, task_set: Any) -> Placement:
    """Where the tasks of a service's task set run and register (its first load balancer)."""
    lbs = list(task_set.load_balancers or [])
    lb = lbs[0] if lbs else {}
    return Placement(
        cluster=service.cluster_name,
        service=service.name,
        task_definition=task_set.task_definition,
        network_configuration=task_set.network_configuration or service.network_configuration or None,
        launch_type=task_set.launch_type or service.launch_type or "FARGATE",
        platform_version=task_set.platform_version or service.platform_version,
        started_by=str(task_set.id),
        target_group_arn=lb.get("targetGroupArn"),
        container_name=lb.get("containerName"),
        container_port=int(lb["containerPort"]) if lb.get("containerPort") is not None else None,
    )


def placement_of_service(service: Any) -> Placement | None:
    """Where the tasks of a service on the ECS (rolling) controller run: its primary deployment's task
    definition and network, its first load balancer; None without a primary deployment."""
    primary = next((d for d in service.deployments or [] if d.get("status") == "PRIMARY"), None)
    if primary is None or not service.task_definition:
        return None
    lbs = list(service.load_balancers or [])
    lb = lbs[0] if lbs else {}
    return Placement(
        cluster=service.cluster_name,
        service=service.name,
        task_definition=primary.get("taskDefinition") or service.task_definition,
        network_configuration=service.network_configuration or None,
        launch_type=service.launch_type or "FARGATE",
        platform_version=service.platform_version,
        started_by=str(primary["id"]),
        target_group_arn=lb.get("targetGroupArn"),
        container_name=lb.get("containerName"),
        container_port=int(lb["containerPort"]) if lb.get("containerPort") is not None else None,
    )


def start_line(container: dict[str, Any]) -> str:
    """The line a service task's container writes when it starts (the sandbox's own wording)."""
    command = " ".join(str(part) for part in (container.get("command") or container.get("entryPoint") or []))
    image = container.get("image") or "?"
    return f"[sandbox] container {container.get('name')} started: image {image}" + (
        f", command {command}" if command else ""
    )


def _health_timing(elbv2: Any, arn: str | None) -> tuple[float, float, float, float]:
    """(interval, healthy threshold, unhealthy threshold, deregistration delay) of a target group, in
    simulated seconds; ELB's defaults when the group is not found."""
    group = elbv2.target_groups.get(arn) if arn else None
    if group is None:
        return 30.0, 5.0, 2.0, 300.0
    return _health_timing_of(group)


def _health_timing_of(group: Any) -> tuple[float, float, float, float]:
    interval = float(group.health_check_interval_seconds or 30)
    healthy = float(group.healthy_threshold_count or 5)
    unhealthy = float(group.unhealthy_threshold_count or 2)
    delay = float(dict(group.attributes).get("deregistration_delay.timeout_seconds", 300))
    return interval, healthy, unhealthy, delay


def launch(
    ecs: Any,
    placement: Placement,
    count: int,
    *,
    health: Health | None = None,
    crash: Crash | None = None,
) -> list[Any]:
    """Start `count` tasks of a service (under the engine's LOCK): they run until stopped, crash, or
    are stopped for failing health checks."""
    from moto.ecs.models import Task
    from moto.elbv2.models import elbv2_backends

    health = health or Health()
    cluster = ecs._get_cluster(placement.cluster)
    task_definition = ecs.describe_task_definition(placement.task_definition)
    network = placement.network_configuration
    awsvpc = (network or {}).get("awsvpcConfiguration")
    if awsvpc is not None and "securityGroups" not in awsvpc:  # the VPC's default group, as RunTask
        network = {**(network or {}), "awsvpcConfiguration": {**awsvpc, "securityGroups": []}}
    elbv2 = elbv2_backends[ecs.account_id][ecs.region_name]
    interval, _, unhealthy_checks, _ = _health_timing(elbv2, placement.target_group_arn)
    started = []
    for _ in range(max(count, 0)):
        task = Task(
            cluster,
            task_definition,
            None,
            None,
            ecs,
            group=f"service:{placement.service}",
            launch_type=placement.launch_type or "",
            started_by=placement.started_by,
            networking_configuration=network,
            platform_version=placement.platform_version,
        )
        name_eni(task)
        ecs.tasks.setdefault(cluster.name, {})[task.task_arn] = task
        container = _container(task_definition, placement.container_name)
        run = CRASH_AFTER if crash is not None else math.inf
        faults = TaskFaults(exit_code=crash.exit_code if crash else 0, log=[start_line(container)], run_seconds=run)
        sim = simulate(ecs, task, faults, container_name=container.get("name"))
        if crash is not None:
            sim.last_lines = list(crash.log)
            sim.container_reason = crash.reason
        elif health.reason is not None and placement.target_group_arn:
            # The target turns unhealthy after `UnhealthyThresholdCount` failed checks from RUNNING; ECS
            # stops the task one check interval later (the lag is the sandbox's choice).
            sim.stopped_at = sim.running_at + interval * (unhealthy_checks + 1) * sim.scale
            sim.end_code = SCHEDULER
            sim.end_reason = ELB_UNHEALTHY.format(arn=placement.target_group_arn)
            sim.exit_code = 143  # SIGTERM: ECS stops the container (the code is not documented)
        task._service_task = ServiceTask(placement, health)  # type: ignore[attr-defined]
        started.append(task)
    return started


def _container(task_definition: Any, name: str | None) -> dict[str, Any]:
    defs = list(task_definition.container_definitions or [])
    return dict(next((c for c in defs if c.get("name") == name), defs[0] if defs else {}))


def tasks_of(ecs: Any, cluster: str, started_by: str | None = None, service: str | None = None) -> list[Any]:
    """The service tasks of a cluster (of one task set or service when given), oldest first."""
    found = []
    for task in (ecs.tasks.get(cluster) or {}).values():
        link: ServiceTask | None = getattr(task, "_service_task", None)
        if link is None:
            continue
        if started_by is not None and link.placement.started_by != started_by:
            continue
        if service is not None and link.placement.service != service:
            continue
        found.append(task)
    return found


def stop(tasks: list[Any], reason: str) -> list[Any]:
    """The service scheduler stops these tasks (STOPPING, then STOPPED); returns those it stopped."""
    from orchestrator.sandbox.tasks import advance, request_stop

    now = time.monotonic()
    stopped = []
    for task in tasks:
        advance(task, now)
        if task.desired_status == "STOPPED" or task.status == "STOPPED":
            continue
        request_stop(task, reason, code=SCHEDULER)
        stopped.append(task)
    return stopped


def scale(ecs: Any, placement: Placement, count: int, reason: str, health: Health | None = None) -> None:
    """Bring a task set's (or service's) running tasks to `count`: start or stop the difference."""
    from orchestrator.sandbox.tasks import advance

    now = time.monotonic()
    live = []
    for task in tasks_of(ecs, placement.cluster, started_by=placement.started_by):
        advance(task, now)
        if task.desired_status != "STOPPED" and task.status != "STOPPED":
            live.append(task)
    if len(live) < count:
        launch(ecs, placement, count - len(live), health=health)
    elif len(live) > count:
        stop(live[count:], reason)


def target_health(ecs_backends: list[Any], target_group: Any) -> list[tuple[str, int, tuple[str, str, str] | None]]:
    """(ip, port, (state, reason, description) or None for healthy) of every service task registered
    with `target_group` now; tasks not RUNNING yet, and drained ones, are not registered."""
    from orchestrator.sandbox.tasks import advance

    now = time.monotonic()
    interval, healthy_checks, unhealthy_checks, delay = _health_timing_of(target_group)
    healthy_after, unhealthy_after = interval * healthy_checks, interval * unhealthy_checks
    out: list[tuple[str, int, tuple[str, str, str] | None]] = []
    for ecs in ecs_backends:
        for cluster_tasks in ecs.tasks.values():
            for task in cluster_tasks.values():
                link: ServiceTask | None = getattr(task, "_service_task", None)
                if link is None or link.placement.target_group_arn != target_group.arn:
                    continue
                advance(task, now)
                sim = task._sim
                ip = _ip(task)
                if ip is None or now < sim.running_at or getattr(task, "started_at", None) is None:
                    continue  # never reached RUNNING: never registered
                port = int(link.placement.container_port or target_group.port or 80)
                if sim.stopping_since is not None and now >= sim.stopping_since:
                    if now < sim.stopping_since + delay * sim.scale:
                        out.append((ip, port, DRAINING))
                    continue
                up = (now - sim.running_at) / sim.scale  # simulated seconds since it registered
                if link.health.reason is not None and up >= unhealthy_after:
                    out.append((ip, port, ("unhealthy", link.health.reason, link.health.describe())))
                elif up < (unhealthy_after if link.health.reason else healthy_after):
                    out.append((ip, port, INITIAL))
                else:
                    out.append((ip, port, None))
    return out


def _ip(task: Any) -> str | None:
    for attachment in task.attachments:
        for detail in attachment.get("details") or []:
            if detail.get("name") == "privateIPv4Address" and detail.get("value"):
                return str(detail["value"])
    return None


# ---- the patches ------------------------------------------------------------------------------------
def _list_tasks(original: Any) -> Any:
    """ListTasks with `serviceName`: only that service's tasks (moto ignores the filter)."""

    def list_tasks(self: Any, *args: Any, **kwargs: Any) -> Any:
        import inspect

        bound = inspect.signature(original).bind(self, *args, **kwargs)
        service = bound.arguments.get("service_name")
        tasks = original(self, *args, **kwargs)
        if not service:
            return tasks
        name = str(service).rsplit("/", 1)[-1]  # a service ARN names it last
        return [t for t in tasks if getattr(t, "group", None) == f"service:{name}"]

    return list_tasks


def _describe_target_health(original: Any) -> Any:
    """DescribeTargetHealth: service tasks' targets with their health on the clock (target_health)."""

    def describe_target_health(self: Any, target_group_arn: str, targets: list[dict[str, Any]]) -> Any:
        from moto.ecs.models import ecs_backends
        from moto.elbv2.models import FakeHealthStatus

        with LOCK:
            described = original(self, target_group_arn, targets)  # raises TargetGroupNotFound first
            group = self.target_groups[target_group_arn]
            ours = {
                ip: (port, state)
                for ip, port, state in target_health([ecs_backends[self.account_id][self.region_name]], group)
            }

            def status(ip: str) -> Any:
                port, state = ours[ip]
                if state is None:
                    return FakeHealthStatus(ip, str(port), group.health_check_port, "healthy")
                return FakeHealthStatus(ip, str(port), group.health_check_port, *state)

            if targets:
                asked = [t["Id"] for t in targets]
                return [status(i) if i in ours else d for i, d in zip(asked, described, strict=False)]
            return [d for d in described if d.instance_id not in ours] + [status(ip) for ip in ours]

    return describe_target_health


# moto internals this module wraps, builds or reads; tests/sandbox/test_service_tasks.py checks them.
INTERNALS = (
    "moto.ecs.models.Task",
    "moto.ecs.models.EC2ContainerServiceBackend.list_tasks",
    "moto.elbv2.models.ELBv2Backend.describe_target_health",
    "moto.elbv2.models.FakeHealthStatus",
    "moto.elbv2.models.FakeTargetGroup.health_check_interval_seconds",
)

_installed = False


def install() -> None:
    """Apply the patches once per process (after tasks.install, whose list_tasks this wraps)."""
    global _installed
    if _installed:
        return
    from moto.ecs.models import EC2ContainerServiceBackend as Ecs
    from moto.elbv2.models import ELBv2Backend

    Ecs.list_tasks = _list_tasks(Ecs.list_tasks)  # type: ignore[method-assign]
    ELBv2Backend.describe_target_health = _describe_target_health(ELBv2Backend.describe_target_health)  # type: ignore[method-assign]
    _installed = True

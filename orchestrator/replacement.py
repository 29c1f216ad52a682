"""The replacement task set of a blue/green deployment as AWS sees it (issue 19): its tasks' counts, their
target health on the replacement target group, the service's latest event; after a failure, its stopped
tasks (why ECS stopped them, how their containers exited, the last lines they logged).

Pure readings of AWS answers (`health_of`, `stopped_of`, ...) and the few reads that fetch them. Sources:
ELBv2 API reference, TargetHealth (states and reason codes; `Description` carries, for
Target.ResponseCodeMismatch, the codes received: "Health checks failed with these codes: [503]");
ECS API reference, Task (`stoppedReason`, `stopCode`, `containers[].exitCode`/`reason`) and ListTasks
(`startedBy`: a task set's tasks are started by its id); the ECS Developer Guide, "Using the awslogs log
driver" (stream `<awslogs-stream-prefix>/<container name>/<task id>`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from orchestrator.arns import short_arn

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.events import ReplacementHealth

_CODES = re.compile(r"codes: \[([^\]]*)\]")
LOG_LINES = 3  # last lines of a stopped container's log in the evidence


@dataclass(frozen=True)
class TargetHealth:
    """The replacement target group's view of its targets."""

    target_group: str
    path: str | None  # the health check's path (HTTP/HTTPS checks)
    total: int
    healthy: int
    # (state, reason code, description, how many targets) of every target that is not healthy
    failing: tuple[tuple[str, str, str, int], ...] = ()

    def unhealthy(self) -> list[tuple[str, str, int]]:
        """(reason code, description, count) of the targets in state `unhealthy`."""
        return [(r, d, n) for s, r, d, n in self.failing if s == "unhealthy"]


@dataclass(frozen=True)
class ContainerExit:
    name: str
    exit_code: int | None
    reason: str = ""


@dataclass(frozen=True)
class StoppedTask:
    task_id: str
    stopped_reason: str
    stop_code: str = ""
    containers: tuple[ContainerExit, ...] = ()
    log_tail: tuple[str, ...] = ()  # the last lines the first container that exited on its own logged

    def crashed(self) -> ContainerExit | None:
        """The first container that exited on its own with a non-zero code. Not a task that never ran (no
        exit code), nor one ECS stopped (stopCode ServiceSchedulerInitiated, e.g. for failing its health
        checks: its containers were killed, 137, as a consequence)."""
        if self.stop_code and self.stop_code != "EssentialContainerExited":
            return None
        return next((c for c in self.containers if c.exit_code not in (0, None)), None)


def replacement_task_set(ecs_target: dict[str, Any]) -> dict[str, Any] | None:
    """The task set CodeDeploy labels GREEN (the replacement) in GetDeploymentTarget's ecsTarget."""
    return next((ts for ts in ecs_target.get("taskSetsInfo") or [] if ts.get("taskSetLabel") == "Green"), None)


def task_set_id(task_set: dict[str, Any]) -> str:
    # ECSTaskSet's member is spelled `identifer` in the API (sic); `identifier` in case it is ever fixed.
    return str(task_set.get("identifer") or task_set.get("identifier") or "")


def health_of(descriptions: list[dict[str, Any]], target_group: str, path: str | None = None) -> TargetHealth:
    """A TargetHealth from DescribeTargetHealth's TargetHealthDescriptions."""
    states = [d.get("TargetHealth") or {} for d in descriptions]
    failing = Counter(
        (str(h.get("State", "")), str(h.get("Reason", "")), str(h.get("Description", "")))
        for h in states
        if h.get("State") != "healthy"
    )
    return TargetHealth(
        target_group,
        path,
        total=len(states),
        healthy=sum(1 for h in states if h.get("State") == "healthy"),
        failing=tuple((s, r, d, n) for (s, r, d, n) in ((*k, v) for k, v in failing.items())),
    )


# ECS's service event for a target that fails its health checks (Developer Guide, "Amazon ECS service
# event messages"): "... (port 8080) is unhealthy in (target-group ARN) due to (reason DESCRIPTION)."
_UNHEALTHY_EVENT = re.compile(r"is unhealthy in \(target-group (?P<tg>[^)]+)\) due to \(reason (?P<why>.*)\)\.?$")
# A target's health description -> its reason code (ELB User Guide, "Health checks for Application Load
# Balancer target groups", the reason codes' table); the longest prefix first.
DESCRIPTION_CODES = (
    ("Health checks failed with these codes", "Target.ResponseCodeMismatch"),
    ("Request timed out", "Target.Timeout"),
    ("Health checks failed", "Target.FailedHealthChecks"),
)


def unhealthy_event(events: list[dict[str, Any]], since: Any = None) -> tuple[str, str] | None:
    """(target group name, description) of the newest "is unhealthy in" service event since `since`."""
    for event in events:  # newest first
        created = event.get("createdAt")
        if isinstance(since, datetime) and isinstance(created, datetime) and created < since:
            return None
        found = _UNHEALTHY_EVENT.search(str(event.get("message") or ""))
        if found:
            tg = found["tg"]
            return (tg.split(":targetgroup/", 1)[1].split("/", 1)[0] if ":targetgroup/" in tg else tg), found["why"]
    return None


def reason_code(description: str) -> str:
    return next((code for prefix, code in DESCRIPTION_CODES if description.startswith(prefix)), "")


def codes_received(description: str) -> str:
    """`Health checks failed with these codes: [503]` -> `503`; "" when the description names none."""
    found = _CODES.search(description)
    return found.group(1).replace(" ", "") if found else ""


def stopped_of(task: dict[str, Any], log_tail: tuple[str, ...] = ()) -> StoppedTask:
    """A StoppedTask from one of DescribeTasks' tasks."""
    return StoppedTask(
        task_id=short_arn(task.get("taskArn"), ""),
        stopped_reason=str(task.get("stoppedReason") or ""),
        stop_code=str(task.get("stopCode") or ""),
        containers=tuple(
            ContainerExit(str(c.get("name", "")), c.get("exitCode"), str(c.get("reason") or ""))
            for c in task.get("containers") or []
        ),
        log_tail=log_tail,
    )


def latest_event(service: dict[str, Any], since: Any = None) -> str:
    """The service's newest event (DescribeServices lists them newest first), if not older than `since`."""
    events = service.get("events") or []
    if not events:
        return ""
    created = events[0].get("createdAt")
    if isinstance(since, datetime) and isinstance(created, datetime) and created < since:
        return ""
    return str(events[0].get("message") or "")


def awslogs_stream(task_definition: dict[str, Any], container: str, task_id: str) -> tuple[str, str] | None:
    """(log group, stream) of a container that logs with awslogs and a stream prefix, else None."""
    for c in task_definition.get("containerDefinitions") or []:
        if c.get("name") != container:
            continue
        log = c.get("logConfiguration") or {}
        options = log.get("options") or {}
        if log.get("logDriver") == "awslogs" and options.get("awslogs-group") and options.get("awslogs-stream-prefix"):
            return str(options["awslogs-group"]), f"{options['awslogs-stream-prefix']}/{container}/{task_id}"
    return None


# --- reads ---


class HealthReader:
    """Reads a target group's health by name; its ARN and health-check path are read once."""

    def __init__(self, aws: Aws) -> None:
        self.aws = aws
        self._groups: dict[str, tuple[str, str | None]] = {}

    def group(self, target_group: str) -> tuple[str, str | None] | None:
        """(ARN, health-check path) of a target group by name (DescribeTargetGroups, once)."""
        if target_group not in self._groups:
            found = self.aws.client("elbv2").describe_target_groups(Names=[target_group]).get("TargetGroups") or []
            if not found:
                return None
            self._groups[target_group] = (str(found[0]["TargetGroupArn"]), found[0].get("HealthCheckPath"))
        return self._groups[target_group]

    def read(self, target_group: str) -> TargetHealth | None:
        group = self.group(target_group)
        if group is None:
            return None
        elbv2 = self.aws.client("elbv2")
        descriptions = elbv2.describe_target_health(TargetGroupArn=group[0]).get("TargetHealthDescriptions") or []
        return health_of(descriptions, target_group, group[1])


def read_stopped(aws: Aws, cluster: str, started_by: str, limit: int = 3) -> list[StoppedTask]:
    """The stopped tasks a task set started (newest first as ECS lists them), with the last log lines
    of each crashed container that logs with awslogs."""
    ecs = aws.client("ecs")
    arns = ecs.list_tasks(cluster=cluster, startedBy=started_by, desiredStatus="STOPPED").get("taskArns") or []
    if not arns:
        return []
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns[:limit]).get("tasks") or []
    definitions: dict[str, dict[str, Any]] = {}
    out: list[StoppedTask] = []
    for task in tasks:
        stopped = stopped_of(task)
        crashed = stopped.crashed()
        arn = str(task.get("taskDefinitionArn") or "")
        if crashed is not None and arn:
            if arn not in definitions:
                definitions[arn] = ecs.describe_task_definition(taskDefinition=arn).get("taskDefinition") or {}
            stopped = stopped_of(task, _log_tail(aws, definitions[arn], crashed.name, stopped.task_id))
        out.append(stopped)
    return out


def _log_tail(aws: Aws, task_definition: dict[str, Any], container: str, task_id: str) -> tuple[str, ...]:
    where = awslogs_stream(task_definition, container, task_id)
    if where is None:
        return ()
    try:
        events = aws.client("logs").get_log_events(
            logGroupName=where[0], logStreamName=where[1], limit=LOG_LINES, startFromHead=False
        )
    except Exception:  # no stream (the container never logged), or no permission: the evidence goes without
        return ()
    return tuple(str(e.get("message", "")).rstrip() for e in events.get("events") or [] if e.get("message"))


def starting(status: str, lifecycle: tuple[Any, ...]) -> bool:
    """The replacement is starting: Install in progress, or the ready wait (status Ready)."""
    return status == "Ready" or any(e.name == "Install" and e.status == "InProgress" for e in lifecycle)


def failing_text(health: TargetHealth) -> str:
    """The most common state of the targets that are not healthy: `Target.ResponseCodeMismatch: Health
    checks failed with these codes: [503]` (unhealthy), `initial: Elb.InitialHealthChecking`."""
    if not health.failing:
        return ""
    state, reason, description, _ = max(health.failing, key=lambda f: (f[0] == "unhealthy", f[3]))
    if state == "unhealthy":
        return f"{reason}: {description}" if description else reason
    return f"{state}: {reason}" if reason else state


class Probe:
    """Reads the replacement of one followed deployment while it starts (issue 19): its task set's counts
    (GetDeploymentTarget's taskSetsInfo: no extra call), its targets' health (DescribeTargetHealth) and
    the service's latest event (DescribeServices), two calls per poll during Install and the ready wait
    only. Keeps the last target health it read: a failure's evidence (evidence.gather)."""

    def __init__(self, aws: Aws, reader: HealthReader | None = None) -> None:
        self.aws = aws
        self.reader = reader or HealthReader(aws)
        self.last_health: TargetHealth | None = None  # the last reading with unhealthy targets, else the last

    def observe(
        self, status: str, lifecycle: tuple[Any, ...], ecs_target: dict[str, Any], created: Any = None
    ) -> tuple[ReplacementHealth | None, str]:
        """(the replacement's counts, the service's latest event), or (None, "") when it is not starting."""
        from orchestrator.events import ReplacementHealth
        from orchestrator.reason import with_names

        green = replacement_task_set(ecs_target)
        if green is None or not starting(status, lifecycle):
            return None, ""
        counts = ReplacementHealth(int(green.get("runningCount") or 0), int(green.get("desiredCount") or 0))
        event = ""
        try:
            name = (green.get("targetGroup") or {}).get("name")
            health = self.reader.read(str(name)) if name else None
            if health is not None and (health.unhealthy() or not (self.last_health and self.last_health.unhealthy())):
                self.last_health = health
                counts = replace(counts, healthy=health.healthy, targets=health.total, failing=failing_text(health))
            cluster, _, service = str(ecs_target.get("targetId") or "").partition(":")
            if cluster and service:
                described = self.aws.client("ecs").describe_services(cluster=cluster, services=[service])
                event = with_names(latest_event((described.get("services") or [{}])[0], created))
        except Exception as exc:  # progress is extra: a refused read (permissions) leaves it out
            from orchestrator.aws import error_code

            if not error_code(exc):
                raise
        return counts, event

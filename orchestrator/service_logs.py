"""`orchestrator logs`: a service's awslogs lines across its tasks, interleaved by time.

Where a task's lines are: the awslogs log driver writes each container's output to the group of its
`awslogs-group` option, stream `<awslogs-stream-prefix>/<container name>/<task id>` ("Using the
awslogs log driver", Amazon ECS Developer Guide; Fargate requires the prefix). Lines are read with
FilterLogEvents (up to 100 stream names per call, CloudWatch Logs API reference), merged across groups
and ordered by timestamp. Following re-reads the service's tasks on every round, so a task that starts
later is followed too; events already shown are recognised by their eventId.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from orchestrator.aws import error_code
from orchestrator.day2_events import LogLine
from orchestrator.errors import InputError
from orchestrator.events import Event
from orchestrator.service_tasks import revisions, service_tasks
from orchestrator.status import describe_service

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.contract import ServiceOutputs
    from orchestrator.day2_events import EventSink

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str, flag: str = "--since") -> float:
    """`90s`, `10m`, `2h`, `1d`, `1w` -> seconds."""
    m = _DURATION.match(text.strip())
    if not m:
        raise InputError(f"{flag} {text!r}: expected a number and a unit: 30s, 10m, 2h, 1d or 1w")
    return float(m.group(1)) * _UNIT[m.group(2)]


@dataclass(frozen=True)
class Stream:
    group: str
    name: str
    task_id: str
    container: str


def streams_of(task: dict[str, Any], taskdefs: dict[str, dict[str, Any]]) -> list[Stream]:
    """The awslogs streams of one task's containers (those without awslogs have none)."""
    task_id = str(task.get("taskArn", "")).rsplit("/", 1)[-1]
    td = taskdefs.get(str(task.get("taskDefinitionArn"))) or {}
    out = []
    for c in td.get("containerDefinitions") or []:
        log = c.get("logConfiguration") or {}
        options = log.get("options") or {}
        if log.get("logDriver") == "awslogs" and options.get("awslogs-group") and options.get("awslogs-stream-prefix"):
            name = f"{options['awslogs-stream-prefix']}/{c.get('name')}/{task_id}"
            out.append(Stream(options["awslogs-group"], name, task_id, str(c.get("name"))))
    return out


def select_tasks(
    tasks: list[dict[str, Any]], service: dict[str, Any], revision: str | None, task: str | None
) -> list[dict[str, Any]]:
    """The tasks --revision (current, previous, an ARN or family:revision) and --task name."""

    if task:
        return [t for t in tasks if str(t.get("taskArn", "")).rsplit("/", 1)[-1] == task or t.get("taskArn") == task]
    if not revision:
        return tasks
    current, others = revisions(service)
    if revision == "current":
        wanted = current
    elif revision == "previous":
        wanted = others[0] if others else None
        if wanted is None:
            raise InputError("--revision previous: the service runs one revision only", hint="name one: --revision ARN")
    else:
        wanted = revision
    return [t for t in tasks if wanted and str(t.get("taskDefinitionArn", "")).endswith(wanted.rsplit("/", 1)[-1])]


class LogFollower:
    """Reads the service's lines round after round; emits each line once, in time order per round."""

    def __init__(
        self,
        aws: Aws,
        svc: ServiceOutputs,
        *,
        since_s: float,
        revision: str | None,
        task: str | None,
        key: str | None = None,
    ) -> None:
        self.aws, self.svc, self.key = aws, svc, key
        self.revision, self.task = revision, task
        self.start_ms = int((time.time() - since_s) * 1000)
        self.seen: set[str] = set()
        self.taskdefs: dict[str, dict[str, Any]] = {}
        self.lines = 0
        self.tasks: set[str] = set()

    def streams(self) -> list[Stream]:

        service = describe_service(self.aws, self.svc)
        tasks = select_tasks(
            service_tasks(self.aws, self.svc, ("RUNNING", "STOPPED")), service, self.revision, self.task
        )
        if self.task and not tasks and not self.tasks:
            raise InputError(f"--task {self.task}: no such task of service {self.svc.service_name}")
        ecs = self.aws.client("ecs")
        found: list[Stream] = []
        for t in tasks:
            arn = str(t.get("taskDefinitionArn"))
            if arn not in self.taskdefs:
                self.taskdefs[arn] = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
            found += streams_of(t, self.taskdefs)
            self.tasks.add(str(t.get("taskArn")))
        return found

    def read(self) -> list[tuple[int, Event]]:
        """One read of every stream since the last line read: (timestamp ms, LogLine) in time order."""

        by_group: dict[str, list[Stream]] = {}
        for s in self.streams():
            by_group.setdefault(s.group, []).append(s)
        logs = self.aws.client("logs")
        fresh: list[tuple[int, str, Stream, str]] = []
        for group, streams in by_group.items():
            index = {s.name: s for s in streams}
            names = list(index)
            for i in range(0, len(names), 100):
                kwargs: dict[str, Any] = {
                    "logGroupName": group,
                    "logStreamNames": names[i : i + 100],
                    "startTime": self.start_ms,
                }
                try:
                    for page in logs.get_paginator("filter_log_events").paginate(**kwargs):
                        for e in page.get("events") or []:
                            if e.get("eventId") in self.seen or e.get("logStreamName") not in index:
                                continue
                            self.seen.add(str(e.get("eventId")))
                            fresh.append(
                                (
                                    int(e["timestamp"]),
                                    str(e["eventId"]),
                                    index[e["logStreamName"]],
                                    e.get("message", ""),
                                )
                            )
                except Exception as exc:  # streams that do not exist yet (a task still starting)
                    if error_code(exc) != "ResourceNotFoundException":
                        raise
        fresh.sort(key=lambda item: (item[0], item[1]))
        out: list[tuple[int, Event]] = []
        for ts, _, stream, message in fresh:
            stamp = datetime.fromtimestamp(ts / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            line = LogLine(stream.task_id, stream.container, stamp, message.rstrip("\n"))
            out.append((ts, line if self.key is None else replace(line, service_key=self.key)))
        if fresh:
            # Later rounds start at the newest line read (inclusive: same-millisecond lines; eventId dedupes).
            self.start_ms = max(self.start_ms, fresh[-1][0])
        self.lines += len(fresh)
        return out


def show_logs(
    followers: list[LogFollower],
    rep: EventSink,
    *,
    follow: bool = False,
    interval_s: float = 2.0,
    stop: Callable[[], bool] = lambda: False,
) -> dict[str, Any]:
    """Show the lines of one or several services, merged in time order per round; with `follow`, keep
    reading (new tasks included) until `stop()` or Ctrl-C."""

    def one_round() -> None:
        lines = [item for f in followers for item in f.read()]
        lines.sort(key=lambda item: item[0])
        for _, event in lines:
            rep.emit(event)

    one_round()
    while follow and not stop():
        time.sleep(interval_s)
        one_round()
    return {"lines": sum(f.lines for f in followers), "tasks": sum(len(f.tasks) for f in followers)}

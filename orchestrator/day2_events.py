"""Events of the day-2 commands (diff, tasks, scale, logs, adopt).

Kept beside orchestrator/events.py (which holds the release's events and is at its size limit); they
are Events like the others: a stable `kind`, a one-line (or, for a diff, multi-line) `describe()`, and
every renderer shows them (plain and rich through describe(), JSON lines through to_dict()).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

from orchestrator.events import Event


class EventSink(Protocol):
    """Where the day-2 domain sends its events: any reporter (the domain never imports the reporters)."""

    def emit(self, event: Event) -> None: ...


@dataclass(frozen=True)
class DriftFound(Event):
    """`orchestrator diff`: what a release would register against what runs (environment values masked)."""

    kind: ClassVar[str] = "diff"
    service: str
    live_task_definition_arn: str | None
    equal: bool
    taskdef_diff: str
    appspec_diff: str = ""
    deployment_config_diff: str = ""
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        head = f"{self.service}: " + (
            f"the release's task definition equals {self.live_task_definition_arn}"
            if self.equal
            else f"differs from {self.live_task_definition_arn}"
        )
        parts = [head, *(f"note: {n}" for n in self.notes)]
        parts += [d for d in (self.taskdef_diff, self.appspec_diff, self.deployment_config_diff) if d]
        return "\n".join(parts)


@dataclass(frozen=True)
class TaskSeen(Event):
    """`orchestrator tasks`: one task of the service."""

    kind: ClassVar[str] = "task"
    task_id: str
    revision: str  # family:revision of its task definition
    role: str  # current | previous | other (by the service's deployments / task sets)
    last_status: str
    desired_status: str
    health: str
    target_health: str  # healthy | unhealthy | draining | ... | "" (no load balancer)
    target_reason: str
    started: str | None
    stopped_reason: str = ""
    exit_code: int | None = None

    def describe(self) -> str:
        line = f"{self.task_id}  {self.revision} ({self.role})  {self.last_status}  health {self.health}"
        if self.target_health:
            line += f"  target {self.target_health}" + (f" ({self.target_reason})" if self.target_reason else "")
        if self.started:
            line += f"  started {self.started}"
        if self.stopped_reason:
            line += f"  stopped: {self.stopped_reason}"
        if self.exit_code is not None:
            line += f" (exit {self.exit_code})"
        return line


@dataclass(frozen=True)
class ScaleProgress(Event):
    """`orchestrator scale`: the service's counts while it moves to the desired count."""

    kind: ClassVar[str] = "scale_progress"
    service: str
    desired: int
    running: int
    pending: int

    def describe(self) -> str:
        return f"{self.service}: {self.running} running, {self.pending} pending of {self.desired}"


@dataclass(frozen=True)
class LogLine(Event):
    """`orchestrator logs`: one awslogs line of one of the service's tasks."""

    kind: ClassVar[str] = "log_line"
    task_id: str
    container: str
    timestamp: str
    message: str

    def describe(self) -> str:
        return f"{self.task_id[:8]} {self.container} | {self.message}"


@dataclass(frozen=True)
class FileWritten(Event):
    """`orchestrator adopt`: a file it wrote (or would write)."""

    kind: ClassVar[str] = "file_written"
    path: str
    what: str

    def describe(self) -> str:
        return f"wrote {self.path}: {self.what}"


@dataclass(frozen=True)
class ImportSkipped(Event):
    """`orchestrator adopt`: a resource left out of the import blocks, and why."""

    kind: ClassVar[str] = "import_skipped"
    resource: str
    reason: str

    def describe(self) -> str:
        return f"not imported: {self.resource}: {self.reason}"

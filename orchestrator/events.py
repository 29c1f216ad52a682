"""Events the domain emits. Reporters render them; the domain never prints.

Each event has a stable `kind` (the `event` field of a JSON line) and a one-line `describe()` for
plain output. Add new events here so every renderer sees the same set.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str] = "event"

    def fields(self) -> dict[str, Any]:
        return asdict(self)

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind, "time": utc_now_iso(), **self.fields()}

    def describe(self) -> str:
        return self.kind


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


@dataclass(frozen=True)
class DeploymentProgress(Event):
    """Emitted when anything visible changes: status, a lifecycle event, or the traffic split."""

    kind: ClassVar[str] = "deployment_progress"
    deployment_id: str
    status: str
    lifecycle: tuple[LifecycleStatus, ...] = ()
    blue_weight: float | None = None
    green_weight: float | None = None
    elapsed_s: float = 0.0

    def describe(self) -> str:
        current = next((e for e in self.lifecycle if e.status == "InProgress"), None)
        parts = [f"{self.deployment_id} {self.status}"]
        if current:
            parts.append(f"{current.name} in progress")
        if self.green_weight is not None:
            parts.append(f"traffic blue {self.blue_weight:g}% / green {self.green_weight:g}%")
        parts.append(f"{self.elapsed_s:.0f}s")
        return " · ".join(parts)


@dataclass(frozen=True)
class DeploymentFinished(Event):
    kind: ClassVar[str] = "deployment_finished"
    deployment_id: str
    status: str
    reason: str = ""
    rollback_deployment_id: str | None = None

    def describe(self) -> str:
        text = f"deployment {self.deployment_id} {self.status}"
        if self.reason:
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
        outcome = "succeeded" if self.ok else f"failed (exit {self.exit_code})"
        return f"{self.command} {outcome}"

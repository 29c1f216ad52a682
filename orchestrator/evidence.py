"""Evidence of a failed deployment, gathered once (issue 19): what AWS knows about the replacement when a
deployment fails, stops or rolls back, turned into the causes the one-line reason leads with.

- The replacement target group's health (orchestrator/replacement.py): the watcher's last reading while
  the replacement started, else one read now. Unhealthy targets give
  `replacement tasks fail health checks on /health: 503 (Target.ResponseCodeMismatch), 3 of 3 tasks`.
- The replacement task set's stopped tasks: a container that exited on its own gives
  `container web exited 1: <its last log line>`; a task that never ran gives its stoppedReason
  (`CannotPullContainerError: ...`).
The lifecycle event's diagnostics (the hook and its verdict), the alarms and CodeDeploy's error stay
clues of their own (deployment.failure_clues); `details.evidence` in the JSON summary has all of it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from orchestrator.replacement import (
    StoppedTask,
    TargetHealth,
    codes_received,
    read_stopped,
    replacement_task_set,
    task_set_id,
)

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.replacement import HealthReader

# A task ECS stopped for failing its target group's health checks (Developer Guide, "Amazon ECS stopped
# task errors"): the target health says more, so this stoppedReason is no cause of its own.
_ELB_STOPPED = "Task failed ELB health checks"


@dataclass(frozen=True)
class Evidence:
    health: TargetHealth | None = None
    stopped: tuple[StoppedTask, ...] = ()

    def causes(self) -> list[str]:
        """What went wrong, most telling first."""
        found = [c for c in (health_cause(self.health),) if c]
        found += task_causes(self.stopped, skip_health_stops=bool(found))
        return found

    def next_step(self) -> str:
        """What to do next, from the cause; "" when the evidence names none."""
        if any(t.crashed() for t in self.stopped):
            return "fix what makes the container exit (its log above), release again"
        if self.health is not None and self.health.unhealthy():
            return "fix the health check or the app, release again"
        if any(not t.crashed() and t.stopped_reason and _ELB_STOPPED not in t.stopped_reason for t in self.stopped):
            return "fix what keeps the tasks from starting (image, roles, resources), release again"
        return ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def health_cause(health: TargetHealth | None) -> str:
    """`replacement tasks fail health checks on /health: 503 (Target.ResponseCodeMismatch), 3 of 3 tasks`."""
    if health is None or not health.unhealthy():
        return ""
    reason, description, count = max(health.unhealthy(), key=lambda u: u[2])
    on = f" on {health.path}" if health.path else ""
    codes = codes_received(description)
    got = f": {codes}" if codes else (f": {description}" if description else "")
    return f"replacement tasks fail health checks{on}{got} ({reason}), {count} of {health.total} tasks"


def task_causes(stopped: tuple[StoppedTask, ...], *, skip_health_stops: bool = False) -> list[str]:
    """`container web exited 1: <last log line>` (once per container and code, with how many tasks);
    the stoppedReason of tasks that stopped for another reason (never started, say)."""
    crashes: dict[tuple[str, int | None], list[StoppedTask]] = {}
    others: dict[str, int] = {}
    for task in stopped:
        crashed = task.crashed()
        if crashed is not None:
            crashes.setdefault((crashed.name, crashed.exit_code), []).append(task)
        elif task.stopped_reason and not (skip_health_stops and task.stopped_reason.startswith(_ELB_STOPPED)):
            others[task.stopped_reason] = others.get(task.stopped_reason, 0) + 1
    out: list[str] = []
    for (name, code), tasks in crashes.items():
        how = f"exited {code}"
        container = next(c for c in tasks[0].containers if c.name == name)
        said = next((t.log_tail[-1] for t in tasks if t.log_tail), "") or container.reason
        many = f" ({len(tasks)} tasks)" if len(tasks) > 1 else ""
        out.append(f"container {name} {how}{many}" + (f": {said}" if said else ""))
    for reason, n in others.items():
        out.append(f"task{'s' if n > 1 else ''} stopped: {reason}" + (f" ({n} tasks)" if n > 1 else ""))
    return out


def gather(
    aws: Aws, ecs_target: dict[str, Any], cluster: str, health: TargetHealth | None, reader: HealthReader | None
) -> Evidence:
    """The evidence of a failed deployment: `health` is the watcher's last reading of the replacement
    target group (None: read it now, when `reader` is given). Best effort: a read AWS refuses leaves
    its part out, never hides the deployment's own error."""
    green = replacement_task_set(ecs_target) or {}
    try:
        if health is None and reader is not None and (green.get("targetGroup") or {}).get("name"):
            health = reader.read(str(green["targetGroup"]["name"]))
    except Exception:
        health = None
    stopped: list[StoppedTask] = []
    try:
        if task_set_id(green) and cluster:
            stopped = read_stopped(aws, cluster, task_set_id(green))
    except Exception:
        stopped = []
    return Evidence(health, tuple(stopped))

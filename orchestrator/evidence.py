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

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from orchestrator.arns import short_arn
from orchestrator.description import DeploymentDescription
from orchestrator.replacement import (
    StoppedTask,
    TargetHealth,
    codes_received,
    read_stopped,
    reason_code,
    replacement_task_set,
    task_set_id,
    unhealthy_event,
)

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.deployment import DeploymentView
    from orchestrator.replacement import HealthReader

# A task ECS stopped for failing its target group's health checks (Developer Guide, "Amazon ECS stopped
# task errors"): the target health says more, so this stoppedReason is no cause of its own.
_ELB_STOPPED = "Task failed ELB health checks"
# Tasks stopped as a consequence, not a cause: scaled in when their task set drained (a rollback, the
# end of a stop: "Scaling activity initiated by (deployment ecs-svc/...)"), or stopped by someone.
_NOT_A_CAUSE = ("Scaling activity initiated by",)


@dataclass(frozen=True)
class Evidence:
    health: TargetHealth | None = None
    stopped: tuple[StoppedTask, ...] = ()

    def causes(self) -> list[str]:
        """What went wrong, most telling first."""
        found = [c for c in (health_cause(self.health),) if c]
        found += task_causes(self.stopped, skip_health_stops=bool(found))
        return found

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def health_cause(health: TargetHealth | None) -> str:
    """`replacement tasks fail health checks on /health: 503 (Target.ResponseCodeMismatch), 3 of 3 tasks`."""
    if health is None or not health.unhealthy():
        return ""
    reason, description, count = max(health.unhealthy(), key=lambda u: u[2])
    on = f" on {health.path}" if health.path else ""
    codes = codes_received(description)
    # The codes received; else the description when it says more than that the checks failed.
    said = description if description and description.rstrip(".") != "Health checks failed" else ""
    got = f": {codes}" if codes else (f": {said}" if said else "")
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
        elif task.stop_code == "UserInitiated" or task.stopped_reason.startswith(_NOT_A_CAUSE):
            continue
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
        out.append(f"{n} replacement task{'s' if n > 1 else ''} stopped: {reason}")
    return out


def _from_service_event(
    aws: Aws, ecs_target: dict[str, Any], target_group: str, reader: HealthReader, since: Any
) -> TargetHealth | None:
    """The replacement's target health as ECS's latest "is unhealthy in (target-group ...)" service event
    tells it, once its targets are gone (ECS stopped the tasks, ELB deregistered them)."""
    cluster, _, service = str(ecs_target.get("targetId") or "").partition(":")
    if not (cluster and service):
        return None
    found = (aws.client("ecs").describe_services(cluster=cluster, services=[service]).get("services") or [{}])[0]
    seen = unhealthy_event(found.get("events") or [], since)
    if seen is None or seen[0] != target_group:
        return None
    desired = int((replacement_task_set(ecs_target) or {}).get("desiredCount") or 0)
    group = reader.group(target_group)
    failing = (("unhealthy", reason_code(seen[1]), seen[1], desired),)
    return TargetHealth(target_group, group[1] if group else None, total=desired, healthy=0, failing=failing)


def gather(
    aws: Aws,
    ecs_target: dict[str, Any],
    cluster: str,
    health: TargetHealth | None,
    reader: HealthReader | None,
    created: Any = None,
) -> Evidence:
    """The evidence of a failed deployment: `health` is what the watcher read of the replacement target
    group while it started (its last reading with unhealthy targets); without unhealthy targets in it,
    `reader` reads them now. Best effort: a read AWS refuses leaves its part out, never hides the
    deployment's own error."""
    green = replacement_task_set(ecs_target) or {}
    name = (green.get("targetGroup") or {}).get("name")
    try:
        if (health is None or not health.unhealthy()) and reader is not None and name:
            # No unhealthy target seen while it started: how they stand now, else what ECS said of them.
            now = reader.read(str(name))
            health = now if now is not None and (health is None or now.unhealthy()) else health
            if health is None or not health.unhealthy():
                health = _from_service_event(aws, ecs_target, str(name), reader, created) or health
    except Exception:
        pass
    stopped: list[StoppedTask] = []
    try:
        if task_set_id(green) and cluster:
            stopped = read_stopped(aws, cluster, task_set_id(green))
    except Exception:
        stopped = []
    return Evidence(health, tuple(stopped))


# --- the failure's clues (deployment.failure_clues) ---


def failure_evidence(aws: Aws, view: DeploymentView, cluster: str | None) -> Evidence:
    """What AWS knows of the failed deployment's replacement (orchestrator/evidence.py), read once: the
    watcher's last target health of it, else one read now; its stopped tasks."""
    from orchestrator.replacement import HealthReader

    return gather(aws, view.target, cluster or "", view.health, HealthReader(aws), view.info.get("createTime"))


def failure_clues(
    aws: Aws,
    view: DeploymentView,
    cluster: str | None = None,
    service: str | None = None,
    evidence: Evidence | None = None,
) -> list[str]:
    """The failure's clues, most telling first: the alarms, the causes the evidence names (unhealthy
    targets, crashed containers, tasks that never ran), the failed lifecycle events and their
    diagnostics, errorInformation, rollbackInfo, the latest ECS service events."""
    if evidence is None and cluster:
        evidence = failure_evidence(aws, view, cluster)
    parts: list[str] = list(evidence.causes()) if evidence is not None else []
    failed = [e for e in view.lifecycle if e.status == "Failed"]
    for event in failed:
        raw: dict[str, Any] = next(
            (e for e in view.target.get("lifecycleEvents") or [] if e.get("lifecycleEventName") == event.name), {}
        )
        diag = raw.get("diagnostics") or {}
        text = f"{event.name} failed"
        if diag.get("scriptName"):  # the AppSpec hook's Lambda function
            text += f" (hook function {diag['scriptName']})"
        detail = " ".join(str(x) for x in (diag.get("errorCode"), diag.get("message")) if x)
        if diag.get("logTail"):
            detail += f" log: {str(diag['logTail']).strip().splitlines()[-1][:200]}"
        parts.append(f"{text}: {detail.strip()}" if detail.strip() else text)
    err = view.info.get("errorInformation") or {}
    alarms = alarm_names(err)
    if alarms:
        parts.insert(0, f"CloudWatch alarm{'s' if len(alarms) > 1 else ''} {', '.join(alarms)} in ALARM")
    if err.get("code") == "MANUAL_STOP":
        # Not a failure of the release itself: say so first (by whom, when the next release is seen).
        parts.insert(0, _replaced_by(aws, view.info) or STOPPED_BY_REQUEST)
    if err:
        parts.append(f"CodeDeploy {err.get('code', 'error')}: {err.get('message', '')}".strip())
    rb = view.info.get("rollbackInfo") or {}
    if rb.get("rollbackDeploymentId"):
        msg = f" ({rb['rollbackMessage']})" if rb.get("rollbackMessage") else ""
        parts.append(f"rolled back by {rb['rollbackDeploymentId']}{msg}")
    elif rb.get("rollbackMessage"):
        parts.append(str(rb["rollbackMessage"]))
    if cluster and service:
        tasks = evidence is None or not evidence.stopped  # the evidence's stopped tasks say it better
        parts.extend(_ecs_clues(aws, cluster, service, view.info.get("createTime"), tasks=tasks))
    if not parts:
        parts.append(f"deployment {view.status.lower()} with no error information")
    return [p.replace("\n", " ") for p in parts]


STOPPED_BY_REQUEST = (
    "stopped by a StopDeployment request (MANUAL_STOP: another release's --if-active replace, or by hand)"
)


def _replaced_by(aws: Aws, info: dict[str, Any]) -> str | None:
    """A deployment stopped by hand: the release that came next in its group, if one did (another
    `release --if-active replace` stops the deployment in progress, then creates its own)."""
    created = info.get("createTime")
    if not (isinstance(created, datetime) and info.get("applicationName") and info.get("deploymentGroupName")):
        return None
    cd = aws.client("codedeploy")
    try:
        ids = (
            cd.list_deployments(
                applicationName=info["applicationName"],
                deploymentGroupName=info["deploymentGroupName"],
                createTimeRange={"start": created},
            ).get("deployments")
            or []
        )
        ids = [d for d in ids if d != info.get("deploymentId")][:25]
        later = cd.batch_get_deployments(deploymentIds=ids).get("deploymentsInfo") or [] if ids else []
    except Exception:  # a clue, not the outcome: without it the stop is explained as before
        return None
    ours = DeploymentDescription.parse(info.get("description")).release
    for other in sorted(later, key=lambda i: i.get("createTime") or created):
        said = DeploymentDescription.parse(other.get("description"))
        if said.release and said.release != ours and other.get("creator") == "user":
            image = f", image {said.image}" if said.image else ""
            return (
                f"replaced by another release (MANUAL_STOP): deployment {other['deploymentId']}{image} took its place"
            )
    return None


def alarm_names(error_information: dict[str, Any]) -> list[str]:
    """The alarms an ALARM_ACTIVE stop names ("... Activated alarms: <name> <name>", as AWS words it)."""
    if error_information.get("code") != "ALARM_ACTIVE":
        return []
    message = str(error_information.get("message") or "")
    _, _, listed = message.partition("Activated alarms:")
    return re.findall(r"<([^>]+)>", listed)


def _ecs_clues(aws: Aws, cluster: str, service: str, since: Any, tasks: bool = True) -> list[str]:
    """Latest ECS service events since the deployment began and the stopped tasks' reasons (best effort)."""
    clues: list[str] = []
    ecs = aws.client("ecs")
    try:
        svc = (ecs.describe_services(cluster=cluster, services=[service]).get("services") or [{}])[0]
        for ev in (svc.get("events") or [])[:3]:
            created = ev.get("createdAt")
            if isinstance(since, datetime) and isinstance(created, datetime) and created < since:
                continue
            clues.append(f"ECS: {ev.get('message')}")
        arns = (
            ecs.list_tasks(cluster=cluster, serviceName=service, desiredStatus="STOPPED").get("taskArns") or []
            if tasks
            else []
        )
        if arns:
            for task in (ecs.describe_tasks(cluster=cluster, tasks=arns[:3]).get("tasks") or [])[:3]:
                reasons = [task.get("stoppedReason")] + [c.get("reason") for c in task.get("containers") or []]
                text = "; ".join(r for r in reasons if r)
                if text:
                    clues.append(f"stopped task {short_arn(task.get('taskArn'), '')}: {text}")
    except Exception:  # clues are extra: never hide the deployment's own error behind them
        pass
    return clues

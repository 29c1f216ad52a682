"""What a deployment is waiting for, and how long is left: from the group's and config's settings
(deployment.WaitModel: the ready wait, the canary/linear step interval, the termination wait, already
in wall seconds) and the deployment's state. The watcher emits the result as a WaitStarted event;
reporters render it (a countdown in the live panel, one line in plain output).

Where a wait started: the end of the lifecycle event before it when CodeDeploy gives one (so a watch
that attaches mid-wait, `status --watch`, counts from the real start), else the moment the watcher
saw the change (a canary/linear step has no timestamp of its own).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from orchestrator.events import WaitStarted

if TYPE_CHECKING:
    from orchestrator.deployment import DeploymentView, WaitModel


def _ended(view: DeploymentView, names: tuple[str, ...] | None = None) -> datetime | None:
    ends = [
        datetime.fromisoformat(e.end.replace("Z", "+00:00"))
        for e in view.lifecycle
        if e.end and (names is None or e.name in names)
    ]
    return max(ends) if ends else None


def current_wait(view: DeploymentView, model: WaitModel, now: datetime, seen_for_s: float) -> WaitStarted | None:
    """The wait `view` is in, or None. now: the current UTC time; seen_for_s: seconds since the watcher
    saw the deployment's state change (the fallback start)."""

    def wait(kind: str, label: str, total: float, since: datetime | None) -> WaitStarted:
        elapsed = (now - since).total_seconds() if since is not None else seen_for_s
        return WaitStarted(view.deployment_id, kind, label, round(total, 3), round(max(0.0, total - elapsed), 3))

    if view.status == "Ready" and model.ready_wait_s:
        # Waiting for `approve` (ready option STOP_DEPLOYMENT); past the wait the deployment stops.
        since = _ended(view, ("AfterAllowTestTraffic", "AllowTestTraffic", "AfterInstall", "Install"))
        return wait(
            "ready_wait", "approval (ready wait; the deployment stops when it runs out)", model.ready_wait_s, since
        )
    if view.status != "InProgress" or not view.lifecycle:
        return None
    install = next((e for e in view.lifecycle if e.name == "Install"), None)
    if install is not None and install.status == "InProgress" and model.install_s:
        started = datetime.fromisoformat(install.start.replace("Z", "+00:00")) if install.start else None
        label = "the replacement tasks to become healthy (CodeDeploy gives up after 60 minutes)"
        return wait("install", label, model.install_s, started)
    allow = next((e for e in view.lifecycle if e.name == "AllowTraffic"), None)
    green = view.green_weight
    shifting = allow is not None and allow.status == "InProgress" and model.traffic_interval_s
    if shifting and model.traffic_interval_s and green is not None and 0 < green < 100:
        step = "canary" if model.traffic_kind == "canary" else "linear step"
        label = f"{step} at {green:g}% on the replacement, until the next shift"
        return wait("traffic_step", label, model.traffic_interval_s, None)
    if view.traffic_shifted and model.termination_wait_s:
        label = "termination wait (the original tasks are kept for a fast rollback)"
        return wait("termination_wait", label, model.termination_wait_s, _ended(view))
    return None

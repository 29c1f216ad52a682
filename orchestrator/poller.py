"""One poller for many deployments (a multi-service release, `rollback --all`).

Following N deployments with N watchers costs N GetDeployment + N GetDeploymentTarget calls per poll.
The shared poller asks for every followed deployment's status in one BatchGetDeployments call (25 ids
per call at most, as the API reference says of `deploymentIds`) and fetches the ECS
targets (lifecycle events, traffic weights) of at most `targets_per_tick` deployments per poll: those
whose status just changed first, then the ones seen longest ago, each no more often than its own
adaptive interval (deployment.PollPolicy). A deployment's end is therefore seen within one poll
whatever the number of deployments, while the calls per poll stay at 1 + targets_per_tick.

Each followed deployment reports through its own reporter (a service's, see events.for_service) with
the same events a single `deployment.watch` emits.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from orchestrator.aws import as_refusal, throttled
from orchestrator.deployment import (
    LONG_SLEEP,
    MIN_INTERVAL,
    PollPolicy,
    WaitModel,
    get_target,
    predict_end,
    report_change,
    view_of,
)
from orchestrator.engines.codedeploy.vocabulary import NOT_STARTED, OK_OUTCOMES
from orchestrator.errors import AwsRefused

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.deployment import DeploymentView
    from orchestrator.events import Reporter
    from orchestrator.replacement import Probe

# BatchGetDeployments, deploymentIds: "The maximum number of deployment IDs you can specify is 25."
BATCH_MAX = 25
TARGETS_PER_TICK = 2
STATUS_EVERY = 3.0


@dataclass
class Followed:
    """One deployment the poller follows, and what it has seen of it."""

    deployment_id: str
    reporter: Reporter
    target_id: str  # `cluster:service`, the ECS target's id
    until: str = "complete"
    waits: WaitModel = field(default_factory=WaitModel)
    timeout: float = math.inf
    started: float = 0.0
    view: DeploymentView | None = None
    outcome: str | None = None  # Succeeded | traffic-shifted | Failed | Stopped | TimedOut
    policy: PollPolicy = field(default_factory=PollPolicy)
    changed_at: float = 0.0
    probe: Probe | None = None  # reads the replacement while it starts (one per deployment, made by follow)
    target_seen_at: float = -math.inf
    due_at: float = 0.0  # its next poll (deployment.PollPolicy: soon after a change, later when quiet)

    @property
    def done(self) -> bool:
        return self.outcome is not None

    @property
    def ok(self) -> bool:
        return self.outcome in OK_OUTCOMES

    def _lifecycle_done(self) -> bool:
        return self.view is not None and bool(self.view.lifecycle) and self.view.traffic_shifted

    def wants_target(self, status: str, now: float) -> bool:
        if status in NOT_STARTED or self._lifecycle_done():
            return False
        changed = self.view is None or self.view.status != status
        return changed or now >= self.due_at


class SharedPoller:
    def __init__(
        self,
        aws: Aws,
        *,
        targets_per_tick: int = TARGETS_PER_TICK,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.aws = aws
        self.targets_per_tick = targets_per_tick
        self.clock, self.sleep = clock, sleep
        self.followed: dict[str, Followed] = {}
        self.calls = 0
        self._throttled = 0
        self._backoff = 0.0
        self._moving = False  # the last poll saw a status change: the others may be about to move too

    def follow(self, item: Followed) -> Followed:
        now = self.clock()
        from orchestrator.replacement import Probe

        item.started = item.started or now
        item.changed_at = now
        item.probe = item.probe or Probe(self.aws)
        self.followed[item.deployment_id] = item
        return item

    @property
    def active(self) -> list[Followed]:
        return [f for f in self.followed.values() if not f.done]

    def _batch(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        cd = self.aws.client("codedeploy")
        infos: dict[str, dict[str, Any]] = {}
        for i in range(0, len(ids), BATCH_MAX):
            self.calls += 1
            resp = cd.batch_get_deployments(deploymentIds=ids[i : i + BATCH_MAX])
            for info in resp.get("deploymentsInfo") or []:
                infos[str(info.get("deploymentId"))] = dict(info)
        return infos

    def poll(self) -> list[Followed]:
        """One round: every active deployment's status, some targets; returns those that just ended."""

        active = self.active
        if not active:
            return []
        try:
            infos = self._batch([f.deployment_id for f in active])
        except Exception as exc:
            if not throttled(exc):
                raise
            self._throttled += 1
            if self._throttled >= 6:
                raise as_refusal(exc) or AwsRefused(f"throttled: {exc}") from exc
            self._backoff = min(60.0, max(2.0, self._backoff * 2))
            return []
        self._throttled, self._backoff = 0, 0.0
        now = self.clock()
        wanted = [f for f in active if f.deployment_id in infos]
        wanted = [f for f in wanted if f.wants_target(str(infos[f.deployment_id].get("status")), now)]
        # Status changes first (a finished deployment's last view), then the longest unseen.
        wanted.sort(
            key=lambda f: (
                f.view is not None and f.view.status == infos[f.deployment_id].get("status"),
                f.target_seen_at,
            )
        )
        targets: dict[str, dict[str, Any]] = {}
        for f in wanted[: self.targets_per_tick]:
            self.calls += 1
            targets[f.deployment_id] = get_target(self.aws, f.deployment_id, f.target_id)
        ended: list[Followed] = []
        self._moving = any(
            f.view is not None and f.view.status != infos.get(f.deployment_id, {}).get("status", f.view.status)
            for f in active
        )
        for f in active:
            info = infos.get(f.deployment_id)
            if info is None:
                continue
            if f.deployment_id in targets:
                target = targets[f.deployment_id]
                f.target_seen_at = now
            else:
                target = f.view.target if f.view is not None else {}
            view = view_of(info, target)
            if f.deployment_id in targets:  # the replacement is read with its target, not more often
                view = view.probed(f.probe)
            elif f.view is not None:
                view = replace(
                    view, replacement=f.view.replacement, service_event=f.view.service_event, health=f.view.health
                )
            if f.view is None or view.key() != f.view.key():
                report_change(f.reporter, view, f.view, now - f.started, f.waits)
                f.changed_at = now
                f.policy.changed()
            elif now >= f.due_at:
                f.policy.quiet()
            f.view = view
            if now >= f.due_at or f.deployment_id in targets:
                f.due_at = now + f.policy.next_sleep(predict_end(view, f.waits, f.changed_at), now)
            if view.terminal:
                f.outcome = view.status
            elif f.until == "traffic-shifted" and view.lifecycle and view.traffic_shifted:
                f.outcome = "traffic-shifted"
            elif now - f.started >= f.timeout:
                f.outcome = "TimedOut"
            if f.done:
                ended.append(f)
        return ended

    def wait(self) -> None:
        """Sleep until the next poll is due: the soonest deployment's (each sleeps through a wait of
        known length and wakes near its end, as deployment.watch does), never past a deadline."""
        active = self.active
        if not active:
            return
        now = self.clock()
        # Deployments started together tend to end together: after a status change anywhere, the next
        # batch read of every status comes at once (targets keep their own intervals).
        due = now + MIN_INTERVAL if self._moving else min(f.due_at for f in active)
        deadline = min(f.started + f.timeout for f in active)
        pause = max(due - now, self._backoff, 0.05)
        # With several deployments, some ends are predicted by nobody (their last lifecycle change was
        # not seen: at most targets_per_tick targets are read per poll); their statuses cost nothing
        # extra in the batch call, so read them at least every STATUS_EVERY seconds.
        longest = STATUS_EVERY if len(active) > 1 else LONG_SLEEP
        self.sleep(min(pause, longest, max(0.05, deadline - now)))

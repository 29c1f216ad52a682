"""One CodeDeploy ECS blue/green deployment in flight: its lifecycle as a generator the engine drives.

`Run.steps()` performs one lifecycle step at a time and yields how many *simulated* seconds the next
step takes (or a `Hold` to wait for ContinueDeployment); `rollback_steps()` is a rollback deployment's.
What a step does to ECS and ELB is engine_effects.py's; the Install step's failing replacements are
engine_install.py's.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

from orchestrator.lifecycle import HOOK_EVENTS as APPSPEC_HOOK_EVENTS
from orchestrator.lifecycle import LIFECYCLE_EVENTS
from orchestrator.sandbox import service_tasks
from orchestrator.sandbox.engine_ecs import (
    DeploymentError,
    Resolved,
    backends,
    service_event,
    set_task_set_counts,
    short_id,
    utcnow,
)
from orchestrator.sandbox.engine_effects import RunEffects
from orchestrator.sandbox.engine_install import crash_of, failing_install, health_of, started_event
from orchestrator.sandbox.engine_timing import Durations, Hold
from orchestrator.sandbox.faults import DeploymentFaults
from orchestrator.sandbox.hooks import run_hook

if TYPE_CHECKING:
    from orchestrator.sandbox.engine import Engine

LIFECYCLE = LIFECYCLE_EVENTS
HOOK_EVENTS = frozenset(APPSPEC_HOOK_EVENTS)


def lifecycle_of(group: Any) -> tuple[str, ...]:
    """The group's lifecycle events: without a test listener AWS lists six (no AllowTestTraffic and
    AfterAllowTestTraffic; observed, not spelled out in the user guide: see docs/sandbox-control.md)."""
    pairs = (group.load_balancer_info or {}).get("targetGroupPairInfoList") or []
    test = ((pairs[0].get("testTrafficRoute") or {}).get("listenerArns") if pairs else None) or []
    if test:
        return LIFECYCLE
    return tuple(n for n in LIFECYCLE if n not in ("AllowTestTraffic", "AfterAllowTestTraffic"))


class Run(RunEffects):
    """One deployment in flight. `steps()` is the lifecycle; the engine drives it."""

    def __init__(
        self,
        engine: Engine,
        backend: Any,
        deployment: Any,
        faults: DeploymentFaults,
        rollback_of: Run | None = None,
    ) -> None:
        self.engine = engine
        self.backend = backend  # moto CodeDeployBackend
        self.deployment = deployment
        self.faults = faults
        self.rollback_of = rollback_of
        self.events: list[dict[str, Any]] = [
            {"lifecycleEventName": n, "status": "Pending"} for n in lifecycle_of(deployment.deployment_group)
        ]
        self.target_status = "Pending"
        self.last_updated = utcnow()
        self.resolved: Resolved | None = None
        self.blue_ts: Any = None
        self.green_ts: Any = None
        self.green_weight = 0.0
        self.gone: dict[str, dict[str, Any]] = {}  # label -> last taskSetsInfo of a deleted task set
        self.current: str | None = None
        self.hold: Hold | None = None
        self.continued = False
        self.due = 0.0
        self.stop_request: tuple[bool | None] | None = None
        self.stop_due: float | None = None  # when an accepted StopDeployment completes (monotonic)
        self.done = False
        self.gen: Generator[float | Hold, None, None] = self.rollback_steps() if rollback_of else self.steps()

    # ---- bookkeeping -------------------------------------------------------------------------
    def _event(self, name: str) -> dict[str, Any]:
        return next(e for e in self.events if e["lifecycleEventName"] == name)

    def begin(self, name: str) -> None:
        event = self._event(name)
        event.update(status="InProgress", startTime=utcnow())
        self.current = name
        self.touch()

    def end(self, name: str, status: str = "Succeeded") -> None:
        event = self._event(name)
        event.update(status=status, endTime=utcnow())
        event.setdefault("startTime", event["endTime"])
        self.current = None
        self.touch()

    def set_target_status(self, status: str) -> None:
        self.target_status = status
        # deploymentOverview stays null until the deployment ends (as AWS reports ECS deployments).
        overview = None
        if status in ("Succeeded", "Failed", "Skipped"):
            overview = dict.fromkeys(("Pending", "InProgress", "Succeeded", "Failed", "Skipped", "Ready"), 0)
            overview[status] = 1
        self.deployment.deployment_overview = overview
        self.touch()

    def duration(self, name: str) -> float:
        assert self.resolved is not None
        return Durations.HOOK if name in self.resolved.hooks else Durations.NO_HOOK

    # ---- the lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        d = self.deployment
        d.status = "InProgress"
        d.start_time = utcnow()
        self.set_target_status("InProgress")

    def check_fault(self, name: str) -> Iterator[float]:
        """A `fail_at` fault fails this event after it has run for a while."""
        if self.faults.fail_at != name:
            return
        yield self.duration(name) if name in HOOK_EVENTS else Durations.NO_HOOK
        assert self.resolved is not None
        hook = self.resolved.hooks.get(name, f"sandbox-fault-{name}")
        message = self.faults.message or f"Injected failure at {name}"
        code = "HOOK_EXECUTION_FAILURE" if name in HOOK_EVENTS else "ECS_UPDATE_ERROR"
        raise DeploymentError(
            code,
            f"The deployment failed because a lifecycle event failed: {name}: {message}",
            diagnostics={
                "errorCode": "ScriptFailed",
                "scriptName": hook,
                "message": message,
                # The failure's own words last, as a hook's output ends with its verdict.
                "logTail": f"[sandbox] {name} started\n[sandbox] {name} failing\n[sandbox] {message}\n",
            },
        )

    def hook(self, name: str) -> Iterator[float]:
        self.begin(name)
        yield from self.check_fault(name)
        assert self.resolved is not None
        function = self.resolved.hooks.get(name)
        if function is None:
            yield Durations.NO_HOOK
        else:  # invoke the function and wait for PutLifecycleEventHookExecutionStatus (hooks.py)
            yield from run_hook(self, name, function)
        self.end(name)

    def steps(self) -> Generator[float | Hold, None, None]:
        d = self.deployment
        group = d.deployment_group
        yield Durations.START
        self.start()
        self.resolved = r = self.resolve()
        service = self._ecs_service()
        self.blue_ts = next((ts for ts in service.task_sets if ts.status == "PRIMARY"), None)

        yield from self.hook("BeforeInstall")

        green = yield from self.install(service)

        yield from self.hook("AfterInstall")

        if r.test_listener:
            self.begin("AllowTestTraffic")
            yield from self.check_fault("AllowTestTraffic")
            self._point_listener(r.test_listener, [(r.green_tg_arn, 100), (r.blue_tg_arn, 0)])
            yield Durations.TEST_TRAFFIC
            self.end("AllowTestTraffic")

            yield from self.hook("AfterAllowTestTraffic")

        if not (yield from self.ready_wait()):
            return

        yield from self.hook("BeforeAllowTraffic")

        self.begin("AllowTraffic")
        yield from self.check_fault("AllowTraffic")
        for percent, wait_minutes in self.engine.config_for(d).traffic_plan():
            self.shift_traffic(percent)
            yield Durations.TRAFFIC_SHIFT
            if wait_minutes:
                yield wait_minutes * 60
        self.make_primary(green)
        self.end("AllowTraffic")

        yield from self.hook("AfterAllowTraffic")

        terminate = (group.blue_green_deployment_configuration or {}).get("terminateBlueInstancesOnDeploymentSuccess")
        terminate = terminate or {}
        if self.blue_ts is not None and terminate.get("action", "TERMINATE") == "TERMINATE":
            d.instance_termination_wait_time_started = True
            self.touch()
            minutes = float(terminate.get("terminationWaitTimeInMinutes") or 0)
            if minutes > 0:
                yield Hold("TERMINATION_WAIT", minutes * 60)
            self.delete_task_set(self.blue_ts, "Blue")
        service_event(service, f"(service {r.service}) has reached a steady state.")
        self.succeed()

    def install(self, service: Any) -> Generator[float | Hold, None, Any]:
        """Install: the replacement task set and its tasks, healthy after a while (or never: a fault)."""
        r = self.resolved
        assert r is not None
        self.begin("Install")
        yield from self.check_fault("Install")
        self.green_ts = green = self.create_green()
        desired = service.desired_count
        ecs, _ = backends(self.account_id, self.region)
        started_event(service, green, service_tasks.tasks_of(ecs, r.cluster, started_by=green.id))
        if health_of(self.faults) is not None or crash_of(self.faults) is not None:
            yield from failing_install(self, ecs, service, green)
        yield Durations.INSTALL / 2
        set_task_set_counts(green, desired, max(desired // 2, 0), stable=False)
        yield Durations.INSTALL / 2
        set_task_set_counts(green, desired, desired, stable=True)
        service_event(
            service,
            f"(service {r.service}, taskSet {short_id(green)}) registered {desired} targets in "
            f"(target-group {r.green_tg_arn})",
        )
        self.end("Install")
        return green

    def ready_wait(self) -> Generator[float | Hold, None, bool]:
        """A STOP_DEPLOYMENT group's wait for ContinueDeployment; False when it ran out (the run stopped)."""
        d = self.deployment
        group = d.deployment_group
        ready = (group.blue_green_deployment_configuration or {}).get("deploymentReadyOption") or {}
        if ready.get("actionOnTimeout") != "STOP_DEPLOYMENT":
            return True
        d.status = "Ready"
        self.set_target_status("Ready")
        minutes = float(ready.get("waitTimeInMinutes") or 0)
        yield Hold("READY_WAIT", minutes * 60 if minutes > 0 else Durations.READY_WAIT_MAX)
        if not self.continued:
            # User guide, ECS deployment group, "Choose when to reroute traffic": without a continue
            # within the wait, "the deployment status is changed to Stopped" (no rollback documented).
            self.stop(
                False,
                code="TIMEOUT",
                message="The deployment was stopped because traffic was not rerouted within the specified "
                f"wait time of {minutes:g} minutes.",
            )
            return False
        d.status = "InProgress"
        self.set_target_status("InProgress")
        return True

    def rollback_steps(self) -> Generator[float | Hold, None, None]:
        """Return traffic to the original task set and remove the replacement (the rollback deployment)."""
        original = self.rollback_of
        assert original is not None
        yield Durations.START
        self.start()
        self.resolved = r = original.resolved
        self.blue_ts, self.green_ts = original.blue_ts, original.green_ts
        self.green_weight = original.green_weight
        names = [e["lifecycleEventName"] for e in self.events]
        if r is None or self.blue_ts is None:
            for name in names:
                self.end(name, "Skipped")
            self.succeed()
            return
        for name in names:
            self.begin(name)
            if name == "Install":
                set_task_set_counts(
                    self.blue_ts, self._ecs_service().desired_count, self._ecs_service().desired_count, True
                )
                yield Durations.NO_HOOK
            elif name == "AllowTestTraffic":
                self._point_listener(r.test_listener, [(r.blue_tg_arn, 100), (r.green_tg_arn, 0)])
                yield Durations.TEST_TRAFFIC
            elif name == "AllowTraffic":
                self.shift_traffic(0)
                self.make_primary(self.blue_ts)
                yield Durations.TRAFFIC_SHIFT
            else:
                yield Durations.NO_HOOK
            self.end(name)
        if self.green_ts is not None:
            self.delete_task_set(self.green_ts, "Green")
            original.gone["Green"] = dict(self.gone["Green"])
        self.succeed()

    # ---- endings -----------------------------------------------------------------------------
    def succeed(self) -> None:
        d = self.deployment
        d.status = "Succeeded"
        d.complete_time = utcnow()
        self.set_target_status("Succeeded")
        self.done = True

    def fail(self, error: DeploymentError) -> None:
        d = self.deployment
        name = self.current
        if name is not None:
            event = self._event(name)
            event.update(status="Failed", endTime=utcnow())
            event["diagnostics"] = error.diagnostics or {
                "errorCode": "UnknownError",
                "scriptName": "",
                "message": error.message,
                "logTail": "",
            }
        self.skip_pending()
        d.status = "Failed"
        d.complete_time = utcnow()
        d.error_information = {"code": error.code, "message": error.message}
        self.set_target_status("Failed")
        self.done = True
        if self.rollback_of is None and self.engine.rollback_enabled(d, "DEPLOYMENT_FAILURE"):
            self.roll_back(f"Deployment {d.deployment_id} failed")

    def skip_pending(self) -> None:
        for event in self.events:
            if event["status"] in ("Pending", "InProgress"):
                event.update(status="Skipped")
                event.setdefault("startTime", utcnow())
                event["endTime"] = utcnow()
        self.current = None

    def stop(
        self,
        auto_rollback: bool | None,
        code: str = "MANUAL_STOP",
        message: str = "The deployment was stopped by the user.",
    ) -> None:
        d = self.deployment
        # The lifecycle event running when the stop completes ends Failed, the rest Skipped.
        if self.current is not None:
            self._event(self.current).update(status="Failed", endTime=utcnow())
            self.current = None
        self.skip_pending()
        d.status = "Stopped"
        d.complete_time = utcnow()
        d.error_information = {"code": code, "message": message}
        if code == "MANUAL_STOP":
            d.deployment_status_messages = ["Deployment stopped by user."]
        self.set_target_status("Failed")
        self.done = True
        rollback = (
            auto_rollback
            if auto_rollback is not None
            else self.engine.rollback_enabled(d, "DEPLOYMENT_STOP_ON_REQUEST")
        )
        if rollback and self.rollback_of is None:
            self.roll_back(f"Deployment {d.deployment_id} was stopped")

    def roll_back(self, reason: str) -> None:
        """Start the rollback deployment, unless the deployment ended before it changed the service
        (stopped while Created, failed or stopped in BeforeInstall): there is nothing to roll back."""
        if self.green_ts is None:
            self.deployment.rollback_info = {
                "rollbackMessage": f"{reason} before the replacement task set was created; no rollback was needed."
            }
            return
        self.engine.start_rollback(self, reason)

"""The stage walk of an ECS service deployment, on the sandbox's scaled clock.

A `Run` drives a generator that yields simulated seconds, as the CodeDeploy engine's runs do; the
engine's ticker (engine.Engine.later) resumes it, under the engine's LOCK. External events (a hook's
answer, ContinueServiceDeployment, StopServiceDeployment, an alarm) wake it early.

BLUE_GREEN / LINEAR / CANARY (developer guide, "Amazon ECS blue/green service deployments workflow",
"linear deployments", "canary deployments", and ServiceDeployment.lifecycleStage in botocore's model):
RECONCILE_SERVICE (only with more than one source revision) -> PRE_SCALE_UP -> SCALE_UP (green tasks
start, no traffic) -> POST_SCALE_UP -> TEST_TRAFFIC_SHIFT (test rule: green 0 -> 100) ->
POST_TEST_TRAFFIC_SHIFT -> per production step: PRE_PRODUCTION_TRAFFIC_SHIFT hooks, then
PRODUCTION_TRAFFIC_SHIFT (production rule weights moved; "For linear and canary deployments, this stage
is invoked at every traffic shift step"; step bake time between steps) -> POST_PRODUCTION_TRAFFIC_SHIFT ->
BAKE_TIME (bakeTimeInMinutes) -> CLEAN_UP (blue scaled to 0) -> SUCCESSFUL.

PRE_PRODUCTION_TRAFFIC_SHIFT is a hook stage (botocore's DeploymentLifecycleHookStage has it) and the
lifecycleStage field's documentation lists it, but botocore's ServiceDeploymentLifecycleStage enum — the
values DescribeServiceDeployments is modelled to return — does not. The sandbox's choice: its hooks run
before each production step, while the deployment reports PRODUCTION_TRAFFIC_SHIFT (the enum's value for
the whole production phase), so every answer stays inside the model (the shape check stays strict);
the control endpoint's /_sandbox/ecs/deployments trail records the PRE_PRODUCTION_TRAFFIC_SHIFT stage.

ROLLING (developer guide, "Rolling update" and "How the Amazon ECS deployment circuit breaker detects
failures"): new tasks start, old ones stop; tasks that fail to launch count toward the breaker's threshold
(ServiceDeploymentCircuitBreaker.threshold: 0.5 x desired count, at least 3, at most 200); past it the
deployment fails, and with `rollback` returns to the last completed revision. No lifecycle stages.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Generator, Iterator
from typing import Any

from orchestrator.sandbox.ecs_deployments import service_state, traffic
from orchestrator.sandbox.ecs_deployments.config import hooks as configured_hooks
from orchestrator.sandbox.ecs_deployments.config import traffic_plan
from orchestrator.sandbox.ecs_deployments.faults import ServiceFaults
from orchestrator.sandbox.ecs_deployments.hooks import HookFailed, run_hooks
from orchestrator.sandbox.ecs_deployments.records import Deployment, Store, utcnow


class Durations:
    """Simulated seconds (times the engine's time scale = wall seconds)."""

    START = 3.0  # PENDING -> IN_PROGRESS
    STAGE = 1.0  # a lifecycle stage without hooks
    SCALE_UP = 40.0  # new tasks start and pass health checks (half pending, half running)
    TRAFFIC = 5.0  # one listener rule change
    CLEAN_UP = 10.0  # the old revision's tasks drain and stop
    STOP = 5.0  # ROLLBACK_REQUESTED / STOP_REQUESTED before the rollback or stop takes effect
    LAUNCH_RETRY = 20.0  # a batch of tasks that fail to start or to pass health checks
    ALARM_POLL = 5.0  # how often the deployment's CloudWatch alarms are read


class Failure(Exception):
    """The deployment fails here: roll back (or stop when the mechanism's rollback is off)."""

    def __init__(self, reason: str, rollback: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.rollback = rollback


RUNS: dict[str, Run] = {}  # deployment ARN -> run (the control endpoint's trails read them)


class Run:
    def __init__(self, engine: Any, backend: Any, service: Any, dep: Deployment, store: Store, **kw: Any) -> None:
        self.engine = engine
        self.backend = backend
        self.service = service
        self.dep = dep
        self.store = store
        self.faults: ServiceFaults = kw.get("faults") or ServiceFaults()
        self.blue_td: str = kw["blue_td"]
        self.green_td: str = kw["green_td"]
        self.blue_tg: str | None = kw.get("blue_tg")
        self.green_tg: str | None = kw.get("green_tg")
        self.prod_rule: str | None = kw.get("prod_rule")
        self.test_rule: str | None = kw.get("test_rule")
        self.hooks = configured_hooks(dep.config)
        self.token = 0
        self.done = False
        self.stop_kind: str | None = None
        self.gen: Generator[float, None, None] = (
            self.rolling() if dep.config.get("strategy", "ROLLING") == "ROLLING" else self.blue_green()
        )
        RUNS[dep.arn] = self
        store.runs[dep.arn] = self

    # ---- clock -------------------------------------------------------------------------------
    @property
    def account(self) -> str:
        return str(self.backend.account_id)

    @property
    def region(self) -> str:
        return str(self.backend.region_name)

    def deadline(self, simulated: float) -> float:
        return time.monotonic() + simulated * self.engine.time_scale

    def left(self, deadline: float) -> float:
        return (deadline - time.monotonic()) / self.engine.time_scale

    def schedule(self, simulated: float) -> None:
        self.token += 1
        token = self.token
        self.engine.later(max(simulated, 0.0), lambda: self._resume(token))

    def wake(self) -> None:
        if not self.done:
            self.schedule(0.0)

    def wake_threadsafe(self) -> None:
        with self.engine.lock:
            self.wake()

    def _resume(self, token: int) -> None:
        if token == self.token and not self.done:
            self.advance()

    def advance(self) -> None:
        for _ in range(1000):
            try:
                step = next(self.gen)
            except StopIteration:
                self.done = True
                return
            except Failure as failure:
                self.fail(failure)
                continue
            except HookFailed as failure:
                self.fail(Failure(failure.reason))
                continue
            except Exception as exc:  # a bug must not kill the ticker: the deployment fails, visibly
                traceback.print_exc()
                self.fail(Failure(f"sandbox error: {type(exc).__name__}: {exc}", rollback=False))
                continue
            if step > 0:
                self.schedule(step)
                return

    def start(self) -> None:
        self.dep.status, self.dep.started_at = "PENDING", None
        self.schedule(0.0)
        self._poll_alarms()

    # ---- endings -----------------------------------------------------------------------------
    def fail(self, failure: Failure) -> None:
        """Switch to the rollback walk (or stop where the failing mechanism's rollback is off)."""
        if self.dep.finished or self.dep.status.startswith("ROLLBACK"):
            if self.dep.status.startswith("ROLLBACK") and not self.dep.finished:
                self._end("ROLLBACK_FAILED", f"{self.dep.status_reason}; the rollback failed: {failure.reason}")
            return
        if self.dep.status == "STOP_REQUESTED":  # already stopping: it "continues to stop"
            return
        self.gen.close()
        d = self.dep
        d.status_reason = failure.reason
        # The request is visible at once (the guide: the deployment "moves to the ROLLBACK_REQUESTED state").
        if failure.rollback:
            d.status = "ROLLBACK_REQUESTED"
            source = d.sources[0] if d.sources else None
            d.rollback = {"reason": failure.reason, "startedAt": utcnow(), "serviceRevisionArn": source}
            d.hook_details = []
            self.gen = self.roll_back(failure.reason)
        else:
            d.status = "STOP_REQUESTED"
            self.gen = self.stop_walk(failure.reason)
        d.touch()
        self.wake()

    def request_stop(self, kind: str, reason: str) -> None:
        self.stop_kind = kind
        self.fail(Failure(reason, rollback=kind == "ROLLBACK"))

    def _end(self, status: str, reason: str | None = None) -> None:
        d = self.dep
        d.status = status
        if reason:
            d.status_reason = reason
        d.finished_at = utcnow()
        if status == "STOPPED":
            d.stopped_at = d.finished_at
        d.stage = d.stage if status != "SUCCESSFUL" else "CLEAN_UP"
        for monitor in (d.alarms, d.breaker):
            if monitor and monitor.get("status") == "MONITORING":
                monitor["status"] = "MONITORING_COMPLETE"
        d.hook_details = [h for h in d.hook_details if h["status"] != "AWAITING_ACTION"]
        d.touch()
        self.done = True

    def stop_walk(self, reason: str) -> Generator[float, None, None]:
        """STOP_REQUESTED -> STOPPED: traffic and tasks stay as they are (the sandbox's reading of ABORT
        and of a failure whose mechanism has rollback off; not documented further)."""
        yield Durations.STOP
        service_state.fail_entry(self.service, self.green_td, reason)
        self._end("STOPPED", reason)

    def roll_back(self, reason: str) -> Generator[float, None, None]:
        """ROLLBACK_REQUESTED -> ROLLBACK_IN_PROGRESS -> ROLLBACK_SUCCESSFUL: traffic back to the source
        revision (the guide: on a rollback ECS runs the PRODUCTION_TRAFFIC_SHIFT and TEST_TRAFFIC_SHIFT
        hooks), the new revision's tasks stopped, the service back on the source task definition."""
        d = self.dep
        source = d.sources[0] if d.sources else None
        yield Durations.STOP
        d.status = "ROLLBACK_IN_PROGRESS"
        d.touch()
        if self.green_tg and source and d.prod_weights.get(d.target):
            self.enter("PRODUCTION_TRAFFIC_SHIFT")
            self.shift("prod", 0.0)
            yield Durations.TRAFFIC
            yield from run_hooks(self, "PRODUCTION_TRAFFIC_SHIFT", self.hooks)
        if self.green_tg and source and d.test_weights.get(d.target):
            self.enter("TEST_TRAFFIC_SHIFT")
            self.shift("test", 0.0)
            yield Durations.TRAFFIC
            yield from run_hooks(self, "TEST_TRAFFIC_SHIFT", self.hooks)
        if self.dep.config.get("strategy", "ROLLING") != "ROLLING":  # rolling deployments have no stages
            self.enter("CLEAN_UP")
        service_state.fail_entry(self.service, self.green_td, reason)
        yield Durations.CLEAN_UP
        self.counts(d.target, 0, 0)
        if source:
            self.counts(source, self.service.desired_count, 0)
        service_state.finish(self.service, self.blue_td)
        self._end("ROLLBACK_SUCCESSFUL")

    # ---- effects -----------------------------------------------------------------------------
    def enter(self, stage: str) -> None:
        reported = "PRODUCTION_TRAFFIC_SHIFT" if stage == "PRE_PRODUCTION_TRAFFIC_SHIFT" else stage
        self.dep.stage = reported
        self.dep.hook_details = []
        self.dep.trail.append({"stage": stage, "at": utcnow().isoformat(), "status": self.dep.status})
        self.dep.touch()

    def counts(self, revision: str, running: int, pending: int) -> None:
        td = self.green_td if revision == self.dep.target else self.blue_td
        service_state.set_counts(self.dep, self.service, revision, td, running, pending)

    def shift(self, which: str, green: float) -> None:
        d = self.dep
        weights = d.prod_weights if which == "prod" else d.test_weights
        weights[d.target] = green
        for source in d.sources:
            weights[source] = 100.0 - green if source == d.sources[0] else 0.0
        rule = self.prod_rule if which == "prod" else self.test_rule
        if self.green_tg and self.blue_tg:
            traffic.set_weights(self.account, self.region, rule, {self.green_tg: green, self.blue_tg: 100.0 - green})
        d.touch()

    def stage(self, name: str) -> Iterator[float]:
        """A hook stage: entered, the injected failure checked, its hooks run."""
        self.enter(name)
        yield from self.check_fault(name)
        if any(name in h.stages for h in self.hooks):
            yield from run_hooks(self, name, self.hooks)
        else:
            yield Durations.STAGE

    def check_fault(self, name: str) -> Iterator[float]:
        if self.faults.fail_at != name:
            return
        yield Durations.STAGE
        raise Failure(self.faults.message or f"Injected failure at {name} (sandbox ecs-fault --fail-at)")

    # ---- the walks ---------------------------------------------------------------------------
    def begin(self) -> Iterator[float]:
        yield Durations.START
        self.dep.status, self.dep.started_at = "IN_PROGRESS", utcnow()
        self.dep.touch()

    def blue_green(self) -> Generator[float, None, None]:
        d = self.dep
        yield from self.begin()
        if len(d.sources) > 1:
            yield from self.stage("RECONCILE_SERVICE")
        yield from self.stage("PRE_SCALE_UP")
        self.enter("SCALE_UP")
        yield from self.check_fault("SCALE_UP")
        yield from self.launch()
        yield from self.stage("POST_SCALE_UP")
        if self.test_rule:
            self.enter("TEST_TRAFFIC_SHIFT")
            yield from self.check_fault("TEST_TRAFFIC_SHIFT")
            self.shift("test", 100.0)
            yield Durations.TRAFFIC
            yield from run_hooks(self, "TEST_TRAFFIC_SHIFT", self.hooks)
            yield from self.stage("POST_TEST_TRAFFIC_SHIFT")
        for percent, wait in traffic_plan(d.config):
            yield from self.stage("PRE_PRODUCTION_TRAFFIC_SHIFT")
            self.enter("PRODUCTION_TRAFFIC_SHIFT")
            yield from self.check_fault("PRODUCTION_TRAFFIC_SHIFT")
            self.shift("prod", percent)
            yield Durations.TRAFFIC
            yield from run_hooks(self, "PRODUCTION_TRAFFIC_SHIFT", self.hooks)
            if wait:
                yield wait
        yield from self.stage("POST_PRODUCTION_TRAFFIC_SHIFT")
        self.enter("BAKE_TIME")
        yield from self.check_fault("BAKE_TIME")
        yield max(float(d.config.get("bakeTimeInMinutes") or 0) * 60, Durations.STAGE)
        self.enter("CLEAN_UP")
        yield from self.check_fault("CLEAN_UP")
        yield Durations.CLEAN_UP
        for source in d.sources:
            self.counts(source, 0, 0)
        self.counts(d.target, self.service.desired_count, 0)
        service_state.finish(self.service, self.green_td)
        self._end("SUCCESSFUL")

    def launch(self) -> Iterator[float]:
        """The new revision's tasks start; with a fault they fail, and the circuit breaker may trip."""
        desired = self.service.desired_count
        self.counts(self.dep.target, 0, desired)
        if self.faults.no_start or self.faults.unhealthy:
            yield from self.failing_launch(desired)
        yield Durations.SCALE_UP / 2
        self.counts(self.dep.target, max(desired // 2, 0), desired - max(desired // 2, 0))
        yield Durations.SCALE_UP / 2
        self.counts(self.dep.target, desired, 0)

    def failing_launch(self, desired: int) -> Iterator[float]:
        breaker = self.dep.config.get("deploymentCircuitBreaker") or {}
        reason = self.faults.no_start or (
            f"Task failed ELB health checks in (target-group {self.green_tg or 'of the service'})"
        )
        while True:  # without the circuit breaker ECS keeps replacing the tasks (the deployment stays in progress)
            yield Durations.LAUNCH_RETRY
            failed = service_state.failed_launch(self.backend, self.service, self.green_td, max(desired, 1), reason)
            if self.dep.breaker is not None and breaker.get("enable"):
                self.dep.breaker["failureCount"] += failed
                if self.dep.breaker["failureCount"] >= self.dep.breaker["threshold"]:
                    self.dep.breaker["status"] = "TRIGGERED"
                    why = "tasks failed to start" if self.faults.no_start else "tasks failed health checks"
                    raise Failure(f"ECS deployment circuit breaker: {why}.", rollback=bool(breaker.get("rollback")))
            self.dep.touch()

    def rolling(self) -> Generator[float, None, None]:
        yield from self.begin()
        desired = self.service.desired_count
        self.counts(self.dep.target, 0, desired)
        if self.faults.no_start or self.faults.unhealthy:
            yield from self.failing_launch(desired)
        yield Durations.SCALE_UP / 2
        self.counts(self.dep.target, max(desired // 2, 0), desired - max(desired // 2, 0))
        yield Durations.SCALE_UP / 2
        self.counts(self.dep.target, desired, 0)
        for source in self.dep.sources:
            self.counts(source, 0, 0)
        service_state.finish(self.service, self.green_td)
        self._end("SUCCESSFUL")

    # ---- CloudWatch alarms -------------------------------------------------------------------
    def _poll_alarms(self) -> None:
        if self.done or self.dep.alarms is None or self.dep.alarms.get("status") != "MONITORING":
            return
        if self.dep.status in ("PENDING", "IN_PROGRESS"):
            from moto.cloudwatch.models import cloudwatch_backends

            known = cloudwatch_backends[self.account][self.region].alarms
            names = self.dep.alarms.get("alarmNames") or []
            fired = [n for n in names if n in known and known[n].state_value == "ALARM"]
            if fired:
                self.dep.alarms.update(status="TRIGGERED", triggeredAlarmNames=fired)
                rollback = bool((self.dep.config.get("alarms") or {}).get("rollback"))
                self.fail(Failure(f"CloudWatch alarm(s) in ALARM: {', '.join(fired)}", rollback=rollback))
                return
        self.engine.later(Durations.ALARM_POLL, self._poll_alarms)

    def continue_hook(self, hook_id: str, action: str) -> bool:
        for detail in self.dep.hook_details:
            if detail["hookId"] == hook_id and detail["status"] == "AWAITING_ACTION":
                detail["status"] = "SUCCEEDED" if action == "CONTINUE" else "FAILED"
                self.dep.touch()
                self.wake()
                return True
        return False


def breaker_of(config: dict[str, Any], desired: int) -> dict[str, Any] | None:
    breaker = config.get("deploymentCircuitBreaker") or {}
    if not breaker.get("enable"):
        return {"status": "DISABLED", "failureCount": 0, "threshold": 0}
    return {"status": "MONITORING", "failureCount": 0, "threshold": min(max(3, math.ceil(0.5 * desired)), 200)}


def alarms_of(config: dict[str, Any]) -> dict[str, Any] | None:
    alarms = config.get("alarms") or {}
    if not alarms.get("enable"):
        return {"status": "DISABLED", "alarmNames": list(alarms.get("alarmNames") or [])}
    return {"status": "MONITORING", "alarmNames": list(alarms.get("alarmNames") or []), "triggeredAlarmNames": []}


def trails() -> dict[str, Any]:
    """Every deployment's stages as the sandbox walked them (PRE_PRODUCTION_TRAFFIC_SHIFT included)."""
    return {
        arn: {"status": run.dep.status, "stages": list(run.dep.trail)}
        for arn, run in RUNS.items()
        if run.store is getattr(run.backend, "_sandbox_service_deployments", None)
    }

"""The CodeDeploy ECS blue/green engine: moves deployments through the real lifecycle on wall-clock time.

moto keeps a CodeDeploy deployment `Created` forever. Here every ECS deployment gets a `Run`
(engine_run.py): a generator that performs one lifecycle step at a time and yields how many *simulated*
seconds the next step takes. A ticker thread resumes each run when its (scaled) time is due, so progress
depends on the clock, never on how often a client polls. All moto state is touched under `LOCK`
(clock.py), which the WSGI middleware also holds around every request, so clients never observe a
half-applied step.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from orchestrator.sandbox.alarms import poll as poll_alarms
from orchestrator.sandbox.clock import CLOCK, LOCK
from orchestrator.sandbox.engine_ecs import DeploymentError
from orchestrator.sandbox.engine_run import Run
from orchestrator.sandbox.engine_timing import Durations, Hold
from orchestrator.sandbox.faults import DeploymentFaults

__all__ = ["ENGINE", "LOCK", "Engine", "Run"]


class Engine:
    """Owns the runs and the ticker thread. One per process (moto's backends are process-global)."""

    def __init__(self, time_scale: float | None = None) -> None:
        self.lock = LOCK  # what the moto extensions hold while they touch moto's state or the runs
        if time_scale is not None:
            CLOCK.time_scale = time_scale
        self.runs: dict[str, Run] = {}
        self.timers: list[tuple[float, Callable[[], None]]] = []  # (monotonic due time, action)
        self.pending_faults: DeploymentFaults | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._users = 0  # servers in this process sharing the engine (moto's state is process-global too)

    @property
    def time_scale(self) -> float:
        return CLOCK.time_scale

    @time_scale.setter
    def time_scale(self, value: float) -> None:
        CLOCK.time_scale = value

    # ---- lifecycle of the engine itself ------------------------------------------------------
    def start(self) -> None:
        self._users += 1
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name="sandbox-engine", daemon=True)
            self._thread.start()

    def shutdown(self) -> None:
        """Stop the ticker once the last server of this process has stopped."""
        self._users = max(self._users - 1, 0)
        if self._users:
            return
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def reset(self) -> None:
        with LOCK:
            self.runs.clear()
            self.timers.clear()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            with LOCK:
                active = [run for run in self.runs.values() if not run.done] or self.timers
                if active:
                    try:
                        self.tick(time.monotonic())
                    except Exception:  # keep ticking for the other deployments; the log shows why
                        traceback.print_exc()
            # Short naps while something runs; otherwise sleep until a deployment starts.
            if active:
                self._wake.wait(0.01)
            else:
                self._wake.wait(1.0)
            self._wake.clear()

    def later(self, simulated_s: float, action: Callable[[], None]) -> None:
        """Run `action` (under LOCK, on the ticker) once `simulated_s` simulated seconds have passed."""
        self.timers.append((time.monotonic() + simulated_s * self.time_scale, action))
        self._wake.set()

    def tick(self, now: float) -> None:
        due = [t for t in self.timers if t[0] <= now]
        if due:
            self.timers = [t for t in self.timers if t[0] > now]
            for _, action in due:
                try:
                    action()
                except Exception:
                    traceback.print_exc()
        for run in list(self.runs.values()):
            if run.done:
                continue
            if run.stop_request is not None:
                # StopDeployment answered Pending; the deployment stands still until the stop completes.
                if run.stop_due is None:
                    run.stop_due = now + Durations.STOP * self.time_scale
                if now < run.stop_due:
                    continue
                (auto,) = run.stop_request
                run.stop_request = None
                run.gen.close()
                run.stop(auto)
                continue
            if poll_alarms(run):  # an alarm in ALARM stops the deployment (alarms.py)
                continue
            steps = 0
            while not run.done and run.due <= now and steps < 1000:
                steps += 1
                run.hold = None
                try:
                    step = next(run.gen)
                except StopIteration:
                    run.done = True
                    break
                except DeploymentError as error:
                    run.fail(error)
                    break
                except Exception as error:  # a bug or moto surprise must not kill the ticker
                    run.fail(DeploymentError("INTERNAL_ERROR", f"{type(error).__name__}: {error}"))
                    break
                # Due times chain from the previous due time, so a late tick does not stretch the deployment.
                base = run.due if run.due > 0 else now
                if isinstance(step, Hold):
                    run.hold = step
                    run.continued = False
                    run.due = base + step.timeout * self.time_scale
                else:
                    run.due = base + step * self.time_scale

    # ---- called by the moto extensions (under LOCK) ------------------------------------------
    def config_for(self, deployment: Any) -> Any:
        from orchestrator.sandbox.codedeploy_backend import find_config

        return find_config(self.runs[deployment.deployment_id].backend, str(deployment.deployment_config_name))

    def rollback_enabled(self, deployment: Any, event: str) -> bool:
        config = deployment.auto_rollback_configuration or deployment.deployment_group.auto_rollback_configuration
        config = config or {}
        return bool(config.get("enabled")) and event in (config.get("events") or [])

    def begin(self, backend: Any, deployment: Any, faults: DeploymentFaults) -> Run:
        run = Run(self, backend, deployment, faults)
        run.due = time.monotonic()
        self.runs[deployment.deployment_id] = run
        self._wake.set()
        return run

    def start_rollback(self, run: Run, reason: str) -> Run:
        from orchestrator.sandbox.codedeploy_backend import create_rollback_deployment

        d = run.deployment
        rollback = create_rollback_deployment(run.backend, d)
        rollback.rollback_info = {  # type: ignore[attr-defined]
            "rollbackTriggeringDeploymentId": d.deployment_id,
            "rollbackMessage": f"Deployment {rollback.deployment_id} is a rollback of deployment {d.deployment_id}.",
        }
        d.rollback_info = {
            "rollbackDeploymentId": rollback.deployment_id,
            "rollbackMessage": f"{reason}; rolled back by deployment {rollback.deployment_id}.",
        }
        new = Run(self, run.backend, rollback, DeploymentFaults(), rollback_of=run)
        new.due = time.monotonic()
        self.runs[rollback.deployment_id] = new
        self._wake.set()
        return new

    def request_stop(self, deployment_id: str, auto_rollback: bool | None) -> None:
        run = self.runs[deployment_id]
        run.stop_request = (auto_rollback,)
        self._wake.set()

    def request_continue(self, deployment_id: str) -> None:
        run = self.runs[deployment_id]
        run.continued = True
        run.due = 0.0
        self._wake.set()

    def wake(self, deployment_id: str) -> None:
        """Resume a run now (a hook reported before its timeout)."""
        self.runs[deployment_id].due = 0.0
        self._wake.set()

    def target_of(self, deployment_id: str) -> dict[str, Any] | None:
        run = self.runs.get(deployment_id)
        return run.target() if run else None

    def status(self) -> dict[str, Any]:
        return {
            "time_scale": self.time_scale,
            "active_deployments": sorted(i for i, r in self.runs.items() if not r.done),
            "durations": {k: v for k, v in vars(Durations).items() if k.isupper()},  # simulated seconds
        }


ENGINE = Engine()

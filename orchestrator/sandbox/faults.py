"""Fault injection and request accounting for the sandbox (state only; the HTTP side is in middleware.py).

Two kinds of fault:
- per deployment (`fail_at`, `message`, `unhealthy` with `health_reason`/`health_code`, `crash_exit_code`
  with `crash_log`/`crash_reason`): armed now, consumed by the NEXT create_deployment;
  armed for a deployment group (by its name), consumed by the next deployment created on that group
  only (several groups may hold faults at once); a group's own faults go before the unscoped ones;
- per call (`throttle`, `latency_ms`, `error_rate`): apply to every AWS call until cleared;
  `error_after_rate` (optionally only for `error_after_actions`) lets the call be processed, then
  answers HTTP 500 anyway, as when AWS commits a write and the answer is lost; `list_lag` makes list and
  batch reads lag behind writes (consistency.py).
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict, deque
from dataclasses import asdict, dataclass, field
from typing import Any

from orchestrator.lifecycle import LIFECYCLE_EVENTS


class FaultError(ValueError):
    """A bad fault setting (the control endpoint answers HTTP 400)."""


# Target health reason codes a failing health check can give (ELBv2 API reference, TargetHealth).
HEALTH_REASONS = ("Target.ResponseCodeMismatch", "Target.Timeout", "Target.FailedHealthChecks")


@dataclass
class DeploymentFaults:
    fail_at: str | None = None
    message: str | None = None
    unhealthy: bool = False
    health_reason: str | None = None  # with unhealthy: the target health reason code (FailedHealthChecks)
    health_code: int | None = None  # with unhealthy: the HTTP code the health check gets (ResponseCodeMismatch)
    crash_exit_code: int | None = None  # the replacement tasks' essential container exits with this code
    crash_log: list[str] = field(default_factory=list)  # ... after writing these lines
    crash_reason: str | None = None  # ... and ECS gives the container this reason

    @property
    def armed(self) -> bool:
        return self.fail_at is not None or self.unhealthy or self.crash_exit_code is not None


DEPLOYMENT_KEYS = frozenset(DeploymentFaults.__dataclass_fields__)


@dataclass
class Faults:
    fail_at: str | None = None
    message: str | None = None
    unhealthy: bool = False
    health_reason: str | None = None
    health_code: int | None = None
    crash_exit_code: int | None = None
    crash_log: list[str] = field(default_factory=list)
    crash_reason: str | None = None
    throttle: float = 0.0
    latency_ms: int = 0
    error_rate: float = 0.0
    error_after_rate: float = 0.0
    error_after_actions: list[str] = field(default_factory=list)  # empty: every action
    list_lag: float = 0.0  # simulated seconds list and batch reads lag behind writes (consistency.py)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fraction(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise FaultError(f"{name} must be a number between 0 and 1") from exc
    if not 0.0 <= number <= 1.0:
        raise FaultError(f"{name} must be between 0 and 1, got {number}")
    return number


def _code(name: str, value: Any, bounds: tuple[int, int]) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not bounds[0] <= value <= bounds[1]:
        raise FaultError(f"{name} must be an integer between {bounds[0]} and {bounds[1]}")
    return value


class FaultState:
    """Thread-safe current faults."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._lock = threading.Lock()
        self._faults = Faults()
        self._groups: dict[str, DeploymentFaults] = {}  # deployment group name -> its next deployment's faults
        self._rng = rng or random.Random()

    def _dict(self) -> dict[str, Any]:
        return self._faults.to_dict() | {"groups": {name: asdict(f) for name, f in sorted(self._groups.items())}}

    def get(self) -> dict[str, Any]:
        """The faults, and under "groups" each deployment group's armed per-deployment faults."""
        with self._lock:
            return self._dict()

    def update(self, changes: dict[str, Any], group: str | None = None) -> dict[str, Any]:
        """Merge `changes` (keys of Faults; None clears one) after validating all of them; with `group`,
        only per-deployment keys, armed for the next deployment on that deployment group."""
        unknown = set(changes) - set(Faults.__dataclass_fields__)
        if unknown:
            raise FaultError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        if group is not None:
            per_call = sorted(set(changes) - DEPLOYMENT_KEYS)
            if per_call:
                raise FaultError(
                    f"{', '.join(per_call)} apply to every call, not to one deployment group: "
                    f"a group takes {', '.join(sorted(DEPLOYMENT_KEYS))}"
                )
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            if key == "fail_at":
                if value is not None and value not in LIFECYCLE_EVENTS:
                    raise FaultError(f"fail_at must be one of {', '.join(LIFECYCLE_EVENTS)}, got {value!r}")
                clean[key] = value
            elif key == "message":
                clean[key] = None if value is None else str(value)
            elif key == "unhealthy":
                clean[key] = bool(value)
            elif key == "health_reason":
                if value is not None and value not in HEALTH_REASONS:
                    raise FaultError(f"health_reason must be one of {', '.join(HEALTH_REASONS)}, got {value!r}")
                clean[key] = value
            elif key in ("health_code", "crash_exit_code"):
                clean[key] = _code(key, value, (100, 599) if key == "health_code" else (0, 255))
            elif key == "crash_log":
                if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
                    raise FaultError("crash_log must be a list of strings")
                clean[key] = list(value or [])
            elif key == "crash_reason":
                clean[key] = None if value is None else str(value)
            elif key == "error_after_actions":
                if value is None:
                    value = []
                if isinstance(value, str):
                    value = [value]
                if not isinstance(value, list) or not all(isinstance(a, str) and a for a in value):
                    raise FaultError("error_after_actions must be a list of action names, e.g. CreateDeployment")
                clean[key] = list(value)
            elif key in ("throttle", "error_rate", "error_after_rate"):
                clean[key] = 0.0 if value is None else _fraction(key, value)
            elif key == "list_lag":
                try:
                    lag = 0.0 if value is None else float(value)
                except (TypeError, ValueError) as exc:
                    raise FaultError("list_lag must be a number of simulated seconds") from exc
                if not 0 <= lag <= 3600:
                    raise FaultError("list_lag must be between 0 and 3600 simulated seconds")
                clean[key] = lag
            elif key == "latency_ms":
                try:
                    latency = 0 if value is None else int(value)
                except (TypeError, ValueError) as exc:
                    raise FaultError("latency_ms must be an integer") from exc
                if not 0 <= latency <= 60_000:
                    raise FaultError("latency_ms must be between 0 and 60000")
                clean[key] = latency
        with self._lock:
            target: Faults | DeploymentFaults = self._faults
            if group is not None:
                target = self._groups.setdefault(group, DeploymentFaults())
            for key, value in clean.items():
                setattr(target, key, value)
            if group is not None and not self._groups[group].armed:
                del self._groups[group]  # a message alone arms nothing
            return self._dict()

    def clear(self, group: str | None = None) -> dict[str, Any]:
        """Remove every fault, or only those armed for `group`."""
        with self._lock:
            if group is None:
                self._faults = Faults()
                self._groups.clear()
            else:
                self._groups.pop(group, None)
            return self._dict()

    def take_deployment_faults(self, group: str | None = None) -> DeploymentFaults:
        """Hand the per-deployment faults to the deployment being created on `group`, and disarm them:
        the group's own when it has some, else the unscoped ones (next deployment on any group)."""
        with self._lock:
            if group is not None and group in self._groups:
                return self._groups.pop(group)
            f = self._faults
            taken = DeploymentFaults(**{key: getattr(f, key) for key in DEPLOYMENT_KEYS})
            for key in DEPLOYMENT_KEYS:
                setattr(f, key, getattr(Faults(), key))
            return taken

    def call_fault(self) -> tuple[int, str | None]:
        """(latency in ms, None | "throttle" | "error") for one AWS call."""
        with self._lock:
            f = self._faults
            outcome = None
            if f.throttle and self._rng.random() < f.throttle:
                outcome = "throttle"
            elif f.error_rate and self._rng.random() < f.error_rate:
                outcome = "error"
            return f.latency_ms, outcome

    def error_after(self, action: str) -> bool:
        """Whether this processed call's answer is replaced by HTTP 500."""
        with self._lock:
            f = self._faults
            if not f.error_after_rate or (f.error_after_actions and action not in f.error_after_actions):
                return False
            return self._rng.random() < f.error_after_rate


# Calls kept with their times for windowed reads: a 20-service benchmark makes a few thousand a minute.
MAX_TIMED_CALLS = 1_000_000


class RequestCounter:
    """Counts of AWS calls per service and action, each call's time kept for windowed reads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._calls: deque[tuple[float, str, str]] = deque(maxlen=MAX_TIMED_CALLS)  # (epoch s, service, action)
        self._since = time.time()

    def add(self, service: str, action: str) -> None:
        with self._lock:
            self._counts[service][action] += 1
            self._calls.append((time.time(), service, action))

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {service: dict(actions) for service, actions in self._counts.items()}

    def window(self, since: float | None = None, until: float | None = None) -> dict[str, Any]:
        """Calls made in [since, until] (epoch seconds; default: the last reset and now) per service and
        action, their total and the rate per minute over the window."""
        with self._lock:
            now = time.time()
            start = self._since if since is None else max(float(since), self._since)
            end = now if until is None else min(float(until), now)
            if end < start:
                raise ValueError(f"the window ends ({end:.3f}) before it starts ({start:.3f})")
            counts: dict[str, dict[str, int]] = {}
            for at, service, action in self._calls:
                if start <= at <= end:
                    actions = counts.setdefault(service, {})
                    actions[action] = actions.get(action, 0) + 1
            total = sum(n for actions in counts.values() for n in actions.values())
            elapsed = end - start
            return {
                "since": start,
                "until": end,
                "elapsed_s": elapsed,
                "calls": total,
                "calls_per_minute": total * 60.0 / elapsed if elapsed > 0 else 0.0,
                "counts": counts,
            }

    def reset(self) -> float:
        """Forget the counts; returns the time (epoch seconds) the new count starts."""
        with self._lock:
            self._counts.clear()
            self._calls.clear()
            self._since = time.time()
            return self._since


FAULTS = FaultState()
REQUESTS = RequestCounter()

"""Faults of ECS service deployments, per service, behind /_sandbox/ecs/ (the control endpoint).

- Per deployment, consumed by the NEXT service deployment (of `service`, or of any service when no
  service is named): `fail_at` a lifecycle stage (the stage fails after running a while; the deployment
  rolls back), `unhealthy` (new tasks fail their load balancer health checks), `no_start` (new tasks
  never start: CannotPullContainerError, or the text given).
- Hook rules, kept until cleared: answer the lifecycle hooks of a stage (or of a Lambda function, by
  name or ARN) with `succeed`, `fail`, `in-progress` (IN_PROGRESS answers until cleared) or `silent`
  (no answer: the hook times out), after `delay` simulated seconds.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

STAGES = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
)
RESULTS = ("succeed", "fail", "in-progress", "silent")
DEFAULT_DELAY = 5.0
DEFAULT_NO_START = "CannotPullContainerError: pull image manifest has been retried 5 time(s)"


class EcsFaultError(ValueError):
    """A bad setting (the control endpoint answers HTTP 400)."""


@dataclass
class ServiceFaults:
    fail_at: str | None = None
    message: str | None = None
    unhealthy: bool = False
    no_start: str | None = None

    @property
    def armed(self) -> bool:
        return bool(self.fail_at or self.unhealthy or self.no_start)


@dataclass(frozen=True)
class HookRule:
    result: str
    delay: float = DEFAULT_DELAY


class EcsFaults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[str | None, ServiceFaults] = {}
        self._rules: dict[tuple[str | None, str], HookRule] = {}

    def get(self) -> dict[str, Any]:
        with self._lock:
            return {
                "next": {k or "*": asdict(v) for k, v in self._next.items()},
                "hooks": {f"{s or '*'}/{h}": asdict(r) for (s, h), r in self._rules.items()},
            }

    def arm(self, service: str | None, settings: dict[str, Any]) -> dict[str, Any]:
        unknown = set(settings) - {"fail_at", "message", "unhealthy", "no_start"}
        if unknown:
            raise EcsFaultError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        fail_at = settings.get("fail_at")
        if fail_at is not None and fail_at not in STAGES:
            raise EcsFaultError(f"fail_at must be one of {', '.join(STAGES)}, got {fail_at!r}")
        no_start = settings.get("no_start")
        faults = ServiceFaults(
            fail_at=fail_at,
            message=None if settings.get("message") is None else str(settings["message"]),
            unhealthy=bool(settings.get("unhealthy")),
            no_start=(DEFAULT_NO_START if no_start is True else str(no_start)) if no_start else None,
        )
        if not faults.armed:
            raise EcsFaultError("nothing to arm: give fail_at, unhealthy or no_start")
        with self._lock:
            self._next[service] = faults
        return self.get()

    def set_rule(self, service: str | None, hook: Any, result: Any, delay: Any = None) -> dict[str, Any]:
        if not isinstance(hook, str) or not hook.strip():
            raise EcsFaultError("hook must be a lifecycle stage or a Lambda function name or ARN")
        if result not in RESULTS:
            raise EcsFaultError(f"result must be one of {', '.join(RESULTS)}, got {result!r}")
        try:
            seconds = DEFAULT_DELAY if delay is None else float(delay)
        except (TypeError, ValueError):
            raise EcsFaultError("delay must be a number of seconds") from None
        if seconds < 0:
            raise EcsFaultError("delay must be 0 or more")
        with self._lock:
            self._rules[(service, hook.strip())] = HookRule(str(result), seconds)
        return self.get()

    def clear(self, service: str | None = None) -> dict[str, Any]:
        with self._lock:
            if service is None:
                self._next.clear()
                self._rules.clear()
            else:
                self._next.pop(service, None)
                self._rules = {k: v for k, v in self._rules.items() if k[0] != service}
        return self.get()

    def take(self, service: str) -> ServiceFaults:
        """The faults of the deployment starting now on `service` (its own first), disarmed."""
        with self._lock:
            return self._next.pop(service, None) or self._next.pop(None, None) or ServiceFaults()

    def rule(self, service: str, stage: str, names: tuple[str, ...]) -> HookRule | None:
        with self._lock:
            for scope in (service, None):
                for key in (*names, stage):
                    if (scope, key) in self._rules:
                        return self._rules[(scope, key)]
        return None


ECS_FAULTS = EcsFaults()

"""HTTP client of the sandbox's control endpoint (/_sandbox/ on the sandbox's own port); stdlib only."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

READ_PREFIXES = ("Describe", "List", "Get", "BatchGet")
# Reads without a read prefix: IAM's policy simulator only evaluates policies.
READ_ACTIONS = frozenset({"SimulatePrincipalPolicy", "SimulateCustomPolicy"})


def is_read(action: str) -> bool:
    """Whether a counted action ("Action" or REST "METHOD /path") only reads."""
    return action.startswith(READ_PREFIXES) or action in READ_ACTIONS or action.startswith(("GET ", "HEAD "))


class ControlError(RuntimeError):
    """The control endpoint refused a request (bad fault setting) or cannot be reached."""


class SandboxControl:
    def __init__(self, endpoint: str, timeout: float = 10.0) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.endpoint}/_sandbox{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read()).get("error", "")
            except (ValueError, AttributeError):
                detail = ""
            raise ControlError(detail or f"HTTP {exc.code} from {method} /_sandbox{path}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise ControlError(f"cannot reach the sandbox at {self.endpoint}: {exc}") from exc

    def health(self) -> dict[str, Any]:
        return dict(self._call("GET", "/health"))

    def faults(self) -> dict[str, Any]:
        return dict(self._call("GET", "/faults"))

    def set_faults(
        self,
        *,
        fail_at: str | None = None,
        message: str | None = None,
        unhealthy: bool | None = None,
        throttle: float | None = None,
        latency_ms: int | None = None,
        error_rate: float | None = None,
        error_after_rate: float | None = None,
        error_after_actions: list[str] | None = None,
        health_reason: str | None = None,
        health_code: int | None = None,
        crash_exit_code: int | None = None,
        crash_log: list[str] | None = None,
        crash_reason: str | None = None,
        list_lag: float | None = None,
        group: str | None = None,
    ) -> dict[str, Any]:
        """Set the given faults (others keep their value); returns all current faults. With `group` (a
        deployment group's name), the per-deployment faults (fail_at, message, unhealthy with health_reason and
        health_code, crash_exit_code with crash_log and crash_reason) apply to the next deployment on that
        group only."""
        changes = {
            key: value
            for key, value in {
                "fail_at": fail_at,
                "message": message,
                "unhealthy": unhealthy,
                "throttle": throttle,
                "latency_ms": latency_ms,
                "error_rate": error_rate,
                "error_after_rate": error_after_rate,
                "error_after_actions": error_after_actions,
                "health_reason": health_reason,
                "health_code": health_code,
                "crash_exit_code": crash_exit_code,
                "crash_log": crash_log,
                "crash_reason": crash_reason,
                "list_lag": list_lag,
            }.items()
            if value is not None
        }
        if group is not None:
            changes["group"] = group
        return dict(self._call("POST", "/faults", changes))

    def clear_faults(self, group: str | None = None) -> dict[str, Any]:
        """Remove every fault (hook rules and task faults too), or only those armed for `group`."""
        return dict(self._call("DELETE", "/faults", {"group": group} if group is not None else None))

    def groups(self) -> list[str]:
        """The names of the sandbox's CodeDeploy deployment groups."""
        return list(self._call("GET", "/groups")["groups"])

    def hook_rules(self) -> dict[str, dict[str, Any]]:
        """Hook rules by lifecycle event or function name: {"result": ..., "delay": simulated seconds}."""
        return dict(self._call("GET", "/hooks"))

    def set_hook_rule(
        self, hook: str, result: str, delay: float | None = None, group: str | None = None
    ) -> dict[str, dict[str, Any]]:
        """Answer the hook of this lifecycle event or function: succeed | fail (after delay) | silent; with
        `group`, only in that deployment group's deployments."""
        body: dict[str, Any] = {"hook": hook, "result": result}
        if delay is not None:
            body["delay"] = delay
        if group is not None:
            body["group"] = group
        return dict(self._call("POST", "/hooks", body))

    def clear_hook_rules(self, group: str | None = None) -> None:
        self._call("DELETE", "/hooks", {"group": group} if group is not None else None)

    def task_faults(self) -> dict[str, Any]:
        """How the next RunTask's tasks end (tasks.py): exit_code, log, run_seconds, no_start."""
        return dict(self._call("GET", "/tasks"))

    def set_task_faults(
        self,
        *,
        exit_code: int | None = None,
        log: list[str] | None = None,
        run_seconds: float | None = None,
        no_start: str | bool | None = None,
    ) -> dict[str, Any]:
        """Arm these for the next RunTask (no_start: True or a stoppedReason); returns all armed task faults."""
        changes = {
            key: value
            for key, value in {
                "exit_code": exit_code,
                "log": log,
                "run_seconds": run_seconds,
                "no_start": no_start,
            }.items()
            if value is not None
        }
        return dict(self._call("POST", "/tasks", changes))

    def seed_history(self, group: str, count: int) -> dict[str, Any]:
        """Add `count` finished deployments (with their revisions) to a deployment group's history at once:
        {"group", "seeded", "first", "last"} (sandbox/history.py)."""
        return dict(self._call("POST", "/history", {"group": group, "count": count}))

    def request_counts(self) -> dict[str, dict[str, int]]:
        return {service: dict(actions) for service, actions in self._call("GET", "/requests").items()}

    def reset_requests(self) -> float:
        """Start counting afresh; returns when the new count starts (epoch seconds, the sandbox's clock)."""
        return float(self._call("POST", "/requests/reset")["since"])

    def request_window(self, since: float | None = None, until: float | None = None) -> dict[str, Any]:
        """AWS calls in [since, until] (epoch seconds; default: the last reset and now): "counts" per service
        and action, "calls" in all, "elapsed_s" and "calls_per_minute" over the window, "since"/"until"."""
        query = urllib.parse.urlencode({k: repr(v) for k, v in (("since", since), ("until", until)) if v is not None})
        return dict(self._call("GET", "/requests/window" + (f"?{query}" if query else "")))

    def mutating_calls(self) -> list[str]:
        """ "service:Action" of every counted call that is not a read (see is_read)."""
        return sorted(
            f"{service}:{action}"
            for service, actions in self.request_counts().items()
            for action in actions
            if not is_read(action)
        )

    def reset(self) -> None:
        """Forget all resources, deployments, faults and counts."""
        self._call("POST", "/reset")

    def time_scale(self, value: float | None = None) -> float:
        result = self._call("POST", "/config", {"time_scale": value}) if value else self._call("GET", "/config")
        return float(result["time_scale"])

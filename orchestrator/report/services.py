"""What every renderer needs for a command that acts on several services (issue 13): a line's service
prefix, each service's outcome from the summary, and the service states' words.

Kept apart from the renderers (and free of rich) so that plain lines, the pipe-safe stderr fallback,
the console and the GitHub reporter say the same thing the same way.
"""

from __future__ import annotations

import re
from typing import Any

from orchestrator.events import Event, Summary

# ServiceState states after which a row no longer changes (events.SERVICE_STATES).
FINAL_STATES = frozenset(
    {"succeeded", "traffic-shifted", "failed", "stopped", "rolled-back", "skipped", "not-followed"}
)
# States of a service that failed or is being undone: the console shows their reason in red.
BAD_STATES = frozenset({"failed", "stopped", "stopping", "rolled-back", "rolling-back"})
# A service's end that its deployment lines may not tell (a failed registration or pre-task, a skip, an
# --atomic rollback): the stderr fallback writes these ServiceState lines once stdout is gone.
UNTOLD_ENDS = frozenset({"failed", "stopped", "rolled-back", "skipped"})
# A service's summary status that is a failure of that service (`RolledBack` under --atomic is not:
# the service itself succeeded and was undone because another one failed).
FAILED_STATUSES = frozenset(
    {"Failed", "Stopped", "TimedOut", "Interrupted", "StopRequested", "Unknown", "PreTaskFailed", "AwsRefused"}
)
OK_STATUSES = frozenset({"Succeeded", "traffic-shifted", "Created"})
UNDONE_STATUSES = frozenset({"RolledBack", "Skipped"})


def prefixed(event: Event, text: str | None = None) -> str:
    """The event's plain text; with a service key, every line starts with `[key] `."""
    text = event.describe() if text is None else text
    if event.service_key is None:
        return text
    return "\n".join(f"[{event.service_key}] {line}" for line in text.split("\n"))


def services_of(summary: Summary) -> dict[str, dict[str, Any]]:
    """The summary's per-service outcomes (`services`), in the order of FleetStarted; {} for one service,
    and when no service has an outcome yet (bad input found before anything ran, a dry run)."""
    services = summary.result.get("services")
    if not isinstance(services, dict):
        return {}
    found = {str(k): v if isinstance(v, dict) else {"status": v} for k, v in services.items()}
    return found if any(s.get("status") for s in found.values()) else {}


def short_arn(arn: Any) -> str:
    """family:revision of a task definition ARN."""
    return str(arn).rsplit("/", 1)[-1] if arn else ""


def outcome_text(key: str, service: dict[str, Any]) -> str:
    """`web Succeeded`, `api RolledBack (serving demo-api:6)`."""
    status = str(service.get("status") or "?")
    serving = short_arn(service.get("serving_task_definition"))
    return f"{key} {status}" + (f" (serving {serving})" if serving and status not in OK_STATUSES else "")


def summary_line(summary: Summary) -> str:
    """The summary's plain line; with several services, each service's outcome after it."""
    services = services_of(summary)
    if not services:
        return summary.describe()
    return " · ".join([summary.describe(), *(outcome_text(k, s) for k, s in services.items())])


def failed_services(summary: Summary) -> dict[str, dict[str, Any]]:
    """The services that failed themselves, not those rolled back or skipped because another failed
    (under --atomic these have a `reason` too: `stopped: api failed (--atomic)`)."""
    return {
        k: s
        for k, s in services_of(summary).items()
        if str(s.get("status")) in FAILED_STATUSES or (s.get("reason") and s.get("status") not in UNDONE_STATUSES)
    }


_NOT_NAME = re.compile(r"[^A-Za-z0-9_]")


def output_name(key: str) -> str:
    """A service key as a GitHub step output name prefix: letters, digits and `_` only, not starting
    with a digit, so that `steps.<id>.outputs.<key>_status` works in an expression."""
    name = _NOT_NAME.sub("_", key)
    return name if name and not name[0].isdigit() else f"_{name}"

"""One typed result for every command's summary (the JSON lines' last object, `event: "summary"`).

Every summary has the same keys: `command`, `ok`, `exit_code`, `status` (how it ended), `reason` (a
failure's one line, exactly the `error:` line; absent on success), `details` (what a failure's one line
leaves out, when there is more), and `message` (what a command that did only part of the work did:
`--no-wait`, `--dry-run`). The command's own data (deployment id, image, ...) stays beside them at the
top level, as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestrator.events import Summary

if TYPE_CHECKING:
    from orchestrator.errors import OrchestratorError
    from orchestrator.events import Summary

# How a command ended, by exit code, when the command says nothing more precise (release: "Failed",
# "RolledBack", "TimedOut", ... from the deployment).
STATUS_OF_EXIT = {0: "Succeeded", 1: "Failed", 2: "BadInput", 3: "TimedOut", 4: "AwsRefused", 130: "Interrupted"}


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_code: int = 0
    status: str | None = None  # default: from the fields, else from the exit code
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)  # the command's own data

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @classmethod
    def failed(cls, command: str, exc: OrchestratorError, fields: dict[str, Any] | None = None) -> CommandResult:
        """The result of a command that ends with `exc`: its reason is the `error:` line."""
        data = dict(fields or {})
        details = {**(data.pop("details", None) or {}), **exc.details}
        data.pop("reason", None)
        return cls(command, int(exc.exit_code), data.pop("status", None), str(exc), details, data)

    def summary(self) -> Summary:

        data = dict(self.fields)
        status = self.status or data.pop("status", None) or STATUS_OF_EXIT.get(self.exit_code, "Failed")
        data.pop("status", None)
        result: dict[str, Any] = {**data, "status": status}
        if self.reason:
            result["reason"] = self.reason
        if self.details:
            result["details"] = self.details
        return Summary(self.command, self.ok, self.exit_code, result)

"""The next steps the domain suggests, typed; only the CLI spells them as command lines.

The domain says "follow it with `{lines.line(Next.FOLLOW)}`"; the CLI's CommandLines implementation
(commands.common.CliLines) knows the command's name and the options that name the target again."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class Next(StrEnum):
    FOLLOW = "follow"  # watch the deployment to its end
    STATUS = "status"
    STOP = "stop"
    HISTORY = "history"
    APPROVE_TERMINATION_WAIT = "approve-termination-wait"  # end the termination wait now


class CommandLines(Protocol):
    def line(self, step: Next, *, service: str | None = None, all_services: bool = False) -> str:
        """The command line of `step` for this target: one service (the command's own by default) or all."""
        ...


class Unspelled:
    """Where no CLI spells the steps (library use, unit tests): the step's name and whose it is."""

    def line(self, step: Next, *, service: str | None = None, all_services: bool = False) -> str:
        return f"{step}" + (f" --service {service}" if service else " --all" if all_services else "")

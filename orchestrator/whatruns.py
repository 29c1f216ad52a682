"""What is true of a followed deployment when the command is interrupted, read once.

A Ctrl-C can come between two polls: the deployment may have failed meanwhile, and the engine's
automatic rollback is then what runs. The message names that rollback and the failure that caused it,
never the failed deployment as "still running".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from orchestrator.engines.select import engine_for
from orchestrator.interrupts import deferred_interrupts

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.contract import ServiceOutputs


@dataclass(frozen=True)
class Running:
    deployment_id: str
    status: str | None = None  # the engine's status now; None when it could not be read
    ended: bool = False
    rollback_deployment_id: str | None = None
    why: str | None = None  # the failure's first clue

    def phrase(self) -> str:
        """`d-1 is still running`, `d-1 failed (why); its automatic rollback d-2 is still running`, ..."""
        dep = self.deployment_id
        if not self.ended:
            return f"deployment {dep} is still running"
        why = f" ({self.why})" if self.why else ""
        what = (self.status or "ended").lower()
        if self.rollback_deployment_id:
            return (
                f"deployment {dep} {what}{why}; its automatic rollback {self.rollback_deployment_id} is still running"
            )
        return f"deployment {dep} had already ended: {what}{why}"


def now_running(aws: Aws, service: ServiceOutputs, deployment_id: str) -> Running:
    """Read the deployment once (its failure's clues too when it ended badly); on any error, assume it
    still runs: an interrupt's message must not fail."""
    engine = engine_for(service)
    try:
        with deferred_interrupts():
            view = engine.describe(aws, deployment_id)
            if not view.terminal:
                return Running(deployment_id, view.status)
            clues = engine.failure_clues(aws, view, service) if view.status != "Succeeded" else []
    except Exception:
        return Running(deployment_id)
    return Running(deployment_id, view.status, True, view.rollback_deployment_id, clues[0] if clues else None)

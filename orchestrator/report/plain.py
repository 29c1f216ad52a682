"""Plain lines for logs and pipes: one line per change, no colour, no cursor movement."""

from __future__ import annotations

from typing import TextIO

from orchestrator.events import DeploymentProgress, Event, WaitStarted


class PlainReporter:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._last: str | None = None
        self._wait: tuple[str, str, str] | None = None

    def emit(self, event: Event) -> None:
        if isinstance(event, WaitStarted):
            # Re-emitted with every change during the wait: one line when a wait begins.
            wait = (event.deployment_id, event.wait, event.label)
            if wait == self._wait:
                return
            self._wait = wait
        line = event.describe()
        # Progress is re-emitted on every poll that changes something; elapsed time alone is no change.
        key = line.rsplit(" · ", 1)[0] if isinstance(event, DeploymentProgress) else None
        if key is not None and key == self._last:
            return
        self._last = key
        self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()

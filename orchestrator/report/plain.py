"""Plain lines for logs and pipes: one line per change, no colour, no cursor movement."""

from __future__ import annotations

from typing import TextIO

from orchestrator.events import DeploymentProgress, DoctorCheck, Event, HistoryEntry, StatusReport, WaitStarted

# The reports of `status`, `history` and `doctor` for several services: one section per service, under
# a `── KEY ──` line.
SECTIONED = (StatusReport, HistoryEntry, DoctorCheck)


def section_title(service_key: str) -> str:
    return f"── {service_key} ──"


class PlainReporter:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._last: str | None = None
        self._wait: tuple[str, str, str] | None = None
        self._section: str | None = None

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
        if isinstance(event, SECTIONED) and event.service_key is not None and event.service_key != self._section:
            self._section = event.service_key
            self.stream.write(section_title(event.service_key) + "\n")
        self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()

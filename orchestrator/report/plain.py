"""Plain lines for logs and pipes: one line per change, no colour, no cursor movement.

When a command acts on several services, each event of a service carries its key and its line starts
with `[key] `; repeats are recognised per service, because the services' lines interleave."""

from __future__ import annotations

from dataclasses import replace
from typing import TextIO

from orchestrator.events import DeploymentFinished, DeploymentProgress, Event, ServiceState, Summary, WaitStarted
from orchestrator.report.services import prefixed, summary_line


class PlainReporter:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        # Per service key (None: a single-service command): the last progress line, the current wait.
        self._last: dict[str | None, str | None] = {}
        self._wait: dict[str | None, tuple[str, str, str]] = {}
        # Per service key: the reason its last deployment_finished line gave, which its state line
        # (`[api] failed (d-…): <the same reason>`) then does not repeat.
        self._told: dict[str | None, str] = {}
        # Per service key: the ECS service event last printed (a line of its own when a new one comes).
        self._service_event: dict[str | None, str] = {}

    def emit(self, event: Event) -> None:
        service = event.service_key
        if isinstance(event, WaitStarted):
            # Re-emitted with every change during the wait: one line when a wait begins.
            wait = (event.deployment_id, event.wait, event.label)
            if wait == self._wait.get(service):
                return
            self._wait[service] = wait
        if isinstance(event, DeploymentFinished) and not event.failed_command:
            self._told[service] = event.reason
        elif isinstance(event, ServiceState) and event.detail and event.detail == self._told.get(service):
            event = replace(event, detail="")
        if isinstance(event, DeploymentProgress) and event.service_event != self._service_event.get(service, ""):
            # A new ECS service event: a line of its own (it may come with no other change).
            self._service_event[service] = event.service_event
            if event.service_event:
                self.stream.write(prefixed(event, f"{event.deployment_id} ECS: {event.service_event}") + "\n")
        line = summary_line(event) if isinstance(event, Summary) else event.describe()
        # Progress is re-emitted on every poll that changes something; elapsed time alone is no change.
        key = line.rsplit(" · ", 1)[0] if isinstance(event, DeploymentProgress) else None
        if key is not None and key == self._last.get(service):
            return
        self._last[service] = key
        self.stream.write(prefixed(event, line) + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()

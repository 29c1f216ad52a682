"""The rich live console: one panel that follows a deployment, with log lines above it.

The panel shows the deployment id and its console link, the status, the elapsed time (ticking between
polls), every lifecycle event with its status and duration, and a bar of production traffic between
the original and the replacement task sets, with their target groups.
Other events print as lines above the panel; the summary ends the live display. `doctor` checks and
`history` entries are collected and printed as one table each when the summary (or close) arrives.

A command that acts on several services opens with `FleetStarted`: then the panel has one row per
service (state, the lifecycle event in progress, deployment, a compact traffic split, elapsed time and
a failed service's reason), the services' other lines are printed above it with `[key]`, and the
summary adds a table of each service's outcome.
"""

from __future__ import annotations

import time
from typing import Any, TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from orchestrator.events import (
    DeploymentCreated,
    DeploymentFinished,
    DeploymentProgress,
    DoctorCheck,
    Event,
    FleetStarted,
    HistoryEntry,
    LifecycleChanged,
    LifecycleStatus,
    Message,
    PlanRendered,
    ReplacementHealth,
    ServiceState,
    StepStarted,
    Summary,
    WaitStarted,
    clock_text,
)
from orchestrator.lifecycle import LIFECYCLE_EVENTS
from orchestrator.report.fleet_panel import FINISHED_STATE, FleetPanel
from orchestrator.report.hints import INDENT, lift_commands
from orchestrator.report.services import FINAL_STATES, prefixed, services_of
from orchestrator.report.tables import STATUS_STYLE, doctor_table, history_table, services_table
from orchestrator.report.tables import short_image as short_image  # re-exported: tests and callers use it here
from orchestrator.report.traffic import TrafficLine
from orchestrator.report.traffic import compact_traffic as compact_traffic  # re-exported
from orchestrator.report.traffic import traffic_bar as traffic_bar  # re-exported

_STYLE = {
    "Succeeded": ("✔", "green"),
    "InProgress": ("●", "yellow"),
    "Pending": ("·", "dim"),
    "Failed": ("✘", "bold red"),
    "Skipped": ("-", "dim"),
    "Ready": ("⏸", "cyan"),
    "Unknown": ("?", "dim"),
}


def _duration(event: LifecycleStatus) -> str:
    if event.duration_s is not None:
        return f"{event.duration_s:.1f}s"
    return "…" if event.status == "InProgress" else ""


class _Panel:
    """What the live display renders; computes the elapsed time at each refresh."""

    def __init__(self) -> None:
        self.deployment_id = ""
        self.status = "Creating"
        self.lifecycle: tuple[LifecycleStatus, ...] = ()
        self.blue: float | None = None
        self.green: float | None = None
        self.target_groups: tuple[str | None, str | None] = (None, None)
        self.started = time.monotonic()
        self.ended: float | None = None
        self.reason = ""
        self.wait: WaitStarted | None = None  # what it waits for, as of wait_at (monotonic)
        self.wait_at = 0.0
        self.replacement: ReplacementHealth | None = None
        self.service_event = ""

    def wait_line(self, now: float) -> Text | None:
        """`waiting: <label> · 4m58s left of 5m00s`, counting down between polls."""
        if self.wait is None or self.ended is not None:
            return None
        left = max(0.0, self.wait.remaining_s - (now - self.wait_at))
        text = Text("waiting: ", style="cyan")
        text.append(self.wait.label)
        text.append(f" · {clock_text(left)} left of {clock_text(self.wait.total_s)}", style="bold cyan")
        return text

    def replacement_lines(self) -> list[Text]:
        """`replacement: 2/2 running · 0/2 healthy (...)` and the service's latest event, while it starts."""
        if self.replacement is None or self.ended is not None:
            return []
        r = self.replacement
        ok = r.healthy is not None and r.healthy >= r.desired > 0
        style = "green" if ok else ("red" if r.failing and "unhealthy" in r.failing else "yellow")
        lines = [Text.assemble(("replacement: ", "bold"), (r.text(), style))]
        if self.service_event:
            lines.append(Text(f"ECS: {self.service_event}", style="dim"))
        return lines

    def __rich__(self) -> RenderableType:
        elapsed = (self.ended or time.monotonic()) - self.started
        head = Text()
        head.append(self.deployment_id or "deployment", style="bold")
        head.append("  ")
        head.append(self.status, style=STATUS_STYLE.get(self.status, ""))
        head.append(f"  {elapsed:6.1f}s elapsed", style="dim")
        table = Table(show_header=True, header_style="bold", box=None, padding=(0, 2))
        table.add_column("lifecycle event")
        table.add_column("status")
        table.add_column("duration", justify="right")
        known = {e.name: e for e in self.lifecycle}
        names = list(LIFECYCLE_EVENTS) + [e.name for e in self.lifecycle if e.name not in LIFECYCLE_EVENTS]
        for name in names:
            event = known.get(name, LifecycleStatus(name, "Pending"))
            icon, style = _STYLE.get(event.status, ("?", ""))
            table.add_row(Text(name), Text(f"{icon} {event.status}", style=style), _duration(event))
        parts: list[RenderableType] = [head, table, *self.replacement_lines()]
        parts.append(TrafficLine(self.blue, self.green, *self.target_groups))
        done = bool(self.lifecycle) and all(e.status in ("Succeeded", "Skipped") for e in self.lifecycle)
        waiting = self.wait_line(time.monotonic())
        if waiting is not None:
            parts.append(waiting)
        elif done and self.status in ("InProgress", "Baking"):
            parts.append(
                Text("termination wait: the original task set is kept for a rollback, then removed", style="dim")
            )
        if self.reason:
            # Its suggested commands are printed under the panel, whole (ConsoleReporter._stop_live).
            parts.append(Text(lift_commands(self.reason)[0], style="red"))
        # The console link is a line above the panel, where a terminal does not cut it.
        return Panel(Group(*parts), title="blue/green deployment", border_style=STATUS_STYLE.get(self.status, "blue"))


class ConsoleReporter:
    def __init__(self, stream: TextIO, console: Console | None = None) -> None:
        self.console = console or Console(file=stream, highlight=False)
        self.panel: _Panel | None = None
        self.fleet: FleetPanel | None = None
        self.live: Live | None = None
        self.checks: list[DoctorCheck] = []
        self.history: list[HistoryEntry] = []

    def _line(self, renderable: Any) -> None:
        (self.live.console if self.live else self.console).print(renderable)

    def _say(self, text: str, style: str = "") -> None:
        """A line of text wrapped between words; each command it suggests follows on a line of its own,
        whole (a terminal may soft-wrap a long one; copying it still gives one line)."""
        prose, commands = lift_commands(text)
        self._line(Text(prose, style=style))
        for command in commands:
            self._command(command)

    def _command(self, command: str) -> None:
        (self.live.console if self.live else self.console).print(Text(INDENT + command), soft_wrap=True)

    def _start_live(self) -> _Panel:
        if self.panel is None:
            self.panel = _Panel()
            self.live = Live(self.panel, console=self.console, refresh_per_second=4, transient=False)
            self.live.start()
        return self.panel

    def _refresh(self) -> None:
        if self.live:
            self.live.refresh()

    def emit(self, event: Event) -> None:
        if isinstance(event, FleetStarted):
            self._stop_live()
            self.fleet = FleetPanel(event)
            self.live = Live(self.fleet, console=self.console, refresh_per_second=4, transient=False)
            self.live.start()
            return
        if self.fleet is not None and self._fleet_emit(self.fleet, event):
            return
        if isinstance(event, DeploymentCreated):
            panel = self._start_live()
            panel.deployment_id, panel.status = event.deployment_id, "Created"
            if event.console_url:
                self._command(event.console_url)
        elif isinstance(event, DeploymentProgress):
            panel = self._start_live()
            if panel.deployment_id and event.deployment_id != panel.deployment_id:
                # Another deployment (the automatic rollback): a fresh panel under the first one.
                self._stop_live()
                panel = self._start_live()
            panel.deployment_id = event.deployment_id
            panel.status = event.status
            panel.lifecycle = event.lifecycle
            panel.blue, panel.green = event.blue_weight, event.green_weight
            panel.target_groups = (event.original_target_group, event.replacement_target_group)
            panel.replacement, panel.service_event = event.replacement, event.service_event
            if event.elapsed_s > 0:  # elapsed counts from the deployment's creation, as the domain says
                panel.started = time.monotonic() - event.elapsed_s
            panel.wait = None  # a change: the watcher says next what (if anything) it waits for now
            self._refresh()
        elif isinstance(event, WaitStarted):
            panel = self._start_live()
            if event.deployment_id == panel.deployment_id or not panel.deployment_id:
                panel.wait, panel.wait_at = event, time.monotonic()
                self._refresh()
        elif isinstance(event, DeploymentFinished):
            if self.panel is not None and self.panel.deployment_id == event.deployment_id:
                self.panel.status = event.status
                self.panel.reason = "" if event.failed_command else event.reason
                self.panel.ended = time.monotonic()
                self._refresh()
            elif event.reason and not event.failed_command:
                self._say(prefixed(event), "red")
        elif isinstance(event, DoctorCheck):
            self.checks.append(event)
        elif isinstance(event, HistoryEntry):
            self.history.append(event)
        elif isinstance(event, Summary):
            self._stop_live()
            self._print_tables()
            self._print_outcomes(event)
        elif isinstance(event, PlanRendered):
            self.console.print(Text(prefixed(event)))
        elif isinstance(event, StepStarted | LifecycleChanged):
            return  # the panel (or the finished line) says it all
        elif isinstance(event, Message):
            self._say(prefixed(event), {"warning": "yellow", "error": "red"}.get(event.level, ""))
        else:
            self._say(prefixed(event), "dim" if event.kind.startswith("step_") else "")

    def _fleet_emit(self, fleet: FleetPanel, event: Event) -> bool:
        """Several services: a service's state and deployment go to its row; True when handled here
        (other events print as lines above the panel, `[key]` first, as with one service)."""
        now = time.monotonic()
        key = event.service_key
        deployment_event = DeploymentCreated | DeploymentProgress | WaitStarted | DeploymentFinished | LifecycleChanged
        if isinstance(event, Summary) and key is None:
            self._stop_live()
            self._print_tables()
            self._print_outcomes(event)
            self.fleet = None
            return True
        if key is None:
            if isinstance(event, deployment_event):
                # Not a service's: no row to put it on, and no second live panel under the rows.
                if isinstance(event, DeploymentCreated | DeploymentFinished):
                    self._line(Text(event.describe()))
                return True
            return False
        row = fleet.row(key)
        if isinstance(event, Summary):
            # A service's own sub-result: a line above the rows, not the command's end.
            self._say(prefixed(event), "green" if event.ok else "red")
            return True
        if isinstance(event, ServiceState):
            row.set_state(event, now)
        elif isinstance(event, DeploymentCreated):
            row.deploying(event.deployment_id, now)
            row.status = "Created"
            line = Text(prefixed(event), style="dim")
            if event.console_url:
                line.stylize(f"link {event.console_url}")
            self._line(line)
        elif isinstance(event, DeploymentProgress):
            if row.since is None:
                row.since = now - event.elapsed_s
            row.deploying(event.deployment_id, now)
            row.status = event.status
            row.phase = next((e.name for e in event.lifecycle if e.status == "InProgress"), "")
            row.blue, row.green = event.blue_weight, event.green_weight
            row.target_groups = (event.original_target_group, event.replacement_target_group)
            row.replacement = event.replacement if event.deployment_id == row.deployment_id else None
            row.wait = None
        elif isinstance(event, LifecycleChanged):
            if event.deployment_id == row.following:
                if event.status == "InProgress":
                    row.phase = event.name
                elif row.phase == event.name:
                    row.phase = ""
        elif isinstance(event, WaitStarted):
            if event.deployment_id == row.following or not row.following:
                row.wait, row.wait_at = event, now
        elif isinstance(event, DeploymentFinished):
            row.status, row.phase, row.wait = event.status, "", None
            if event.reason and not event.failed_command:
                row.reason = event.reason
            if event.deployment_id == row.deployment_id and row.state == "deploying":
                # Until the domain says the service's state, the deployment's end is the row's.
                row.state = FINISHED_STATE.get(event.status, row.state)
                row.ended = now if row.state in FINAL_STATES else None
            text = f"deployment {event.deployment_id} {event.status}"
            if event.rollback_deployment_id:
                text += f" (rollback {event.rollback_deployment_id})"
            self._line(Text(prefixed(event, text), style=STATUS_STYLE.get(event.status, "")))
        else:
            return False
        self._refresh()
        return True

    def _stop_live(self) -> None:
        if self.live is not None:
            if self.panel is not None and self.panel.ended is None:
                self.panel.ended = time.monotonic()
            self.live.stop()
            if not self.console.is_terminal:
                self.console.print()  # off a terminal the final render ends without a newline
        self.live = None
        if self.panel is not None:
            for command in lift_commands(self.panel.reason)[1]:
                self._command(command)
        self.panel = None

    def _print_outcomes(self, summary: Summary) -> None:
        """The summary line, after each service's outcome when the summary has several."""
        services = services_of(summary)
        if services:
            self.console.print(services_table(services))
        self._say(summary.describe(), "bold green" if summary.ok else "bold red")

    def _print_tables(self) -> None:
        if self.checks:
            self.console.print(doctor_table(self.checks))
        if self.history:
            self.console.print(history_table(self.history))
        self.checks, self.history = [], []

    def close(self) -> None:
        self._stop_live()
        self.fleet = None
        self._print_tables()

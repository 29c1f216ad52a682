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

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
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
    ServiceState,
    StepStarted,
    Summary,
    WaitStarted,
    clock_text,
)
from orchestrator.lifecycle import LIFECYCLE_EVENTS
from orchestrator.report.hints import INDENT, lift_commands
from orchestrator.report.services import BAD_STATES, FINAL_STATES, prefixed, services_of, short_arn
from orchestrator.report.tables import Col, doctor_table, fit_table, history_table, left_out, note, services_table
from orchestrator.report.tables import short_image as short_image  # re-exported: tests and callers use it here

_STYLE = {
    "Succeeded": ("✔", "green"),
    "InProgress": ("●", "yellow"),
    "Pending": ("·", "dim"),
    "Failed": ("✘", "bold red"),
    "Skipped": ("-", "dim"),
    "Ready": ("⏸", "cyan"),
    "Unknown": ("?", "dim"),
}
_STATUS_STYLE = {
    "Succeeded": "bold green",
    "Failed": "bold red",
    "Stopped": "bold red",
    "InProgress": "yellow",
    "Ready": "cyan",
}
BAR_WIDTH = 40


# The bar's cells: the original task set's share, then the replacement's. They differ in shape, not only
# in colour, so that 90/10 and 100/0 read apart under NO_COLOR or on a monochrome terminal.
ORIGINAL_CELL, REPLACEMENT_CELL = "░", "█"
MIN_BAR = 10


def bar_cells(blue: float, green: float, width: int) -> int:
    """How many of `width` cells are the replacement's: in proportion to the weights (which then add up
    whatever CodeDeploy reported), at least one for any traffic at all and one left for any remainder."""
    total = blue + green
    if total <= 0:
        return 0
    cells = round(width * green / total)
    if green > 0:
        cells = max(cells, 1)
    if blue > 0:
        cells = min(cells, width - 1)
    return cells


def _bar(blue: float, green: float, width: int) -> Text:
    g = bar_cells(blue, green, width)
    return Text.assemble((ORIGINAL_CELL * (width - g), "blue"), (REPLACEMENT_CELL * g, "green"))


def _labels(
    blue: float | None, green: float, original_tg: str | None, replacement_tg: str | None
) -> tuple[float, str, str]:
    blue = blue if blue is not None else 100.0 - green
    left = " ".join(p for p in ("original", original_tg, f"{blue:>5.1f}% ") if p)
    right = " ".join(p for p in (f" {green:5.1f}%", "replacement", replacement_tg) if p)
    return blue, left, right


def traffic_bar(
    blue: float | None,
    green: float | None,
    width: int = BAR_WIDTH,
    original_tg: str | None = None,
    replacement_tg: str | None = None,
) -> Text:
    """`original demo-web-green  90.0% ░░░░░░██ 10.0% replacement demo-web-blue`: the production weights
    of the original (CodeDeploy's Blue) and replacement (Green) task sets, with their target groups
    (which alternate between releases, so colours alone would mislead)."""
    if green is None:
        return Text("production traffic: waiting for the replacement task set", style="dim")
    blue, left, right = _labels(blue, green, original_tg, replacement_tg)
    return Text.assemble((left, "bold blue"), _bar(blue, green, width), (right, "bold green"))


class TrafficLine:
    """The traffic bar as wide as the room allows (BAR_WIDTH at most); when the labels leave less than
    MIN_BAR cells, the labels on one line and the bar under them."""

    def __init__(
        self, blue: float | None, green: float | None, original_tg: str | None, replacement_tg: str | None
    ) -> None:
        self.blue, self.green, self.tgs = blue, green, (original_tg, replacement_tg)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.green is None:
            yield traffic_bar(None, None)
            return
        blue, left, right = _labels(self.blue, self.green, *self.tgs)
        room = options.max_width - len(left) - len(right)
        if room >= MIN_BAR:
            yield traffic_bar(blue, self.green, min(BAR_WIDTH, room), *self.tgs)
            return
        yield Text.assemble((left.rstrip(), "bold blue"), " →", (right, "bold green"))
        yield _bar(blue, self.green, max(1, min(BAR_WIDTH, options.max_width)))


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

    def wait_line(self, now: float) -> Text | None:
        """`waiting: <label> · 4m58s left of 5m00s`, counting down between polls."""
        if self.wait is None or self.ended is not None:
            return None
        left = max(0.0, self.wait.remaining_s - (now - self.wait_at))
        text = Text("waiting: ", style="cyan")
        text.append(self.wait.label)
        text.append(f" · {clock_text(left)} left of {clock_text(self.wait.total_s)}", style="bold cyan")
        return text

    def __rich__(self) -> RenderableType:
        elapsed = (self.ended or time.monotonic()) - self.started
        head = Text()
        head.append(self.deployment_id or "deployment", style="bold")
        head.append("  ")
        head.append(self.status, style=_STATUS_STYLE.get(self.status, ""))
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
        parts: list[RenderableType] = [head, table, TrafficLine(self.blue, self.green, *self.target_groups)]
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
        return Panel(Group(*parts), title="blue/green deployment", border_style=_STATUS_STYLE.get(self.status, "blue"))


# --- several services (FleetStarted): one row per service ---

_STATE_STYLE = {
    "queued": ("·", "dim"),
    "registering": ("●", "cyan"),
    "registered": ("●", "cyan"),
    "pre-task": ("●", "cyan"),
    "deploying": ("●", "yellow"),
    "succeeded": ("✔", "bold green"),
    "traffic-shifted": ("✔", "green"),
    "failed": ("✘", "bold red"),
    "stopped": ("■", "bold red"),
    "stopping": ("■", "red"),
    "rolling-back": ("↺", "yellow"),
    "rolled-back": ("↺", "bold yellow"),
    "skipped": ("-", "dim"),
    "not-followed": ("→", "cyan"),
}
# A CodeDeploy status at a deployment's end, as the row's state when no ServiceState says it first.
_FINISHED_STATE = {"Succeeded": "succeeded", "Failed": "failed", "Stopped": "stopped"}
COMPACT_BAR = 10
PANEL_REASON = 160  # characters of a reason in a row
WIDE_PANEL = 150  # columns from which a service's detail is a column of its row


def compact_traffic(
    blue: float | None,
    green: float | None,
    original_tg: str | None = None,
    replacement_tg: str | None = None,
    width: int = COMPACT_BAR,
) -> Text:
    """`demo-web-green 90% ░░░░░░░░░█ 10% demo-web-blue`: the traffic bar of a service's row, original
    (left, ░) to replacement (right, █), each with its target group when given."""
    if green is None:
        return Text("-", style="dim")
    blue = blue if blue is not None else 100.0 - green
    text = Text()
    if original_tg:
        text.append(f"{original_tg} ", style="blue")
    text.append(f"{blue:g}% ", style="bold blue")
    text.append_text(_bar(blue, green, width))
    text.append(f" {green:g}%", style="bold green")
    if replacement_tg:
        text.append(f" {replacement_tg}", style="green")
    return text


class _Row:
    """One service's row: its state as the domain reports it, and its deployments as the watcher sees them."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.state = "queued"
        self.detail = ""
        self.failure = ""  # why it failed or was stopped: kept while it is rolled back
        self.deployment_id = ""  # the service's release deployment
        self.following = ""  # the deployment the watcher reports now (the release's, then a rollback)
        self.status = ""  # CodeDeploy's status of `following`
        self.phase = ""  # its lifecycle event in progress
        self.blue: float | None = None
        self.green: float | None = None
        self.target_groups: tuple[str | None, str | None] = (None, None)
        self.reason = ""  # the deployment's reason, shown when no ServiceState detail says why
        self.since: float | None = None  # monotonic time of the service's elapsed 0
        self.ended: float | None = None
        self.wait: WaitStarted | None = None
        self.wait_at = 0.0

    def set_state(self, event: ServiceState, now: float) -> None:
        self.state, self.detail = event.state, event.detail
        if event.state in ("failed", "stopped") and event.detail and event.detail not in self.failure:
            self.failure = f"{self.failure} · {event.detail}" if self.failure else event.detail
        if event.deployment_id:
            self.deployment_id = event.deployment_id
        if event.elapsed_s > 0:
            self.since = now - event.elapsed_s
        elif self.since is None and event.state not in ("queued", "skipped"):
            self.since = now
        self.ended = now if event.state in FINAL_STATES else None
        if event.state in FINAL_STATES:
            self.wait = None

    def deploying(self, deployment_id: str, now: float) -> None:
        """A deployment event arrived: the row follows it (a rollback's too; the first one is the
        service's own deployment)."""
        self.deployment_id = self.deployment_id or deployment_id
        self.following = deployment_id
        if self.state in ("queued", "registering", "registered", "pre-task"):
            self.state = "deploying"
        if self.since is None:
            self.since = now

    def elapsed(self, now: float) -> str:
        if self.since is None:
            return "-"
        return clock_text((self.ended or now) - self.since)

    def state_text(self) -> Text:
        icon, style = _STATE_STYLE.get(self.state, ("?", ""))
        text = Text(f"{icon} {self.state}", style=style)
        if self.state in ("deploying", "stopping", "rolling-back"):
            sub = self.phase or (self.status if self.status not in ("", "InProgress", "Created") else "")
            if sub:
                text.append(f" · {sub}", style=_STATUS_STYLE.get(self.status, ""))
        return text

    def _brief(self, text: str) -> str:
        """A reason for the row: without `deployment <its id> failed: ` (the row says both) and cut to
        PANEL_REASON characters (the outcome table at the end has it whole)."""
        if self.deployment_id and text.startswith(f"deployment {self.deployment_id} "):
            text = text.partition(": ")[2] or text
        if len(text) <= PANEL_REASON:
            return text
        cut = text[: PANEL_REASON - 1]
        return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" ;,:·") + "…"  # between words

    def detail_text(self, now: float) -> Text:
        detail = short_arn(self.detail) if self.detail.startswith("arn:") else self.detail
        if self.state in ("failed", "stopped"):
            why = self._brief(self.failure or detail or self.reason)
        elif self.state in ("rolling-back", "rolled-back") and self.failure:
            why = " · ".join(p for p in (self._brief(self.failure), detail) if p)  # why, then how it was undone
        else:
            why = detail or (self.reason if self.state in BAD_STATES else "")
        if why:
            return Text(why, style="red" if self.state in BAD_STATES else "")
        if self.wait is not None and self.state == "deploying":
            left = max(0.0, self.wait.remaining_s - (now - self.wait_at))
            return Text(f"waiting: {self.wait.label} · {clock_text(left)} left", style="cyan")
        return Text("")


class _FleetPanel:
    """What the live display renders for several services: one row each, in FleetStarted's order."""

    def __init__(self, event: FleetStarted) -> None:
        self.command = event.command
        self.max_parallel, self.atomic = event.max_parallel, event.atomic
        self.rows: dict[str, _Row] = {key: _Row(key) for key in event.services}

    def row(self, key: str) -> _Row:
        if key not in self.rows:  # a service FleetStarted did not name: still shown, last
            self.rows[key] = _Row(key)
        return self.rows[key]

    def title(self) -> str:
        parts = [self.command, f"{len(self.rows)} service{'' if len(self.rows) == 1 else 's'}"]
        if self.max_parallel:
            parts.append(f"at most {self.max_parallel} at a time")
        if self.atomic:
            parts.append("all or nothing")
        return " · ".join(parts)

    def _cells(self, now: float, wide: bool, names: bool) -> tuple[list[list[RenderableType | str]], list[Text]]:
        rows: list[list[RenderableType | str]] = []
        notes: list[Text] = []
        for row in self.rows.values():
            detail = row.detail_text(now)
            traffic = compact_traffic(row.blue, row.green, *(row.target_groups if names else (None, None)))
            cells: list[RenderableType | str] = [
                Text(row.key, style="bold"),
                row.state_text(),
                row.deployment_id or Text("-", style="dim"),
                traffic,
                row.elapsed(now),
            ]
            if not wide:
                notes += note(row.key, detail.plain, str(detail.style)) if detail.plain else []
                rows.append(cells)
                continue
            # The detail column: the sentence; a command it suggests, whole, under the rows.
            prose, commands = lift_commands(detail.plain)
            rows.append([*cells, Text(prose, style=detail.style)])
            notes += [Text(INDENT + c, no_wrap=True) for c in commands]
        return rows, notes

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        now = time.monotonic()
        # A wide terminal gives each row its detail (reason, wait) in a last column; a narrower one
        # lists the details under the rows, where a long reason wraps at the full width.
        wide = options.max_width >= WIDE_PANEL
        columns = [
            Col("service"),
            Col("state", wrap=True, phrases=" · "),  # `● deploying ·` over `AllowTraffic` when narrow
            Col("deployment", keep=40),
            Col("traffic: original → replacement", keep=60),  # a bar is not cut: narrower without names
            Col("elapsed", keep=70, justify="right"),
            *([Col("detail", wrap=True)] if wide else []),
        ]
        inner = options.max_width - 4  # the panel's border and padding
        rows, notes = self._cells(now, wide, names=True)
        table, dropped = fit_table(columns, rows, inner, table_box=None)
        if dropped:  # the bars without their target groups' names first
            rows, notes = self._cells(now, wide, names=False)
            table, dropped = fit_table(columns, rows, inner, table_box=None)
        parts: list[RenderableType] = [table, *notes]
        if dropped:
            parts.append(left_out(dropped, options.max_width))
        states = {row.state for row in self.rows.values()}
        if states & BAD_STATES:
            border = "bold red"
        elif states <= {"succeeded", "traffic-shifted"}:
            border = "bold green"
        else:
            border = "blue"
        yield Panel(Group(*parts), title=self.title(), border_style=border)


class ConsoleReporter:
    def __init__(self, stream: TextIO, console: Console | None = None) -> None:
        self.console = console or Console(file=stream, highlight=False)
        self.panel: _Panel | None = None
        self.fleet: _FleetPanel | None = None
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
            self.fleet = _FleetPanel(event)
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

    def _fleet_emit(self, fleet: _FleetPanel, event: Event) -> bool:
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
                row.state = _FINISHED_STATE.get(event.status, row.state)
                row.ended = now if row.state in FINAL_STATES else None
            text = f"deployment {event.deployment_id} {event.status}"
            if event.rollback_deployment_id:
                text += f" (rollback {event.rollback_deployment_id})"
            self._line(Text(prefixed(event, text), style=_STATUS_STYLE.get(event.status, "")))
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

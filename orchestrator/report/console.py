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

from rich import box
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
from orchestrator.report.services import BAD_STATES, FINAL_STATES, prefixed, services_of, short_arn

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
_CHECK_STYLE = {"pass": "bold green", "fail": "bold red", "skipped": "yellow"}
BAR_WIDTH = 40


def traffic_bar(
    blue: float | None,
    green: float | None,
    width: int = BAR_WIDTH,
    original_tg: str | None = None,
    replacement_tg: str | None = None,
) -> Text:
    """`original demo-web-green  90.0% ██████░░ 10.0% replacement demo-web-blue`: the production weights
    of the original (CodeDeploy's Blue) and replacement (Green) task sets, with their target groups
    (which alternate between releases, so colours alone would mislead)."""
    text = Text()
    if green is None:
        return text.append("production traffic: waiting for the replacement task set", style="dim")
    blue = blue if blue is not None else 100.0 - green
    g = round(width * green / 100)
    text.append(" ".join(p for p in ("original", original_tg, f"{blue:>5.1f}% ") if p), style="bold blue")
    text.append("█" * (width - g), style="blue")
    text.append("█" * g, style="green")
    text.append(" ".join(p for p in (f" {green:5.1f}%", "replacement", replacement_tg) if p), style="bold green")
    return text


def _duration(event: LifecycleStatus) -> str:
    if event.duration_s is not None:
        return f"{event.duration_s:.1f}s"
    return "…" if event.status == "InProgress" else ""


class _Panel:
    """What the live display renders; computes the elapsed time at each refresh."""

    def __init__(self) -> None:
        self.deployment_id = ""
        self.console_url = ""
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
        parts: list[RenderableType] = [head, table, traffic_bar(self.blue, self.green, BAR_WIDTH, *self.target_groups)]
        done = bool(self.lifecycle) and all(e.status in ("Succeeded", "Skipped") for e in self.lifecycle)
        waiting = self.wait_line(time.monotonic())
        if waiting is not None:
            parts.append(waiting)
        elif done and self.status in ("InProgress", "Baking"):
            parts.append(
                Text("termination wait: the original task set is kept for a rollback, then removed", style="dim")
            )
        if self.reason:
            parts.append(Text(self.reason, style="red"))
        if self.console_url:
            parts.append(Text(self.console_url, style=f"dim link {self.console_url}"))
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
_OUTCOME_STYLE = {
    "Succeeded": "bold green",
    "traffic-shifted": "green",
    "RolledBack": "bold yellow",
    "Skipped": "dim",
    "NotStarted": "dim",
    "Created": "cyan",
    "Unknown": "yellow",
}
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
    """`demo-web-green 90% ████████░░ 10% demo-web-blue`: the traffic bar of a service's row, original
    (left, blue) to replacement (right, green), each with its target group."""
    if green is None:
        return Text("-", style="dim")
    blue = blue if blue is not None else 100.0 - green
    g = round(width * green / 100)
    text = Text()
    if original_tg:
        text.append(f"{original_tg} ", style="blue")
    text.append(f"{blue:g}% ", style="bold blue")
    text.append("█" * (width - g), style="blue")
    text.append("█" * g, style="green")
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
        return text if len(text) <= PANEL_REASON else text[: PANEL_REASON - 1] + "…"

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

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        now = time.monotonic()
        # A wide terminal gives each row its detail (reason, wait) in a last column; a narrower one
        # lists the details under the rows, where a long reason can wrap, and lets cells wrap.
        wide = options.max_width >= WIDE_PANEL
        table = Table(show_header=True, header_style="bold", box=None, padding=(0, 2 if wide else 1))
        keys = max((len(key) for key in self.rows), default=7)
        table.add_column("service", no_wrap=True, min_width=min(keys, 24))
        table.add_column("state", no_wrap=wide)
        table.add_column("deployment", no_wrap=True)
        table.add_column("traffic: original → replacement", no_wrap=wide)
        table.add_column("elapsed", justify="right", no_wrap=True, min_width=5)
        if wide:
            table.add_column("detail", overflow="fold")
        notes: list[Text] = []
        for row in self.rows.values():
            detail = row.detail_text(now)
            cells: list[RenderableType] = [
                Text(row.key, style="bold"),
                row.state_text(),
                row.deployment_id or Text("-", style="dim"),
                compact_traffic(row.blue, row.green, *row.target_groups),
                row.elapsed(now),
            ]
            table.add_row(*cells, *([detail] if wide else []))
            if not wide and detail.plain:
                notes.append(Text.assemble((f"{row.key}: ", "bold"), detail))
        states = {row.state for row in self.rows.values()}
        if states & BAD_STATES:
            border = "bold red"
        elif states <= {"succeeded", "traffic-shifted"}:
            border = "bold green"
        else:
            border = "blue"
        yield Panel(Group(table, *notes), title=self.title(), border_style=border)


def services_table(services: dict[str, dict[str, Any]]) -> Table:
    """The summary's per-service outcomes: status, deployment, task definition, what serves, why."""
    table = Table(title="services", title_justify="left", box=box.SIMPLE_HEAD, header_style="bold")
    columns = [
        ("service", "key"),
        ("status", "status"),
        ("deployment", "deployment_id"),
        ("task definition", "task_definition_arn"),
        ("rollback", "rollback_deployment_id"),
        ("serving", "serving_task_definition"),
        ("reason", "reason"),
    ]
    # Columns no service has a value for are left out (a clean release has no rollback or reason).
    shown = [(title, name) for title, name in columns if name == "key" or any(s.get(name) for s in services.values())]
    for title, name in shown:
        table.add_column(title, overflow="fold", no_wrap=name in ("key", "status", "deployment_id"))
    for key, service in services.items():
        cells: list[RenderableType] = []
        for _, name in shown:
            value = key if name == "key" else service.get(name)
            if name == "status":
                status = str(value or "?")
                style = _OUTCOME_STYLE.get(status, "bold red" if status not in ("", "?") else "")
                cells.append(Text(status, style=style))
            elif name in ("task_definition_arn", "serving_task_definition"):
                cells.append(short_arn(value) or "-")
            elif name == "reason":
                cells.append(Text(str(value or ""), style="red"))
            else:
                cells.append(str(value) if value else "-")
        table.add_row(*cells)
    return table


def short_image(image: str | None) -> str:
    """repository:tag without the registry host; a digest cut to 12 hex digits."""
    if not image:
        return "-"
    name = image.rsplit("/", 1)[-1]
    if "@" in name:
        repo, digest = name.split("@", 1)
        algo, _, hexes = digest.partition(":")
        return f"{repo}@{algo}:{hexes[:12]}" if hexes else name
    return name


def doctor_table(checks: list[DoctorCheck]) -> Table:
    table = Table(title="doctor", title_justify="left", box=box.SIMPLE_HEAD, header_style="bold")
    keyed = any(c.service_key for c in checks)  # several services: which one each check is about
    if keyed:
        table.add_column("service", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for c in checks:
        cells: list[RenderableType] = [c.check, Text(c.status.upper(), style=_CHECK_STYLE.get(c.status, "")), c.detail]
        table.add_row(*([c.service_key or "-"] if keyed else []), *cells)
    return table


def history_table(entries: list[HistoryEntry]) -> Table:
    table = Table(title="history (newest first)", title_justify="left", box=box.SIMPLE_HEAD, header_style="bold")
    keyed = any(e.service_key for e in entries)  # `history --all`: whose deployment each row is
    if keyed:
        table.add_column("service", no_wrap=True)
    # On a narrow terminal names and times wrap (the start date over its time) before the links do.
    table.add_column("id", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("origin", overflow="fold")
    table.add_column("task definition", overflow="fold")
    table.add_column("image", overflow="fold")
    table.add_column("git sha", no_wrap=True)
    table.add_column("start")
    table.add_column("duration", justify="right", no_wrap=True)
    table.add_column("links", overflow="fold")
    for e in entries:
        links = Text()
        if e.rollback_of:
            links.append(f"rolls back {e.rollback_of}")
        if e.rolled_back_by:
            links.append(("; " if links.plain else "") + f"rolled back by {e.rolled_back_by}")
        if e.error:
            links.append("; " if links.plain else "")
            links.append(e.error, style="red")
        table.add_row(
            *([e.service_key or "-"] if keyed else []),
            e.deployment_id,
            Text(e.status, style=_STATUS_STYLE.get(e.status, "")),
            e.origin or e.creator or "?",
            (e.task_definition or "-").rsplit("/", 1)[-1],
            short_image(e.image),
            e.git_sha[:12] if e.git_sha else "-",
            (e.created or "-")[:19].replace("T", " "),
            f"{e.duration_s:.1f}s" if e.duration_s is not None else "-",
            links,
        )
    return table


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
            panel.deployment_id, panel.console_url, panel.status = event.deployment_id, event.console_url, "Created"
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
                self._line(Text(prefixed(event), style="red"))
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
            style = {"warning": "yellow", "error": "red"}.get(event.level, "")
            self._line(Text(prefixed(event), style=style))
        else:
            self._line(Text(prefixed(event), style="dim" if event.kind.startswith("step_") else ""))

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
            self._line(Text(prefixed(event), style="green" if event.ok else "red"))
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
        self.panel = None

    def _print_outcomes(self, summary: Summary) -> None:
        """The summary line, after each service's outcome when the summary has several."""
        services = services_of(summary)
        if services:
            self.console.print(services_table(services))
        self.console.print(Text(summary.describe(), style="bold green" if summary.ok else "bold red"))

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

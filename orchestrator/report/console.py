"""The rich live console: one panel that follows a deployment, with log lines above it.

The panel shows the deployment id and its console link, the status, the elapsed time (ticking between
polls), every lifecycle event with its status and duration, and a bar of production traffic between
the original and the replacement task sets, with their target groups.
Other events print as lines above the panel; the summary ends the live display. `doctor` checks and
`history` entries are collected and printed as one table each when the summary (or close) arrives.
"""

from __future__ import annotations

import time
from typing import Any, TextIO

from rich import box
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
    HistoryEntry,
    LifecycleChanged,
    LifecycleStatus,
    Message,
    PlanRendered,
    StepStarted,
    Summary,
    WaitStarted,
    clock_text,
)
from orchestrator.lifecycle import LIFECYCLE_EVENTS

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
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for c in checks:
        table.add_row(c.check, Text(c.status.upper(), style=_CHECK_STYLE.get(c.status, "")), c.detail)
    return table


def history_table(entries: list[HistoryEntry]) -> Table:
    table = Table(title="history (newest first)", title_justify="left", box=box.SIMPLE_HEAD, header_style="bold")
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
    def __init__(self, stream: TextIO) -> None:
        self.console = Console(file=stream, highlight=False)
        self.panel: _Panel | None = None
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

    def emit(self, event: Event) -> None:
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
            if self.live:
                self.live.refresh()
        elif isinstance(event, WaitStarted):
            panel = self._start_live()
            if event.deployment_id == panel.deployment_id or not panel.deployment_id:
                panel.wait, panel.wait_at = event, time.monotonic()
                if self.live:
                    self.live.refresh()
        elif isinstance(event, DeploymentFinished):
            if self.panel is not None and self.panel.deployment_id == event.deployment_id:
                self.panel.status = event.status
                self.panel.reason = "" if event.failed_command else event.reason
                self.panel.ended = time.monotonic()
                if self.live:
                    self.live.refresh()
            elif event.reason and not event.failed_command:
                self._line(Text(event.describe(), style="red"))
        elif isinstance(event, DoctorCheck):
            self.checks.append(event)
        elif isinstance(event, HistoryEntry):
            self.history.append(event)
        elif isinstance(event, Summary):
            self._stop_live()
            self._print_tables()
            style = "bold green" if event.ok else "bold red"
            self.console.print(Text(event.describe(), style=style))
        elif isinstance(event, PlanRendered):
            self.console.print(Text(event.describe()))
        elif isinstance(event, StepStarted | LifecycleChanged):
            return  # the panel (or the finished line) says it all
        elif isinstance(event, Message):
            style = {"warning": "yellow", "error": "red"}.get(event.level, "")
            self._line(Text(event.describe(), style=style))
        else:
            self._line(Text(event.describe(), style="dim" if event.kind.startswith("step_") else ""))

    def _stop_live(self) -> None:
        if self.live is not None:
            if self.panel is not None and self.panel.ended is None:
                self.panel.ended = time.monotonic()
            self.live.stop()
            if not self.console.is_terminal:
                self.console.print()  # off a terminal the final render ends without a newline
        self.live = None
        self.panel = None

    def _print_tables(self) -> None:
        if self.checks:
            self.console.print(doctor_table(self.checks))
        if self.history:
            self.console.print(history_table(self.history))
        self.checks, self.history = [], []

    def close(self) -> None:
        self._stop_live()
        self._print_tables()

"""The rich console's panel for a command acting on several services (FleetStarted): one row per service
(state, the lifecycle event in progress, deployment, a compact traffic bar, elapsed time) and each
service's detail (its reason, its wait, its replacement's counts) as a last column on a wide terminal,
under the rows on a narrower one. Fitted to the width like every table (tables.fit_table)."""

from __future__ import annotations

import time

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.text import Text

from orchestrator.events import FleetStarted, ReplacementHealth, ServiceState, WaitStarted, clock_text
from orchestrator.report.hints import INDENT, lift_commands
from orchestrator.report.services import BAD_STATES, FINAL_STATES, short_arn
from orchestrator.report.tables import STATUS_STYLE, Col, fit_table, left_out, note
from orchestrator.report.traffic import compact_traffic

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
FINISHED_STATE = {"Succeeded": "succeeded", "Failed": "failed", "Stopped": "stopped"}
COMPACT_BAR = 10
PANEL_REASON = 160  # characters of a reason in a row
WIDE_PANEL = 150  # columns from which a service's detail is a column of its row


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
        self.replacement: ReplacementHealth | None = None  # while its replacement starts

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
                text.append(f" · {sub}", style=STATUS_STYLE.get(self.status, ""))
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
        parts: list[str] = []
        if self.replacement is not None and self.state == "deploying":
            parts.append(f"replacement {self.replacement.text()}")
        if self.wait is not None and self.state == "deploying":
            left = max(0.0, self.wait.remaining_s - (now - self.wait_at))
            parts.append(f"waiting: {self.wait.label} · {clock_text(left)} left")
        return Text(" · ".join(parts), style="cyan")


class FleetPanel:
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

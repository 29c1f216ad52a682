"""The rich console's tables, fitted to the width they are printed at (issue 19): a column is as wide as its
longest word at least, so that a cell wraps between words and never inside one ("autoRollbac/k"); when
even that does not fit, the least needed columns are left out, and a line under the table says which.
Long text (a failure's reason, an error) goes under the table, where it wraps at the full width, with
any suggested command on a line of its own.

`doctor` checks, `history` entries and a multi-service summary's outcomes are tables; the live panels
(console.py) fit their rows with `fit_table` too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from orchestrator.events import DoctorCheck, HistoryEntry
from orchestrator.report.hints import INDENT, lift_commands
from orchestrator.report.services import short_arn

STATUS_STYLE = {
    "Succeeded": "bold green",
    "Failed": "bold red",
    "Stopped": "bold red",
    "InProgress": "yellow",
    "Ready": "cyan",
}
_CHECK_STYLE = {"pass": "bold green", "fail": "bold red", "skipped": "yellow"}
_OUTCOME_STYLE = {
    "Succeeded": "bold green",
    "traffic-shifted": "green",
    "RolledBack": "bold yellow",
    "Skipped": "dim",
    "NotStarted": "dim",
    "Created": "cyan",
    "Unknown": "yellow",
}


@dataclass(frozen=True)
class Col:
    """A column: `keep` orders what is left out when the width is short (lowest first; None: always
    shown); `wrap`: the cells may wrap between words (else each line is kept whole)."""

    header: str
    keep: int | None = None
    wrap: bool = False
    justify: str = "left"
    phrases: str = ""  # with wrap: the separator of the phrases a line wraps between (" · "), else words


def _words(text: Text, phrases: str = "") -> int:
    """The longest word (or phrase, with the separator that ends it) of a cell: the least width at
    which it wraps only between words (phrases)."""
    lines = text.plain.splitlines()
    if phrases:  # a phrase that another follows keeps the separator's mark at its end (`deploying ·`)
        ends = [(len(p) + len(phrases.rstrip()) + 1, len(p)) for line in lines for p in line.split(phrases)[:-1]]
        last = [len(line.split(phrases)[-1]) for line in lines]
        return max([*(e for e, _ in ends), *last], default=0)
    return max((len(word) for line in lines for word in line.split()), default=0)


def _lines(text: Text) -> int:
    return max((len(line) for line in text.plain.splitlines()), default=0)


def _as_text(cell: RenderableType | str) -> Text:
    return cell if isinstance(cell, Text) else Text(str(cell))


def fit_widths(
    columns: Sequence[Col], rows: Sequence[Sequence[Text]], width: int, pad: int, boxed: bool
) -> tuple[list[int], dict[int, int]]:
    """(the columns shown, in order; each one's width) in `width` characters, with `pad` characters of
    padding per column (and a character per edge and separator when `boxed`). A column is at least its
    longest word (wrap) or its longest line, header included; the room left goes first to the columns
    that need the least of it to stop wrapping."""
    # A header may wrap between its words in any column. A word longer than a third of the width (an
    # ARN, a path) is folded rather than given a column of its own length.
    natural = [max([_lines(Text(c.header)), *(_lines(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    whole = [
        max([_words(Text(c.header)), *((_words(r[i], c.phrases) if c.wrap else _lines(r[i])) for r in rows)])
        for i, c in enumerate(columns)
    ]
    least = [
        min(w, max(width // 3, _words(Text(c.header)))) if c.wrap else w for w, c in zip(whole, columns, strict=True)
    ]
    shown = list(range(len(columns)))

    def room() -> int:
        return width - len(shown) * pad - (len(shown) + 1 if boxed else 0)

    droppable = sorted((i for i, c in enumerate(columns) if c.keep is not None), key=lambda i: columns[i].keep or 0)
    while sum(least[i] for i in shown) > room() and droppable:
        shown.remove(droppable.pop(0))
    widths = {i: least[i] for i in shown}
    spare = room() - sum(widths.values())
    for i in shown:  # first, room for the long words, so that they are not folded
        grow = max(0, min(spare, whole[i] - widths[i]))
        widths[i] += grow
        spare -= grow
    for i in sorted(shown, key=lambda i: natural[i] - least[i]):
        grow = max(0, min(spare, natural[i] - widths[i]))
        widths[i] += grow
        spare -= grow
    return shown, widths


def fit_table(
    columns: Sequence[Col],
    rows: Sequence[Sequence[RenderableType | str]],
    width: int,
    *,
    title: str | None = None,
    table_box: box.Box | None = box.SIMPLE_HEAD,
    padding: tuple[int, int] = (0, 1),
) -> tuple[Table, list[str]]:
    """A Table of `rows` fitted to `width`, and the headers of the columns left out."""
    cells = [[_as_text(c) for c in row] for row in rows]
    table = Table(title=title, title_justify="left", box=table_box, header_style="bold", padding=padding)
    shown, widths = fit_widths(columns, cells, width, 2 * padding[1], boxed=table_box is not None)
    for i in shown:
        col = columns[i]
        # No column is no_wrap: one that should not wrap is as wide as its longest line already, and
        # its header may still wrap between words.
        table.add_column(
            col.header,
            width=widths[i],
            overflow="fold",  # only a word longer than the whole width (an ARN) is folded
            justify=col.justify,  # type: ignore[arg-type]
        )
    for row in cells:
        table.add_row(*(row[i] for i in shown))
    return table, [columns[i].header for i in range(len(columns)) if i not in shown]


def left_out(headers: list[str], width: int) -> Text:
    return Text(f"not shown at {width} columns: {', '.join(headers)} (--output plain has every field)", style="dim")


def note(label: str, text: str, style: str = "") -> list[Text]:
    """`label: text` wrapping at the full width, then its suggested commands, each on a line of its own."""
    prose, commands = lift_commands(text)
    lines = [Text.assemble((f"{label}: " if label else "", "bold"), (prose, style))]
    lines += [Text(INDENT + c, no_wrap=True, overflow="ignore") for c in commands]
    return lines


class Fitted:
    """A titled table fitted at render time, then the notes under it."""

    def __init__(
        self, title: str, columns: Sequence[Col], rows: Sequence[Sequence[RenderableType | str]], notes: list[Text]
    ) -> None:
        self.title, self.columns, self.rows, self.notes = title, columns, rows, notes

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table, dropped = fit_table(self.columns, self.rows, options.max_width, title=self.title)
        yield table
        if dropped:
            yield left_out(dropped, options.max_width)
        yield from self.notes


def services_table(services: dict[str, dict[str, Any]]) -> Fitted:
    """The summary's per-service outcomes: status, deployment, task definition, what serves; each failed
    service's reason under the table."""
    columns = [
        (Col("service"), "key"),
        (Col("status"), "status"),
        (Col("deployment", keep=50), "deployment_id"),
        (Col("task definition", keep=40, wrap=True), "task_definition_arn"),
        (Col("rollback", keep=20), "rollback_deployment_id"),
        (Col("serving", keep=30), "serving_task_definition"),
    ]
    # Columns no service has a value for are left out (a clean release has no rollback).
    shown = [(col, name) for col, name in columns if name == "key" or any(s.get(name) for s in services.values())]
    rows: list[list[RenderableType | str]] = []
    notes: list[Text] = []
    for key, service in services.items():
        cells: list[RenderableType | str] = []
        for _, name in shown:
            value = key if name == "key" else service.get(name)
            if name == "status":
                status = str(value or "?")
                cells.append(Text(status, style=_OUTCOME_STYLE.get(status, "bold red" if status != "?" else "")))
            elif name in ("task_definition_arn", "serving_task_definition"):
                cells.append(short_arn(value) or "-")
            else:
                cells.append(str(value) if value else "-")
        rows.append(cells)
        if service.get("reason"):
            notes += note(key, str(service["reason"]), "red")
    return Fitted("services", [c for c, _ in shown], rows, notes)


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


def doctor_table(checks: list[DoctorCheck]) -> Fitted:
    keyed = any(c.service_key for c in checks)  # several services: which one each check is about
    columns = [
        *([Col("service", keep=10)] if keyed else []),
        Col("check", wrap=True),
        Col("status"),
        Col("detail", wrap=True),
    ]
    rows: list[list[RenderableType | str]] = [
        [
            *([c.service_key or "-"] if keyed else []),
            c.check,
            Text(c.status.upper(), style=_CHECK_STYLE.get(c.status, "")),
            c.detail,
        ]
        for c in checks
    ]
    return Fitted("doctor", columns, rows, [])


def history_table(entries: list[HistoryEntry]) -> Fitted:
    """One row per deployment; an error (long) under the table, after the deployment's id."""
    keyed = any(e.service_key for e in entries)  # `history --all`: whose deployment each row is
    columns = [
        *([Col("service", keep=90)] if keyed else []),
        Col("id"),
        Col("status"),
        Col("origin", keep=70),
        Col("task definition", keep=65, wrap=True),
        Col("image", keep=45),
        Col("git sha", keep=10),
        Col("start", keep=60, wrap=True),  # the date over its time when narrow
        Col("duration", keep=35, justify="right"),
        Col("links", keep=30, wrap=True),
    ]
    rows: list[list[RenderableType | str]] = []
    notes: list[Text] = []
    for e in entries:
        links = "; ".join(
            p
            for p in (
                f"rolls back {e.rollback_of}" if e.rollback_of else "",
                f"rolled back by {e.rolled_back_by}" if e.rolled_back_by else "",
            )
            if p
        )
        rows.append(
            [
                *([e.service_key or "-"] if keyed else []),
                e.deployment_id,
                Text(e.status, style=STATUS_STYLE.get(e.status, "")),
                e.origin or e.creator or "?",
                (e.task_definition or "-").rsplit("/", 1)[-1],
                short_image(e.image),
                e.git_sha[:12] if e.git_sha else "-",
                (e.created or "-")[:19].replace("T", " "),
                f"{e.duration_s:.1f}s" if e.duration_s is not None else "-",
                links or "-",
            ]
        )
        if e.error:
            notes += note(e.deployment_id, e.error, "red")
    return Fitted("history (newest first)", columns, rows, notes)

"""The traffic bars of the rich console: the production weights of the original and replacement task
sets, drawn in proportion with cells that differ in shape (░ original, █ replacement), not only in
colour, so that 90/10 and 100/0 read apart under NO_COLOR (issue 19)."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

BAR_WIDTH = 40
COMPACT_BAR = 10

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

"""The rich console reporter: what the live panel shows, rendered off a terminal into a string."""

from __future__ import annotations

import io
import re

import pytest

from orchestrator.events import (
    DeploymentCreated,
    DeploymentFinished,
    DeploymentProgress,
    LifecycleStatus,
    StepFinished,
    Summary,
)
from orchestrator.report.console import ConsoleReporter, traffic_bar


def test_panel_shows_lifecycle_traffic_id_link_and_outcome() -> None:
    out = io.StringIO()
    rep = ConsoleReporter(out)
    rep.emit(StepFinished("register", "demo-web", 0.2))
    rep.emit(DeploymentCreated("d-ABC123", "demo-web", "demo-web", "https://console.example/d-ABC123"))
    rep.emit(
        DeploymentProgress(
            "d-ABC123",
            "InProgress",
            (
                LifecycleStatus("BeforeInstall", "Succeeded", duration_s=0.5),
                LifecycleStatus("Install", "Succeeded", duration_s=42.0),
                LifecycleStatus("AllowTraffic", "InProgress"),
            ),
            blue_weight=90.0,
            green_weight=10.0,
            elapsed_s=50,
            original_target_group="demo-web-green",
            replacement_target_group="demo-web-blue",
        )
    )
    rep.emit(DeploymentFinished("d-ABC123", "Failed", "AllowTraffic failed: listener refused"))
    rep.emit(Summary("release", False, 1))
    rep.close()
    text = out.getvalue()
    assert "register done in 0.2s" in text
    assert "d-ABC123" in text and "https://console.example/d-ABC123" in text
    assert "Install" in text and "42.0s" in text
    assert "AfterAllowTraffic" in text and "Pending" in text  # events not reached yet are listed
    assert "AllowTraffic failed: listener refused" in text
    # Target groups alternate between releases: the bar says original/replacement and names them.
    assert "original demo-web-green  90.0%" in text and "10.0% replacement demo-web-blue" in text
    assert "blue  90.0%" not in text and "% green" not in text
    assert "release failed (exit 1)" in text


def test_traffic_bar_splits_the_width_by_weight() -> None:
    bar = traffic_bar(75.0, 25.0, width=20).plain
    assert bar.count("░") == 15 and bar.count("█") == 5
    assert bar.startswith("original  75.0%") and bar.endswith("25.0% replacement")
    assert "waiting" in traffic_bar(None, None).plain


def _cells_by_colour(bar) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """How many bar cells (░ or █) each colour paints, as rich renders the bar."""
    from rich.console import Console

    console = Console(width=120, force_terminal=True, color_system="truecolor")
    cells: dict[str, int] = {}
    for segment in bar.render(console):
        count = segment.text.count("█") + segment.text.count("░")
        if count and segment.style is not None and segment.style.color is not None:
            name = segment.style.color.name
            cells[name] = cells.get(name, 0) + count
    return cells


@pytest.mark.parametrize(
    ("blue", "green", "cells"), [(75.0, 25.0, {"blue": 15, "green": 5}), (10.0, 90.0, {"blue": 2, "green": 18})]
)
def test_traffic_bar_paints_blue_for_blue_weight_and_green_for_green(blue: float, green: float, cells: dict) -> None:  # type: ignore[type-arg]
    assert _cells_by_colour(traffic_bar(blue, green, width=20)) == cells


def _no_colour(renderable, width: int = 80) -> str:  # type: ignore[no-untyped-def]
    from rich.console import Console

    console = Console(width=width, file=io.StringIO(), record=True, force_terminal=True, no_color=True)
    console.print(renderable)
    return console.export_text(styles=False)


def test_without_colour_the_cells_tell_90_10_from_100_0() -> None:
    bar_90_10 = _no_colour(traffic_bar(90.0, 10.0, width=40))
    bar_100_0 = _no_colour(traffic_bar(100.0, 0.0, width=40))
    assert "░" * 36 + "█" * 4 in bar_90_10
    assert "░" * 40 in bar_100_0 and "█" not in bar_100_0
    # Any traffic at all gets a cell, and any remainder keeps one.
    assert traffic_bar(99.0, 1.0, width=10).plain.count("█") == 1
    assert traffic_bar(1.0, 99.0, width=10).plain.count("░") == 1


def test_weights_that_do_not_add_up_are_drawn_and_read_in_proportion() -> None:
    from orchestrator.deployment import _weights

    # A stopped canary: the removed replacement task set reads 0, the original keeps its last 90.
    target = {
        "taskSetsInfo": [
            {"taskSetLabel": "Blue", "trafficWeight": 90.0},
            {"taskSetLabel": "Green", "trafficWeight": 0.0},
        ]
    }
    assert _weights(target) == (100.0, 0.0)
    assert _weights({"taskSetsInfo": [{"taskSetLabel": "Green", "trafficWeight": 10.0}]}) == (90.0, 10.0)
    # The bar draws what it is given in proportion, whatever the sum.
    assert traffic_bar(45.0, 5.0, width=10).plain.count("█") == 1


@pytest.mark.parametrize("width", [80, 120])
def test_the_panel_fits_the_terminal_with_the_bar_on_one_line(width: int) -> None:
    from rich.console import Console

    console = Console(width=width, file=io.StringIO(), record=True, force_terminal=True, no_color=True)
    rep = ConsoleReporter(io.StringIO(), console=console)
    url = "https://eu-west-1.console.aws.amazon.com/codesuite/codedeploy/deployments/d-ABC123?region=eu-west-1"
    rep.emit(DeploymentCreated("d-ABC123", "demo-web", "demo-web", url))
    rep.emit(
        DeploymentProgress(
            "d-ABC123",
            "InProgress",
            blue_weight=90.0,
            green_weight=10.0,
            original_target_group="demo-web-green",
            replacement_target_group="demo-web-blue",
        )
    )
    rep.emit(DeploymentFinished("d-ABC123", "Stopped", "stopped; see `orchestrator history --sandbox --service web`"))
    rep.emit(Summary("release", False, 1))
    rep.close()
    text = console.export_text(styles=False)
    # The console link and the suggested command are lines of their own, whole (a terminal soft-wraps them).
    assert text.startswith(f"  {url}\n")
    lines = text[text.rindex("╭") :].splitlines()  # the last frame of the live panel, and what follows
    assert "  orchestrator history --sandbox --service web" in lines
    assert all(len(line) <= width for line in lines)
    (bar,) = [line for line in lines if "░" in line]
    assert "original demo-web-green  90.0% ░" in bar and "█  10.0% replacement demo-web-blue" in bar
    assert "stopped; see `orchestrator history`" in "\n".join(lines)


def test_plain_progress_line_names_original_and_replacement_target_groups() -> None:
    event = DeploymentProgress(
        "d-ABC123",
        "InProgress",
        blue_weight=0.0,
        green_weight=100.0,
        original_target_group="demo-web-green",
        replacement_target_group="demo-web-blue",
    )
    assert "traffic original demo-web-green 0% → replacement demo-web-blue 100%" in event.describe()


def test_a_failure_reason_on_the_error_line_is_not_repeated_in_the_panel() -> None:
    out = io.StringIO()
    rep = ConsoleReporter(out)
    rep.emit(DeploymentCreated("d-ABC123", "demo-web", "demo-web", ""))
    rep.emit(DeploymentProgress("d-ABC123", "InProgress"))
    rep.emit(DeploymentFinished("d-ABC123", "Failed", "Install failed: the full story", failed_command=True))
    rep.emit(Summary("release", False, 1))
    rep.close()
    assert "the full story" not in out.getvalue() and "Failed" in out.getvalue()


def _starting(dep: str = "d-ABC123", healthy: int = 0, event: str = "(service web) has started 2 tasks.", **kw):  # type: ignore[no-untyped-def]
    from orchestrator.events import ReplacementHealth

    mismatch = "Target.ResponseCodeMismatch: Health checks failed with these codes: [503]"
    return DeploymentProgress(
        dep,
        "InProgress",
        (LifecycleStatus("BeforeInstall", "Succeeded", duration_s=0.1), LifecycleStatus("Install", "InProgress")),
        blue_weight=100.0,
        green_weight=0.0,
        elapsed_s=95.0,
        replacement=ReplacementHealth(2, 2, healthy, 2, "" if healthy == 2 else mismatch),
        service_event=event,
        **kw,
    )


def test_during_install_the_panel_shows_the_replacements_counts_the_service_event_and_elapsed_since_creation() -> None:
    from rich.console import Console

    console = Console(width=100, file=io.StringIO(), record=True, force_terminal=True, no_color=True)
    rep = ConsoleReporter(io.StringIO(), console=console)
    rep.emit(DeploymentCreated("d-ABC123", "demo-web", "demo-web", ""))
    rep.emit(_starting())
    assert rep.panel is not None
    frame = _no_colour(rep.panel, width=100)
    rep.close()
    assert "replacement: 2/2 running · 0/2 healthy (Target.ResponseCodeMismatch: Health checks failed" in frame
    assert "ECS: (service web) has started 2 tasks." in frame
    # Elapsed counts from the deployment's creation (95 s before this progress), not from the panel's start.
    assert re.search(r"9[5-7]\.\ds elapsed", frame)


def test_plain_lines_carry_the_counts_and_each_new_service_event_once() -> None:
    from orchestrator.report.plain import PlainReporter

    out = io.StringIO()
    rep = PlainReporter(out)
    rep.emit(_starting())
    rep.emit(_starting())  # nothing new
    rep.emit(_starting(healthy=2))
    rep.emit(_starting(healthy=2, event="(service web) has reached a steady state."))
    lines = out.getvalue().splitlines()
    assert lines == [
        "d-ABC123 ECS: (service web) has started 2 tasks.",
        "d-ABC123 InProgress · Install in progress · replacement 2/2 running · 0/2 healthy "
        "(Target.ResponseCodeMismatch: Health checks failed with these codes: [503]) · "
        "traffic original 100% → replacement 0% · 95s",
        "d-ABC123 InProgress · Install in progress · replacement 2/2 running · 2/2 healthy · "
        "traffic original 100% → replacement 0% · 95s",
        "d-ABC123 ECS: (service web) has reached a steady state.",
    ]

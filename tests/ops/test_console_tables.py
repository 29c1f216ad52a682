"""The rich console renders `doctor` checks and `history` entries as tables; plain and JSON stay lines."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console
from rich.style import Style

from orchestrator.events import DoctorCheck, HistoryEntry, Message, Summary
from orchestrator.report import make_reporter
from orchestrator.report.console import ConsoleReporter, doctor_table, short_image

REPO = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo-web"
TD = "arn:aws:ecs:eu-west-1:123456789012:task-definition/demo-web:7"
SHA = "0123456789abcdef0123456789abcdef01234567"

CHECKS = [
    DoctorCheck("credentials", "pass", "arn:aws:iam::123456789012:user/ci"),
    DoctorCheck("listener", "fail", "prod listener arn:...:listener/x not found"),
    DoctorCheck("permissions", "skipped", "no IAM policy simulator here"),
]
ENTRIES = [
    HistoryEntry(
        "d-ROLLBACK1",
        "Succeeded",
        "codeDeployRollback",
        origin="autoRollback",
        task_definition=TD,
        image=f"{REPO}:h1",
        created="2026-11-26T14:00:05.123+00:00",
        duration_s=12.34,
        rollback_of="d-FAILED01",
    ),
    HistoryEntry(
        "d-FAILED01",
        "Failed",
        "user",
        origin="user",
        task_definition=TD.replace(":7", ":8"),
        image=f"{REPO}@sha256:{'ab' * 32}",
        git_sha=SHA,
        created="2026-11-26T13:59:00+00:00",
        duration_s=30.0,
        error="smoke test failed",
        rolled_back_by="d-ROLLBACK1",
    ),
]


def rich_reporter(width: int = 200) -> tuple[ConsoleReporter, Console]:
    rep = ConsoleReporter(io.StringIO())
    rep.console = Console(file=io.StringIO(), record=True, force_terminal=True, width=width, highlight=False)
    return rep, rep.console


def rows(text: str) -> list[list[str]]:
    """The table's lines split into cells (columns are two or more spaces apart), rules left out."""
    lines = [line.strip() for line in text.splitlines()]
    return [re.split(r"\s{2,}", line) for line in lines if line and set(line) != {"─"}]


def test_doctor_checks_become_one_table_printed_with_the_summary() -> None:
    rep, console = rich_reporter()
    for check in CHECKS:
        rep.emit(check)
    assert console.export_text(clear=False) == ""  # collected, not printed line by line
    rep.emit(Summary("doctor", False, 2, {"passed": 1, "failed": 1, "skipped": 1}))
    rep.close()
    text = console.export_text()
    lines = rows(text)
    header = lines.index(["check", "status", "detail"])
    assert lines[header + 1 : header + 4] == [
        ["credentials", "PASS", "arn:aws:iam::123456789012:user/ci"],
        ["listener", "FAIL", "prod listener arn:...:listener/x not found"],
        ["permissions", "SKIPPED", "no IAM policy simulator here"],
    ]
    assert text.count("credentials") == 1  # printed once: close() after the summary adds nothing
    assert text.rstrip().endswith("doctor failed (exit 2)")  # the table comes before the outcome


def test_doctor_statuses_are_coloured_pass_green_fail_red_skipped_yellow() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor", width=200)
    styles: dict[str, Style] = {}
    for segment in console.render(doctor_table(CHECKS)):
        if segment.text.strip() in ("PASS", "FAIL", "SKIPPED") and segment.style is not None:
            styles[segment.text.strip()] = segment.style
    colours = {word: style.color.name if style.color else None for word, style in styles.items()}
    assert colours == {"PASS": "green", "FAIL": "red", "SKIPPED": "yellow"}


def test_history_entries_become_one_table_with_short_image_sha_and_links() -> None:
    rep, console = rich_reporter()
    rep.emit(Message("reading history"))
    for entry in ENTRIES:
        rep.emit(entry)
    rep.emit(Summary("history", True, 0, {"count": 2}))
    text = console.export_text()
    lines = rows(text)
    header = lines.index(
        ["id", "status", "origin", "task definition", "image", "git sha", "start", "duration", "links"]
    )
    assert lines[header + 1] == [
        "d-ROLLBACK1",
        "Succeeded",
        "autoRollback",
        "demo-web:7",
        "demo-web:h1",
        "-",
        "2026-11-26 14:00:05",
        "12.3s",
        "rolls back d-FAILED01",
    ]
    assert lines[header + 2] == [
        "d-FAILED01",
        "Failed",
        "user",
        "demo-web:8",
        "demo-web@sha256:" + "ab" * 6,
        SHA[:12],
        "2026-11-26 13:59:00",
        "30.0s",
        "rolled back by d-ROLLBACK1",
    ]
    # An error is under the table, after its deployment's id: a narrow column would cut it to pieces.
    assert lines[header + 3] == ["d-FAILED01: smoke test failed"]
    assert "dkr.ecr" not in text and SHA not in text
    assert text.index("reading history") < text.index("task definition") < text.index("history succeeded")


def test_tables_without_a_summary_are_printed_on_close() -> None:
    rep, console = rich_reporter()
    rep.emit(CHECKS[0])
    rep.emit(ENTRIES[0])
    rep.close()
    text = console.export_text()
    assert "credentials" in text and "PASS" in text and "d-ROLLBACK1" in text
    rep.close()
    assert console.export_text() == ""  # nothing printed twice


def test_short_image() -> None:
    assert short_image(f"{REPO}:v1") == "demo-web:v1"
    assert short_image("nginx:1.27") == "nginx:1.27"
    assert short_image(f"{REPO}@sha256:{'0f' * 32}") == "demo-web@sha256:" + "0f" * 6
    assert short_image(None) == "-"


def test_plain_and_json_stay_one_line_per_event() -> None:
    events = [*CHECKS, *ENTRIES]
    plain = io.StringIO()
    rep = make_reporter("plain", plain)
    for e in events:
        rep.emit(e)
    rep.close()
    assert plain.getvalue().splitlines() == [e.describe() for e in events]

    out = io.StringIO()
    rep = make_reporter("json", out)
    for e in events:
        rep.emit(e)
    rep.close()
    docs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [d["event"] for d in docs] == ["doctor_check"] * 3 + ["history_entry"] * 2
    assert docs[0]["check"] == "credentials" and docs[0]["status"] == "pass"
    assert docs[4]["image"] == f"{REPO}@sha256:{'ab' * 32}" and docs[4]["git_sha"] == SHA


@pytest.mark.parametrize("width", [80, 120])
def test_tables_fit_the_width_without_splitting_a_word(width: int) -> None:
    from dataclasses import replace

    from orchestrator.report.console import history_table

    entries = [replace(e, service_key="web") for e in ENTRIES]
    checks = [replace(c, service_key="web") for c in CHECKS]
    console = Console(file=io.StringIO(), record=True, width=width, color_system=None)
    console.print(history_table(entries))
    console.print(doctor_table(checks))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= width
    words = set(re.findall(r"\S+", text))
    assert {"autoRollback", "d-ROLLBACK1", "d-FAILED01", "arn:aws:iam::123456789012:user/ci", "SKIPPED"} <= words
    # The error is under the table, whole; a column left out is named.
    assert "d-FAILED01: smoke test failed" in text
    if width == 80:
        assert re.search(r"not shown at 80 columns: .*git sha", text)

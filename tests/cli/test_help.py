"""Each command's help (issue 19): its options in groups and 1-3 examples that run as written, in plain
text that fits 80 columns (start-up stays free of rich: test_startup.py)."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout

import pytest
from clitree import walk
from test_docs_commands import problems

from orchestrator import cli

COMMANDS = [" ".join(path) for path, cmd in walk() if path and not hasattr(cmd, "commands")]


def help_text(command: str) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.run([*command.split(), "--help"]) == 0
    return out.getvalue()


def examples(text: str) -> list[str]:
    return [line.strip() for line in text.split("\nExamples:\n", 1)[1].splitlines() if line.strip()]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_one_to_three_examples_that_parse_and_fit(command: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COLUMNS", "80")
    text = help_text(command)
    lines = examples(text)
    assert 1 <= len(lines) <= 3, text
    for line in lines:
        assert f"orchestrator {command}" in line
        assert problems(line[line.index("orchestrator") :].rstrip(')"')) == [], line
    assert max(len(line) for line in text.splitlines()) <= 80 or command == "sandbox fault", text


def test_release_help_groups_its_options_and_lists_each_once(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COLUMNS", "80")
    text = help_text("release")
    headings = re.findall(r"^(\S[^:\n]*):$", text, re.MULTILINE)
    assert headings == [
        "What to release",
        "Build",
        "Following the deployment",
        "Several services",
        "Target (where the outputs come from, which service)",
        "Output",
        "Other options",
        "Examples",
    ]
    # Every option once, under its group.
    options = re.findall(r"^  (?:-\w, )?(--[a-z-]+)", text, re.MULTILINE)
    assert len(options) == len(set(options)) and {"--image", "--sandbox", "--atomic", "--help"} <= set(options)
    target = text.split("Target (where the outputs come from, which service):\n", 1)[1].split("\n\n", 1)[0]
    assert re.findall(r"^  (?:-\w, )?(--[a-z-]+)", target, re.MULTILINE) == [
        "--terraform-dir",
        "--env",
        "--outputs-file",
        "--sandbox",
        "--service",
        "--all",
    ]


def test_a_command_with_options_of_one_kind_keeps_one_list(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COLUMNS", "80")
    text = help_text("sandbox up")
    assert "\nOptions:\n" in text and "Other options" not in text

"""Readable without colour and at any width (issue 19), through the real CLI against the sandbox: the rich
output at COLUMNS=80 and 120 under NO_COLOR=1 fits the width, no table splits a word, and a suggested
command is a line of its own, whole; on a terminal, the error line's commands too."""

from __future__ import annotations

import os
import pty
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support import cli
from support.jsonlines import events

pytestmark = pytest.mark.e2e

WIDTHS = [80, 120]
# Lines a terminal may soft-wrap: a console link and a suggested command are never cut by us.
_WHOLE = re.compile(r"^  (https://|orchestrator )")


def rich(sandbox: Any, width: int, *args: str) -> subprocess.CompletedProcess[str]:
    return sandbox.cli(*args, "--output", "rich", env={"COLUMNS": str(width), "NO_COLOR": "1"}, timeout=120)


def assert_fits(text: str, width: int) -> None:
    assert "\x1b[" not in text  # NO_COLOR, off a terminal: no escape codes
    wide = [line for line in text.splitlines() if len(line) > width and not _WHOLE.match(line)]
    assert wide == [], "\n".join(wide)


def assert_whole(text: str, words: set[str]) -> None:
    """Each word is on one line: a table did not split it ("autoRollbac" / "k")."""
    found = set(re.findall(r"[\w.:-]+", text))
    assert words <= found, sorted(words - found)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_failed_release_and_its_history_fit_the_terminal(sandbox: Any, width: int) -> None:
    sandbox.control.set_faults(unhealthy=True)
    res = rich(sandbox, width, "release", "--sandbox", "--image", "repo/web:unhealthy")
    assert res.returncode == 1, res.stderr
    assert_fits(res.stdout, width)
    # After the failure all production traffic is on the original task set: every bar cell says so.
    bars = [line for line in res.stdout.splitlines() if "░" in line or "█" in line]
    assert bars and all("░" in line and "█" not in line for line in bars)

    hist = rich(sandbox, width, "history", "--sandbox")
    assert hist.returncode == 0, hist.stderr
    assert_fits(hist.stdout, width)
    entries = [e for e in events(sandbox.cli("history", "--sandbox", "-o", "json").stdout) if "deployment_id" in e]
    assert_whole(hist.stdout, {e["deployment_id"] for e in entries} | {"autoRollback", "Succeeded", "Failed"})
    # The failed deployment's error is under the table, after its id, wrapping between words.
    failed = next(e for e in entries if e["status"] == "Failed")
    assert re.search(rf"^{failed['deployment_id']}: \S", hist.stdout, re.MULTILINE)


def test_several_services_at_80_columns_reasons_under_the_table_commands_whole(sandbox_fleet: Any) -> None:
    web = sandbox_fleet.service_outputs("web")
    sandbox_fleet.control.set_faults(unhealthy=True, group=web["codedeploy_deployment_group_name"])
    res = rich(sandbox_fleet, 80, "release", "--sandbox", "--all", "--image", "repo/app:v2")
    assert res.returncode == 1, res.stderr
    assert_fits(res.stdout, 80)
    lines = res.stdout.splitlines()
    table = lines[max(i for i, line in enumerate(lines) if line.startswith("services")) :]
    assert any(re.match(r"^\s+web\s+Failed\s+d-\w+", line) for line in table)
    assert any(line.startswith("web: deployment d-") for line in table)  # the reason, under the rows
    # The suggested command: a line of its own, whole; the sentence names it.
    assert "  orchestrator history --sandbox --service web" in table
    assert "see `orchestrator history`" in " ".join(table)


def _stderr_on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(
            [*cli.ORCHESTRATOR, *args], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave
        )
    finally:
        os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the terminal's other end is closed and read through
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.returncode == 2
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_on_a_terminal_the_error_lines_command_is_a_line_of_its_own(tmp_path: Path) -> None:
    env = {**os.environ, "ORCHESTRATOR_SANDBOX_DIR": str(tmp_path), "COLUMNS": "80", "NO_COLOR": "1"}
    args = ["status", "--sandbox"]
    assert _stderr_on_a_terminal(args, env).splitlines() == [
        "error: the sandbox is not running (start it with `orchestrator sandbox up`)",
        "  orchestrator sandbox up",
    ]
    # Off a terminal (logs, pipes): the one line.
    piped = subprocess.run([*cli.ORCHESTRATOR, *args], env=env, capture_output=True, text=True, check=False)
    assert piped.stderr.splitlines() == ["error: the sandbox is not running (start it with `orchestrator sandbox up`)"]

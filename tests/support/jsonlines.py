"""The CLI's `--output json` lines: every event has `event` and `time`; the last is the summary."""

from __future__ import annotations

import json
from typing import Any


def events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def summary(stdout: str) -> dict[str, Any]:
    evs = events(stdout)
    assert evs, f"no JSON lines on stdout: {stdout!r}"
    assert evs[-1]["event"] == "summary"
    return evs[-1]


def of_kind(stdout: str, kind: str) -> list[dict[str, Any]]:
    return [e for e in events(stdout) if e["event"] == kind]

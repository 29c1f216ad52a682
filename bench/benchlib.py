"""What the benchmarks share: running a command with a deadline, and the pure arithmetic over what they
observed (request logs, spans, ratios). The pure helpers are unit-tested in tests/benchmarks/."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.sandbox.control import is_read

ROOT = Path(__file__).resolve().parents[1]
ORCH = [sys.executable, "-m", "orchestrator"]
AWS = ROOT / ".venv-tools" / "awscli" / "bin" / "aws"
COMMAND_TIMEOUT_S = 240.0  # one release at the bench's time scale takes ~20-30 s; a hang must not stall make


def sh(
    cmd: list[str], env: dict[str, str], check: bool = True, timeout: float = COMMAND_TIMEOUT_S
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run cmd (output captured) and return (wall seconds, result); exit the bench, naming the command,
    when it fails (check) or outlives `timeout` (SystemExit: the callers' `finally` stops the sandbox)."""
    t0 = time.time()
    try:
        res = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        sys.exit(f"bench: {' '.join(map(str, cmd))} did not finish within {timeout:.0f} s")
    took = time.time() - t0
    if check and res.returncode != 0:
        sys.exit(f"bench: {' '.join(map(str, cmd))} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return took, res


def calls(control: Any) -> tuple[int, str]:
    """Total AWS calls the sandbox counted since its last reset, and a breakdown per action."""
    counts = control.request_counts()
    flat = sorted(((f"{svc}:{action}", n) for svc, actions in counts.items() for action, n in actions.items()))
    return sum(n for _, n in flat), ", ".join(f"{name} {n}" for name, n in flat)


@dataclass(frozen=True)
class Call:
    """One AWS API call from a request log, e.g. Call("ecs", "RegisterTaskDefinition")."""

    service: str
    action: str

    def __str__(self) -> str:
        return f"{self.service}:{self.action}"


def read_call_log(path: Path) -> list[Call]:
    """The calls of a bench/calltrace.py log, in the order they were made (by their time)."""
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Call(str(e["service"]), str(e["action"])) for e in sorted(lines, key=lambda e: float(e["at"]))]


def before_first_write(calls: list[Call]) -> tuple[list[Call], Call | None]:
    """The calls made before the first one that is not a read (sandbox/control.py's is_read), and that
    first write (None when the log has none: then every call is 'before')."""
    for i, call in enumerate(calls):
        if not is_read(call.action):
            return calls[:i], call
    return list(calls), None


def per_action(calls: list[Call]) -> dict[str, int]:
    return dict(Counter(str(c) for c in calls))


def grown(small: dict[str, int], large: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Actions whose count differs between two breakdowns: {action: (small, large)}, biggest growth first."""
    changed = {k: (small.get(k, 0), large.get(k, 0)) for k in small.keys() | large.keys()}
    changed = {k: v for k, v in changed.items() if v[0] != v[1]}
    return dict(sorted(changed.items(), key=lambda kv: (kv[1][0] - kv[1][1], kv[0])))


def overhead(wall_s: float, started: float, finished: float) -> float:
    """A release's own cost: its wall time minus the deployment's span (created -> completed, epoch s)."""
    if finished < started:
        raise ValueError(f"the deployment finished ({finished:.3f}) before it started ({started:.3f})")
    return wall_s - (finished - started)


def ratio(ours: float, theirs: float) -> float:
    return ours / theirs if theirs else float("inf")

"""The product's CLI as users run it: `python -m orchestrator ...` in a subprocess, text captured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ORCHESTRATOR = (sys.executable, "-m", "orchestrator")


def run(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
    check: bool = False,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `orchestrator *args` with this interpreter (the worktree's venv)."""
    return subprocess.run(
        [*ORCHESTRATOR, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
        input=input,
    )


def start(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.Popen[str]:
    """Start `orchestrator *args` without waiting: a test reads its output as it comes (to interrupt it,
    or to act on the sandbox at a given moment)."""
    return subprocess.Popen(
        [*ORCHESTRATOR, *args], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )

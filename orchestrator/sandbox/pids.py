"""Whether a process id is alive (its own module: the sandbox's process and its image registry both need it)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def _reap(pid: int) -> None:
    # When `up` ran in this very process (tests call orchestrator.cli.run), the launcher is our child
    # and stays a zombie until waited for.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"

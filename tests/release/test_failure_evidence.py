"""Why it failed, in one look (issue 19), through the real CLI against the sandbox: the reason leads with
what AWS says of the replacement (target health with path, code and reason code; a crashed container's
exit code and last log line) and ends with what to do next; while the replacement starts, progress
carries its counts, the service's latest event, Install's countdown and the elapsed time since creation."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from support.jsonlines import events

pytestmark = pytest.mark.e2e


def _release(sandbox: Any, tag: str) -> tuple[Any, dict[str, Any]]:
    res = sandbox.cli("release", "--sandbox", "--output", "json", "--image", f"repo/web:{tag}", timeout=120)
    return res, json.loads(res.stdout.splitlines()[-1])


def test_an_unhealthy_release_names_the_health_check_path_the_code_and_the_reason_code(sandbox: Any) -> None:
    sandbox.control.set_faults(unhealthy=True, health_code=503)
    res, summary = _release(sandbox, "unhealthy")
    assert res.returncode == 1, res.stderr
    reason = summary["reason"]
    assert re.match(
        r"deployment d-\w+ failed: replacement tasks fail health checks on /health: 503 "
        r"\(Target\.ResponseCodeMismatch\), \d+ of \d+ tasks; ",
        reason,
    ), reason
    assert reason.endswith("fix the health check or the app, release again; see `orchestrator history --sandbox`")
    health = summary["details"]["evidence"]["health"]
    assert health["target_group"] and health["path"] == "/health"
    assert any(
        f[:3] == ["unhealthy", "Target.ResponseCodeMismatch", "Health checks failed with these codes: [503]"]
        for f in health["failing"]
    )


def test_a_crashing_container_names_its_exit_code_and_its_last_log_line(sandbox: Any) -> None:
    sandbox.control.set_faults(
        crash_exit_code=3, crash_log=["connecting to the database", "FATAL: DATABASE_URL is not set"]
    )
    res, summary = _release(sandbox, "crash")
    assert res.returncode == 1, res.stderr
    reason = summary["reason"]
    assert re.match(
        r"deployment d-\w+ failed: container web exited 3( \(\d+ tasks\))?: FATAL: DATABASE_URL is not set; ", reason
    ), reason
    assert "fix what makes the container exit, release again" in reason
    stopped = summary["details"]["evidence"]["stopped"]
    assert stopped and stopped[0]["stop_code"] == "EssentialContainerExited"
    assert stopped[0]["log_tail"][-1] == "FATAL: DATABASE_URL is not set"


def test_while_the_replacement_starts_progress_has_its_counts_the_service_event_and_install_countdown(
    sandbox: Any,
) -> None:
    # A slower clock than the tests' (the fixture resets it): Install lasts a few polls.
    sandbox.control.time_scale(0.05)
    res = sandbox.cli("release", "--sandbox", "--output", "json", "--image", "repo/web:counts", timeout=120)
    assert res.returncode == 0, res.stderr
    docs = events(res.stdout)
    starting = [d for d in docs if d["event"] == "deployment_progress" and d.get("replacement")]
    assert starting, "no progress with the replacement's counts"
    assert all(d["replacement"]["desired"] == 2 for d in starting)
    # The replacement's targets, read from the replacement target group; any not healthy says why.
    counts = [d["replacement"] for d in starting]
    assert any(c["targets"] == 2 for c in counts)
    assert all(c["failing"] for c in counts if c["targets"] and c["healthy"] < c["targets"])
    assert any(d.get("service_event") for d in starting)
    assert any(d["event"] == "wait" and d["wait"] == "install" for d in docs)
    # Elapsed counts from the deployment's creation: it never goes back, and the last one is close to the
    # deployment's whole duration.
    elapsed = [d["elapsed_s"] for d in docs if d["event"] == "deployment_progress"]
    assert elapsed == sorted(elapsed) and elapsed[-1] > 0


def test_the_live_panel_on_a_terminal_shows_the_replacements_healthy_count_during_install(sandbox: Any) -> None:
    """The rich panel as a terminal gets it (a pseudo-terminal): while Install runs, its frames carry
    `replacement: N/2 running · M/2 healthy`."""
    import os
    import pty
    import subprocess

    from support import cli

    sandbox.control.time_scale(0.05)
    master, slave = pty.openpty()
    env = sandbox.env(COLUMNS="100", NO_COLOR="1")
    proc = subprocess.Popen(
        [*cli.ORCHESTRATOR, "release", "--sandbox", "--image", "repo/web:live"],
        env=env,
        cwd=sandbox.repo_root,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.DEVNULL,
    )
    os.close(slave)
    chunks = []
    while True:  # read as it comes: a full terminal buffer would block the release
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the process closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    proc.wait(timeout=120)
    assert proc.returncode == 0
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode(errors="replace"))
    assert re.search(r"replacement: \d/2 running · \d/2 healthy", screen), screen[-3000:]

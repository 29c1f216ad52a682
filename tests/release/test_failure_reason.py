"""The one-line failure reason: at most ~300 characters, target groups by name, each clue once, ending
with what to do next; the full story is in the JSON summary's `details` (issue 10)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from orchestrator.reason import REASON_MAX, next_step, one_line, with_names

TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/demo-web-green/0123456789abcdef"


def test_a_long_reason_is_cut_with_names_once_and_ends_with_the_next_step() -> None:
    clue = f"(service web) (port 8080) is unhealthy in (target-group {TG}) due to (reason Health checks failed)"
    clues = [
        "Install failed: the replacement task set never became healthy",
        *[f"ECS: {clue}"] * 5,
        f"stopped task 1234: Task failed ELB health checks in (target-group {TG}); " + "x" * 800,
    ]
    tail = "rolled back by d-DEF (succeeded); " + next_step(clues, "orchestrator history --sandbox")
    reason = one_line("deployment d-ABC failed", clues, tail)
    assert len(reason) <= REASON_MAX
    assert "arn:aws:elasticloadbalancing" not in reason and "demo-web-green" in reason
    assert reason.count("is unhealthy in") == 1  # the same clue is not repeated
    assert reason.startswith("deployment d-ABC failed: Install failed")
    assert reason.endswith("fix the health check or the app, release again; see `orchestrator history --sandbox`")


def test_a_short_reason_is_left_whole() -> None:
    assert one_line("deployment d-1 failed", ["AllowTraffic failed: listener refused"], "fix it") == (
        "deployment d-1 failed: AllowTraffic failed: listener refused; fix it"
    )
    assert with_names(f"in {TG}\nnext") == "in demo-web-green next"


@pytest.mark.e2e
def test_unhealthy_release_reason_is_short_printed_once_and_detailed_in_json(sandbox: Any) -> None:
    sandbox.control.set_faults(unhealthy=True)
    res = sandbox.cli("release", "--sandbox", "--output", "json", "--image", "repo/web:unhealthy", timeout=90)
    assert res.returncode == 1, res.stderr
    error = res.stderr.strip().splitlines()[-1]
    assert error.startswith("error: deployment d-") and len(error) <= len("error: ") + REASON_MAX
    assert "targetgroup/" not in error
    assert "rolled back by d-" in error and "(succeeded)" in error
    assert error.endswith(", release again; see `orchestrator history --sandbox`")
    assert sum("health check" in line.lower() for line in res.stderr.splitlines()) == 1
    summary = json.loads(res.stdout.splitlines()[-1])
    assert summary["reason"] == error.removeprefix("error: ")
    assert "Install failed" in summary["details"]["failure"]
    # The cause first (issue 19): what the replacement's targets or stopped tasks say, then CodeDeploy's event.
    clues = summary["details"]["clues"]
    assert re.match(r"(replacement tasks fail health checks|\d+ replacement tasks? stopped: Task failed ELB)", clues[0])
    assert any(c.startswith("Install failed") for c in clues[1:])
    evidence = summary["details"]["evidence"]
    assert evidence["stopped"] or evidence["health"]["failing"]

    sandbox.control.set_faults(unhealthy=True)  # a fault applies to one deployment
    plain = sandbox.cli("release", "--sandbox", "--output", "plain", "--image", "repo/web:unhealthy2", timeout=90)
    assert plain.returncode == 1
    reason = plain.stderr.strip().splitlines()[-1].removeprefix("error: ")
    # printed once: on the error line, not again by the reporter's deployment_finished line
    assert reason not in plain.stdout
    finished = [line for line in plain.stdout.splitlines() if line.startswith("deployment d-") and "Failed" in line]
    assert finished and all("Install failed" not in line for line in finished)

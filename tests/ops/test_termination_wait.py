"""Ending the termination wait early, and CI that stops waiting at traffic-shifted and reports the end
later: `release --wait-until traffic-shifted`, `approve --termination-wait`, `status --watch`, end to
end through the CLI against the sandbox.

AWS source: API reference, ContinueDeployment (deploymentWaitType TERMINATION_WAIT: "the deployment
continues to terminate the original ... task set" without waiting out terminationWaitTimeInMinutes).
"""

from __future__ import annotations

import time

import pytest
from ops_support import deployment, hold_deployments, of_kind, serving_group, summary

pytestmark = pytest.mark.e2e

TERMINATION_MINUTES = 60  # 3600 simulated seconds: 36 wall seconds at the tests' time scale


def _image(sandbox, tag: str) -> str:
    return sandbox.pushed(tag)


def test_approve_termination_wait_ends_the_deployment_well_before_its_wait(sandbox) -> None:
    where = ("--outputs-file", str(hold_deployments(sandbox, termination_minutes=TERMINATION_MINUTES)))
    wait_s = TERMINATION_MINUTES * 60 * sandbox.time_scale
    green = sandbox.service_outputs()["green_target_group_name"]
    shifted = sandbox.cli(
        "release", *where, "--output", "json", "--image", _image(sandbox, "tw"), "--wait-until", "traffic-shifted"
    )
    assert shifted.returncode == 0, shifted.stderr
    s = summary(shifted.stdout)
    dep = s["deployment_id"]
    assert s["status"] == "traffic-shifted", s
    assert "follow it with `orchestrator status --watch" in s["message"]
    assert "`orchestrator approve --termination-wait" in s["message"]
    assert deployment(sandbox, dep)["status"] == "InProgress"  # in its termination wait
    assert serving_group(sandbox) == green
    # The wait it stopped at is named with its length (the group's setting, at the sandbox's scale).
    (wait,) = [w for w in of_kind(shifted.stdout, "wait") if w["wait"] == "termination_wait"]
    assert wait["deployment_id"] == dep
    assert wait["total_s"] == pytest.approx(wait_s)
    assert 0 < wait["remaining_s"] <= wait["total_s"]

    started = time.monotonic()
    ended = sandbox.cli("approve", *where, "--output", "json", "--termination-wait")
    took = time.monotonic() - started
    assert ended.returncode == 0, ended.stderr
    assert summary(ended.stdout)["status"] == "Succeeded"
    assert deployment(sandbox, dep)["status"] == "Succeeded"
    assert took < wait_s / 3, f"approve --termination-wait took {took:.1f}s of a {wait_s:.0f}s wait"
    assert serving_group(sandbox) == green


def test_approve_termination_wait_refuses_a_deployment_not_in_its_wait(sandbox) -> None:
    where = ("--outputs-file", str(hold_deployments(sandbox, wait_for_approval=True)))
    started = sandbox.cli("release", *where, "--output", "json", "--image", _image(sandbox, "ready"), "--no-wait")
    assert started.returncode == 0, started.stderr
    dep = summary(started.stdout)["deployment_id"]
    for _ in range(200):
        if deployment(sandbox, dep)["status"] == "Ready":
            break
        time.sleep(0.05)
    res = sandbox.cli("approve", *where, "--output", "json", "--termination-wait")
    assert res.returncode == 2, res.stderr
    assert f"deployment {dep} is Ready, not in its termination wait" in res.stderr
    assert deployment(sandbox, dep)["status"] == "Ready"  # nothing was continued


def test_status_watch_after_a_traffic_shifted_release_reports_the_final_success(sandbox) -> None:
    # CI: one job releases and stops waiting once production is on green; a later step reports the end.
    where = ("--outputs-file", str(hold_deployments(sandbox, termination_minutes=10)))
    shifted = sandbox.cli(
        "release", *where, "--output", "json", "--image", _image(sandbox, "ci"), "--wait-until", "traffic-shifted"
    )
    assert shifted.returncode == 0, shifted.stderr
    dep = summary(shifted.stdout)["deployment_id"]
    assert deployment(sandbox, dep)["status"] == "InProgress"
    watched = sandbox.cli("status", *where, "--output", "json", "--watch", "--timeout", "60")
    assert watched.returncode == 0, watched.stderr
    progress = of_kind(watched.stdout, "deployment_progress")
    assert progress and progress[-1]["deployment_id"] == dep and progress[-1]["status"] == "Succeeded"
    assert summary(watched.stdout)["last_status"] == "Succeeded"

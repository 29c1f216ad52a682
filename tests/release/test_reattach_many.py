"""Re-attach for several services (issue 20.2): a re-run of the same multi-service release after
--no-wait, Ctrl-C or kill -9 follows the deployments already in progress to their end and reports
them as they are; --atomic never reports an undo it did not do."""

from __future__ import annotations

import signal
import time
from typing import Any

import pytest
from support import cli
from support.jsonlines import summary

pytestmark = pytest.mark.e2e

SERVICES = ("api", "web", "worker")


@pytest.fixture
def three(sandbox: Any) -> Any:
    sandbox.reprovision(SERVICES)
    # All three still in progress when the same command runs again, on a loaded machine too.
    sandbox.control.time_scale(0.1)
    return sandbox


def release(sandbox: Any, *args: str, timeout: float = 180) -> Any:
    return sandbox.cli("release", "--sandbox", "--output", "json", *args, timeout=timeout)


def _args(sandbox: Any) -> list[str]:
    return [
        "--all",
        "--atomic",
        *[f"--image={k}={sandbox.pushed('v2', k)}" for k in SERVICES],
    ]


def _active(sandbox: Any) -> dict[str, str]:
    """Service key -> the deployment in progress in its group."""
    cd = sandbox.client("codedeploy")
    found = {}
    for key in SERVICES:
        svc = sandbox.service_outputs(key)
        ids = cd.list_deployments(
            applicationName=svc["codedeploy_app_name"],
            deploymentGroupName=svc["codedeploy_deployment_group_name"],
            includeOnlyStatuses=["Created", "Queued", "InProgress", "Ready"],
        )["deployments"]
        if ids:
            found[key] = ids[0]
    return found


def _first_run(sandbox: Any, how: str) -> dict[str, str]:
    """The release once, left with its deployments running: --no-wait, Ctrl-C or kill -9 once all three exist."""
    if how == "no-wait":
        first = release(sandbox, *_args(sandbox), "--no-wait")
        assert first.returncode == 0, first.stderr
        return {k: v["deployment_id"] for k, v in summary(first.stdout)["services"].items()}
    proc = cli.start(
        "release", "--sandbox", "--output", "json", *_args(sandbox), env=sandbox.env(), cwd=sandbox.repo_root
    )
    try:
        deadline = time.monotonic() + 60
        while len(_active(sandbox)) < len(SERVICES) and time.monotonic() < deadline:
            time.sleep(0.05)
        created = _active(sandbox)
        assert len(created) == len(SERVICES), created
        proc.send_signal(signal.SIGINT if how == "ctrl-c" else signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == (130 if how == "ctrl-c" else -signal.SIGKILL)
    return created


@pytest.mark.parametrize("how", ["no-wait", "ctrl-c", "kill-9"])
def test_the_same_atomic_release_run_again_reattaches_and_succeeds(three: Any, how: str) -> None:
    created = _first_run(three, how)
    assert _active(three) == created  # still in progress: the re-run meets them
    again = release(three, *_args(three))
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr
    s = summary(again.stdout)
    assert {k: v["deployment_id"] for k, v in s["services"].items()} == created
    assert "but demo/" not in again.stdout + again.stderr  # no "reported success, but ... runs ..., not "
    assert "undo" not in again.stdout.lower() and "rolled back" not in again.stdout.lower()
    assert s["status"] == "Succeeded" and all(v["reattached"] for v in s["services"].values())
    for key, one in s["services"].items():
        info = three.client("codedeploy").get_deployment(deploymentId=created[key])["deploymentInfo"]
        assert info["status"] == "Succeeded"
        assert one["task_definition_arn"] == one["serving_task_definition"], one  # what it deployed serves


def test_atomic_says_which_service_was_not_rolled_back_instead_of_every_service(sandbox: Any) -> None:
    """worker's group has automatic rollback off and fails after production traffic moved: it keeps
    serving its new revision, so --atomic must not claim that every service rolled back."""
    sandbox.reprovision(SERVICES)
    worker = sandbox.service_outputs("worker")
    cd = sandbox.client("codedeploy")
    cd.update_deployment_group(
        applicationName=worker["codedeploy_app_name"],
        currentDeploymentGroupName=worker["codedeploy_deployment_group_name"],
        autoRollbackConfiguration={"enabled": False, "events": []},
    )
    sandbox.control.set_faults(
        fail_at="AfterAllowTraffic",
        message="post-traffic check failed",
        group=worker["codedeploy_deployment_group_name"],
    )
    res = release(sandbox, *_args(sandbox))
    assert res.returncode == 1, res.stderr
    s = summary(res.stdout)
    one = s["services"]["worker"]
    assert one["serving_task_definition"] == one["task_definition_arn"]  # it was not undone
    assert s["status"] == "Failed"
    assert "every service rolled back" not in s["reason"]
    assert "not rolled back: worker" in s["reason"]

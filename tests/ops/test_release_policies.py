"""Release policies end to end: --if-active fail|wait|replace with two concurrent releases, re-attach,
the older-build refusal, and --stop-on-cancel on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from ops_support import (
    deployment,
    events,
    lifecycle,
    of_kind,
    primary_task_definition,
    release,
    serving_group,
    start_release,
    summary,
    wait_for,
    wait_status,
)

pytestmark = pytest.mark.e2e


def image(sandbox, tag: str) -> str:
    return f"{sandbox.service_outputs()['ecr_repository_url']}:{tag}"


def test_if_active_fail_names_the_active_deployment_and_writes_nothing(sandbox) -> None:
    first = start_release(sandbox, image(sandbox, "a"))
    before = sandbox.mutating_calls()
    res = release(sandbox, image(sandbox, "b"))  # --if-active fail is the default
    assert res.returncode == 1, res.stderr
    assert first in res.stderr and "in progress" in res.stderr
    (found,) = of_kind(res.stdout, "active_deployment")
    assert found["deployment_id"] == first and found["action"] == "fail"
    s = summary(res.stdout)
    assert s["ok"] is False and s["exit_code"] == 1
    assert sandbox.mutating_calls() == before  # no task definition registered, no deployment created
    assert deployment(sandbox, first)["status"] in ("Created", "InProgress")


def test_if_active_wait_deploys_after_the_active_one(sandbox) -> None:
    first = start_release(sandbox, image(sandbox, "a"))
    res = release(sandbox, image(sandbox, "b"), "--if-active", "wait")
    assert res.returncode == 0, res.stderr
    s = summary(res.stdout)
    assert s["deployment_id"] != first and s["status"] == "Succeeded"
    assert deployment(sandbox, first)["status"] == "Succeeded"
    kinds = [e["event"] for e in events(res.stdout)]
    assert kinds.index("active_deployment") < kinds.index("task_definition_registered")
    # The waited-for deployment finished before ours was created.
    first_done = deployment(sandbox, first)["completeTime"]
    assert deployment(sandbox, s["deployment_id"])["createTime"] >= first_done
    assert primary_task_definition(sandbox) == s["task_definition_arn"]


def test_if_active_replace_stops_rolls_back_then_deploys(sandbox) -> None:
    blue = sandbox.service_outputs()["blue_target_group_name"]
    initial = primary_task_definition(sandbox)
    first = start_release(sandbox, image(sandbox, "a"))
    wait_for("Install to finish", lambda: lifecycle(sandbox, first).get("Install") == "Succeeded")
    res = release(sandbox, image(sandbox, "b"), "--if-active", "replace")
    assert res.returncode == 0, res.stderr
    s = summary(res.stdout)
    stopped = deployment(sandbox, first)
    assert stopped["status"] == "Stopped"
    rollback_id = stopped["rollbackInfo"]["rollbackDeploymentId"]
    assert deployment(sandbox, rollback_id)["status"] == "Succeeded"
    (found,) = of_kind(res.stdout, "active_deployment")
    assert found["deployment_id"] == first and found["action"] == "replace"
    # The rollback confirmed blue serving the initial task definition before the new deployment began.
    confirm = [e["text"] for e in of_kind(res.stdout, "message") if e["text"].startswith("production traffic")]
    assert confirm and blue in confirm[0] and initial in confirm[0]
    assert deployment(sandbox, rollback_id)["completeTime"] <= deployment(sandbox, s["deployment_id"])["createTime"]
    assert s["status"] == "Succeeded"
    assert primary_task_definition(sandbox) == s["task_definition_arn"]


def test_identical_release_reattaches_to_the_active_deployment(sandbox) -> None:
    first = start_release(sandbox, image(sandbox, "same"))
    registered = sandbox.counts()["ecs"]["RegisterTaskDefinition"]
    res = release(sandbox, image(sandbox, "same"))
    assert res.returncode == 0, res.stderr
    s = summary(res.stdout)
    assert s["deployment_id"] == first and s["reattached"] is True and s["status"] == "Succeeded"
    (found,) = of_kind(res.stdout, "active_deployment")
    assert found["action"] == "reattach"
    assert sandbox.counts()["ecs"]["RegisterTaskDefinition"] == registered  # nothing registered again
    assert sandbox.counts()["codedeploy"]["CreateDeployment"] == 1


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def test_older_build_is_refused_unless_forced(sandbox, tmp_path: Path) -> None:
    repo = tmp_path / "app"
    repo.mkdir()
    _git(repo, "init", "-q")
    shas = []
    for i in range(2):
        (repo / "f").write_text(str(i))
        _git(repo, "add", "f")
        _git(repo, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", f"c{i}")
        shas.append(_git(repo, "rev-parse", "HEAD"))
    old, new = shas
    files = ("--taskdef", str(sandbox.repo_root / "taskdef.json"), "--appspec", str(sandbox.repo_root / "appspec.json"))
    ok = release(sandbox, image(sandbox, "new"), *files, cwd=repo, env={"GITHUB_SHA": new})
    assert ok.returncode == 0, ok.stderr
    running = primary_task_definition(sandbox)

    refused = release(sandbox, image(sandbox, "old"), *files, cwd=repo, env={"GITHUB_SHA": old})
    assert refused.returncode == 2, refused.stderr
    assert "older build" in refused.stderr and old[:12] in refused.stderr and "--force" in refused.stderr
    assert "commit order" in refused.stderr
    assert primary_task_definition(sandbox) == running
    assert sandbox.counts()["codedeploy"]["CreateDeployment"] == 1

    forced = release(sandbox, image(sandbox, "old"), *files, "--force", "--no-wait", cwd=repo, env={"GITHUB_SHA": old})
    assert forced.returncode == 0, forced.stderr
    assert sandbox.counts()["codedeploy"]["CreateDeployment"] == 2


def test_stop_on_cancel_stops_and_rolls_back_a_cancelled_release(sandbox) -> None:
    blue = sandbox.service_outputs()["blue_target_group_name"]
    initial = primary_task_definition(sandbox)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestrator",
            "release",
            "--sandbox",
            "--output",
            "json",
            "--stop-on-cancel",
            "--image",
            image(sandbox, "cancel"),
        ],
        env=sandbox.env(),
        cwd=sandbox.repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        cd = sandbox.client("codedeploy")
        out = sandbox.service_outputs()
        dep = wait_for(
            "the release to create its deployment",
            lambda: (
                cd.list_deployments(
                    applicationName=out["codedeploy_app_name"],
                    deploymentGroupName=out["codedeploy_deployment_group_name"],
                )["deployments"]
                or [None]
            )[0],
        )
        wait_for("production traffic on green", lambda: lifecycle(sandbox, dep).get("AllowTraffic") == "Succeeded")
        proc.send_signal(signal.SIGTERM)  # what a cancelled CI job gets
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "stopped and rolled back" in stderr
    info = deployment(sandbox, dep)
    assert info["status"] == "Stopped"
    rollback_id = info["rollbackInfo"]["rollbackDeploymentId"]
    assert wait_status(sandbox, rollback_id, "Succeeded")
    assert serving_group(sandbox) == blue
    assert primary_task_definition(sandbox) == initial
    s = summary(stdout)
    assert s["exit_code"] == 130 and s["rollback_deployment_id"] == rollback_id and s["status"] == "RolledBack"

"""`orchestrator status` and `history` end to end through the CLI against the sandbox."""

from __future__ import annotations

import subprocess
import sys

import pytest
from ops_support import (
    approval_group,
    of_kind,
    ops,
    primary_task_definition,
    release,
    summary,
    wait_status,
)

pytestmark = pytest.mark.e2e


def test_status_before_during_and_after_a_deployment(sandbox) -> None:
    out = sandbox.service_outputs()
    blue, green = out["blue_target_group_name"], out["green_target_group_name"]
    initial = primary_task_definition(sandbox)
    # The group holds the deployment in Ready until approved: "during" lasts as long as the test needs.
    outputs = approval_group(sandbox)
    where = ("--outputs-file", str(outputs))

    res = sandbox.cli("status", *where, "--output", "json")
    assert res.returncode == 0, res.stderr
    (st,) = of_kind(res.stdout, "status")
    assert st["task_definition"] == initial
    assert st["production"] == {blue: 100.0}
    assert st["active_deployment"] is None and st["last_deployment"] is None
    assert st["running"] == st["desired"] > 0
    assert [ts["status"] for ts in st["task_sets"]] == ["PRIMARY"]

    image = out["ecr_repository_url"] + ":status-2"
    started = sandbox.cli("release", *where, "--output", "json", "--image", image, "--no-wait")
    assert started.returncode == 0, started.stderr
    dep = summary(started.stdout)["deployment_id"]
    wait_status(sandbox, dep, "Ready")
    res = sandbox.cli("status", *where, "--output", "json")
    assert res.returncode == 0, res.stderr
    (st,) = of_kind(res.stdout, "status")
    assert st["active_deployment"]["deployment_id"] == dep
    assert st["active_deployment"]["status"] == "Ready"
    assert st["active_deployment"]["image"] == image
    steps = {e["name"]: e["status"] for e in st["lifecycle"]}
    assert steps["Install"] == "Succeeded" and steps["AllowTraffic"] != "Succeeded"
    assert st["production"] == {blue: 100.0, green: 0.0} or st["production"] == {blue: 100.0}
    assert st["test"].get(green) == 100.0  # the replacement takes test traffic
    assert sorted(ts["status"] for ts in st["task_sets"]) == ["ACTIVE", "PRIMARY"]
    assert summary(res.stdout)["active_deployment_id"] == dep

    # Plain lines say the same for people.
    plain = sandbox.cli("status", *where, "--output", "plain")
    assert plain.returncode == 0, plain.stderr
    assert f"active deployment {dep} Ready" in plain.stdout

    # --watch follows the deployment live to its end, then shows the status again.
    watcher = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "status", *where, "--output", "json", "--watch", "--timeout", "60"],
        env=sandbox.env(),
        cwd=sandbox.repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert watcher.stdout is not None
        first = watcher.stdout.readline()  # the first status: the deployment waits
        assert '"event":"status"' in first
        approved = sandbox.cli("approve", *where, "--output", "json", "--no-wait")
        assert approved.returncode == 0, approved.stderr
        rest, errors = watcher.communicate(timeout=60)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    assert watcher.returncode == 0, errors
    (after,) = of_kind(rest, "status")
    progress = of_kind(rest, "deployment_progress")
    assert progress and progress[-1]["deployment_id"] == dep and progress[-1]["status"] == "Succeeded"
    new_td = primary_task_definition(sandbox)
    assert new_td != initial
    assert after["task_definition"] == new_td and after["image"] == image
    assert after["production"].get(green) == 100.0
    assert after["active_deployment"] is None
    assert after["last_deployment"]["deployment_id"] == dep
    assert after["last_deployment"]["status"] == "Succeeded"
    assert summary(rest)["last_status"] == "Succeeded"


def test_history_after_releases_and_an_auto_rollback(sandbox) -> None:
    repo = sandbox.service_outputs()["ecr_repository_url"]
    sha1, sha2 = "1" * 40, "2" * 40
    ok = release(sandbox, f"{repo}:h1", env={"GITHUB_SHA": sha1})
    assert ok.returncode == 0, ok.stderr
    first = summary(ok.stdout)
    # The next release fails after traffic moved; the group rolls it back by itself.
    sandbox.control.set_faults(fail_at="AfterAllowTraffic", message="smoke test failed")
    bad = release(sandbox, f"{repo}:h2", env={"GITHUB_SHA": sha2})
    assert bad.returncode == 1, bad.stderr
    failed = summary(bad.stdout)
    rollback_id = failed["rollback_deployment_id"]
    wait_status(sandbox, rollback_id, "Succeeded")
    # As on AWS (API reference, RevisionLocation/AppSpecContent), GetDeployment carries no AppSpec text:
    # history finds each task definition through GetApplicationRevision, once per sha256.
    info = sandbox.client("codedeploy").get_deployment(deploymentId=first["deployment_id"])["deploymentInfo"]
    assert "content" not in info["revision"]["appSpecContent"]
    sandbox.control.reset_requests()

    res = ops(sandbox, "history")
    assert res.returncode == 0, res.stderr
    # Three deployments, two revisions (the rollback redeploys the first release's AppSpec).
    assert sandbox.counts()["codedeploy"]["GetApplicationRevision"] == 2
    entries = of_kind(res.stdout, "history_entry")
    assert [e["deployment_id"] for e in entries] == [rollback_id, failed["deployment_id"], first["deployment_id"]]
    rb, fail, good = entries
    assert good["status"] == "Succeeded" and good["origin"] == "user"
    assert good["git_sha"] == sha1 and good["image"] == f"{repo}:h1"
    assert good["task_definition"] == first["task_definition_arn"]
    assert good["duration_s"] is not None and good["duration_s"] > 0
    assert fail["status"] == "Failed" and fail["git_sha"] == sha2
    assert fail["rolled_back_by"] == rollback_id
    assert "smoke test failed" in fail["error"] or fail["error"]
    assert rb["origin"] == "autoRollback" and rb["rollback_of"] == fail["deployment_id"]
    # The rollback put back what ran before: the first release's task definition and image.
    assert rb["task_definition"] == first["task_definition_arn"]
    assert rb["image"] == f"{repo}:h1"
    assert summary(res.stdout)["count"] == 3

    limited = ops(sandbox, "history", "--limit", "1")
    assert [e["deployment_id"] for e in of_kind(limited.stdout, "history_entry")] == [rollback_id]


def test_history_of_a_group_without_deployments_says_so(sandbox) -> None:
    res = sandbox.cli("history", "--sandbox", "--output", "plain")
    assert res.returncode == 0, res.stderr
    assert "no deployments yet" in res.stdout


def test_json_times_are_utc_with_z_whatever_the_machines_time_zone(sandbox) -> None:
    """botocore hands epoch timestamps back in the local zone; every time in the JSON lines is UTC (Z)."""
    import json
    from datetime import UTC, datetime, timedelta

    local = {"TZ": "America/New_York"}  # UTC-5 in December: a wrong zone would show as -05:00 or 5 h off
    repo = sandbox.service_outputs()["ecr_repository_url"]
    ok = release(sandbox, f"{repo}:tz1", env=local)
    assert ok.returncode == 0, ok.stderr
    res = ops(sandbox, "history", env=local)
    assert res.returncode == 0, res.stderr
    lines = [json.loads(line) for line in ok.stdout.splitlines() + res.stdout.splitlines() if line.strip()]
    now = datetime.now(UTC)
    for line in lines:
        assert line["time"].endswith("Z"), line
        assert abs(datetime.fromisoformat(line["time"].replace("Z", "+00:00")) - now) < timedelta(minutes=5)
    entry = of_kind(res.stdout, "history_entry")[0]
    info = sandbox.client("codedeploy").get_deployment(deploymentId=entry["deployment_id"])["deploymentInfo"]
    assert entry["created"].endswith("Z") and entry["completed"].endswith("Z")
    created = datetime.fromisoformat(entry["created"].replace("Z", "+00:00"))
    assert abs(created - info["createTime"].astimezone(UTC)) < timedelta(seconds=1)

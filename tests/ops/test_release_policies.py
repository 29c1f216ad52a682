"""Release policies end to end: --if-active fail|wait|replace with two concurrent releases, re-attach,
the older-build refusal, and --stop-on-cancel on SIGTERM.

The provisioned deployment group is first updated (UpdateDeploymentGroup) to hold the first release of
each pair in Ready until approved (or to keep blue for a long termination wait), so "a deployment is in
progress" does not race the fast sandbox.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ops_support import (
    approval_group,
    deployment,
    events,
    lifecycle,
    of_kind,
    primary_task_definition,
    read_events_until,
    serving_group,
    slow_termination_group,
    summary,
    wait_for,
    wait_status,
)

pytestmark = pytest.mark.e2e


def image(sandbox: Any, tag: str) -> str:
    return sandbox.pushed(tag)


def release(sandbox: Any, outputs: Path, tag: str, *args: str, **kw: Any) -> Any:
    return sandbox.cli(
        "release", "--outputs-file", str(outputs), "--output", "json", "--image", image(sandbox, tag), *args, **kw
    )


def start(sandbox: Any, outputs: Path, tag: str) -> str:
    res = release(sandbox, outputs, tag, "--no-wait")
    assert res.returncode == 0, res.stderr
    return str(summary(res.stdout)["deployment_id"])


def popen_release(sandbox: Any, outputs: Path, tag: str, *args: str) -> subprocess.Popen[str]:
    cmd = ["release", "--outputs-file", str(outputs), "--output", "json", "--image", image(sandbox, tag), *args]
    return subprocess.Popen(
        [sys.executable, "-m", "orchestrator", *cmd],
        env=sandbox.env(),
        cwd=sandbox.repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def approve(sandbox: Any, dep: str) -> None:
    wait_status(sandbox, dep, "Ready")
    sandbox.client("codedeploy").continue_deployment(deploymentId=dep, deploymentWaitType="READY_WAIT")


def finish(proc: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    return out, err


def test_if_active_fail_names_the_active_deployment_and_writes_nothing(sandbox) -> None:
    outputs = approval_group(sandbox)
    first = start(sandbox, outputs, "a")
    before = sandbox.counts()
    res = release(sandbox, outputs, "b")  # --if-active fail is the default
    assert res.returncode == 1, res.stderr
    assert first in res.stderr and "in progress" in res.stderr
    (found,) = of_kind(res.stdout, "active_deployment")
    assert found["deployment_id"] == first and found["action"] == "fail"
    s = summary(res.stdout)
    assert s["ok"] is False and s["exit_code"] == 1
    after = sandbox.counts()  # no task definition registered, no deployment created
    assert after["ecs"]["RegisterTaskDefinition"] == before["ecs"]["RegisterTaskDefinition"]
    assert after["codedeploy"]["CreateDeployment"] == before["codedeploy"]["CreateDeployment"] == 1
    assert deployment(sandbox, first)["status"] == "Ready"


def test_if_active_wait_deploys_after_the_active_one(sandbox) -> None:
    outputs = approval_group(sandbox)
    first = start(sandbox, outputs, "a")
    proc = popen_release(sandbox, outputs, "b", "--if-active", "wait")
    seen = read_events_until(proc, "active_deployment")
    assert seen[-1]["deployment_id"] == first and seen[-1]["action"] == "wait"
    assert sandbox.counts()["codedeploy"]["CreateDeployment"] == 1  # it waits; nothing created yet
    approve(sandbox, first)
    wait_for(
        "the waiting release to create its deployment", lambda: sandbox.counts()["codedeploy"]["CreateDeployment"] == 2
    )
    out = sandbox.service_outputs()
    ids = sandbox.client("codedeploy").list_deployments(
        applicationName=out["codedeploy_app_name"], deploymentGroupName=out["codedeploy_deployment_group_name"]
    )["deployments"]
    (dep,) = [d for d in ids if d != first]
    approve(sandbox, dep)
    out, err = finish(proc)
    assert proc.returncode == 0, err
    s = summary(out)
    assert s["deployment_id"] == dep and s["status"] == "Succeeded"
    kinds = [e["event"] for e in events(out)]
    assert "task_definition_registered" in kinds
    assert deployment(sandbox, dep)["createTime"] >= deployment(sandbox, first)["completeTime"]
    assert primary_task_definition(sandbox) == s["task_definition_arn"]


def test_if_active_replace_stops_rolls_back_then_deploys(sandbox) -> None:
    blue = sandbox.service_outputs()["blue_target_group_name"]
    initial = primary_task_definition(sandbox)
    outputs = slow_termination_group(sandbox)
    first = start(sandbox, outputs, "a")
    wait_for("traffic on green", lambda: lifecycle(sandbox, first).get("AllowTraffic") == "Succeeded")
    assert serving_group(sandbox) != blue
    # The group keeps blue for a long termination wait: the replacing release returns once traffic moved.
    res = release(sandbox, outputs, "b", "--if-active", "replace", "--wait-until", "traffic-shifted")
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
    assert s["status"] == "traffic-shifted"
    assert primary_task_definition(sandbox) == s["task_definition_arn"]


def test_identical_release_reattaches_to_the_active_deployment(sandbox) -> None:
    outputs = approval_group(sandbox)
    first = start(sandbox, outputs, "same")
    registered = sandbox.counts()["ecs"]["RegisterTaskDefinition"]
    proc = popen_release(sandbox, outputs, "same")
    seen = read_events_until(proc, "active_deployment")
    assert seen[-1]["deployment_id"] == first and seen[-1]["action"] == "reattach"
    approve(sandbox, first)
    out, err = finish(proc)
    assert proc.returncode == 0, err
    s = summary(out)
    assert s["deployment_id"] == first and s["reattached"] is True and s["status"] == "Succeeded"
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
    outputs = sandbox.outputs_path
    ok = release(sandbox, outputs, "new", *files, cwd=repo, env={"GITHUB_SHA": new})
    assert ok.returncode == 0, ok.stderr
    running = primary_task_definition(sandbox)

    refused = release(sandbox, outputs, "old", *files, cwd=repo, env={"GITHUB_SHA": old})
    assert refused.returncode == 2, refused.stderr
    assert "older build" in refused.stderr and old[:12] in refused.stderr and "--force" in refused.stderr
    assert "commit order" in refused.stderr
    assert primary_task_definition(sandbox) == running
    assert sandbox.counts()["codedeploy"]["CreateDeployment"] == 1

    forced = release(sandbox, outputs, "old", *files, "--force", "--no-wait", cwd=repo, env={"GITHUB_SHA": old})
    assert forced.returncode == 0, forced.stderr
    assert sandbox.counts()["codedeploy"]["CreateDeployment"] == 2


def test_the_build_is_the_images_own_commit_not_the_checkouts(sandbox, tmp_path: Path) -> None:
    """`--image <repo>:<older sha>` from a current checkout is an older build: the tag `orchestrator
    build` writes (the commit SHA) names the build, and `history` shows it; the checkout's SHA is only
    the fallback for an image whose tag says nothing."""
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
    outputs = sandbox.outputs_path
    checkout = {"GITHUB_SHA": new}  # the working directory is at the newest commit throughout
    ok = release(sandbox, outputs, new, *files, cwd=repo, env=checkout)
    assert ok.returncode == 0, ok.stderr

    refused = release(sandbox, outputs, old, *files, cwd=repo, env=checkout)
    assert refused.returncode == 2, refused.stderr
    assert f"with the older build {old[:12]}" in refused.stderr and "--force" in refused.stderr
    assert sandbox.counts()["codedeploy"]["CreateDeployment"] == 1

    forced = release(sandbox, outputs, old, *files, "--force", cwd=repo, env=checkout)
    assert forced.returncode == 0, forced.stderr
    hist = sandbox.cli("history", "--outputs-file", str(outputs), "--output", "json", cwd=repo)
    assert hist.returncode == 0, hist.stderr
    builds = [e["git_sha"] for e in of_kind(hist.stdout, "history_entry")]
    assert builds[:2] == [old, new]  # newest first: each release's image commit


def test_the_build_of_a_digest_or_plain_tag_is_read_from_the_tags_ecr_holds(sandbox, tmp_path: Path) -> None:
    """`--image repo@sha256:…` (what `build` prints) or `repo:v1`: ECR's DescribeImages lists the image's
    other tags, one of them the commit SHA `build` tagged it with; that commit is the build."""
    import json as _json

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
    url = sandbox.service_outputs()["ecr_repository_url"]
    ecr = sandbox.client("ecr")
    digests = {}
    for sha, label in ((old, "v-old"), (new, "v-new")):
        manifest = _json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"digest": f"sha256:{sha[:8] * 8}"},
                "layers": [],
            }
        )
        for tag in (sha, label):
            put = ecr.put_image(repositoryName=url.split("/", 1)[1], imageManifest=manifest, imageTag=tag)
        digests[sha] = put["image"]["imageId"]["imageDigest"]
    files = ("--taskdef", str(sandbox.repo_root / "taskdef.json"), "--appspec", str(sandbox.repo_root / "appspec.json"))
    outputs = sandbox.outputs_path
    checkout = {"GITHUB_SHA": old}  # the checkout says "old" throughout: only the registry can tell
    ok = release(sandbox, outputs, "v-new", *files, cwd=repo, env=checkout)
    assert ok.returncode == 0, ok.stderr
    by_digest = sandbox.cli(
        "release", "--outputs-file", str(outputs), "--output", "json", "--image", f"{url}@{digests[old]}", *files,
        cwd=repo, env=checkout,
    )  # fmt: skip
    assert by_digest.returncode == 2, by_digest.stderr
    assert f"replace the running build {new[:12]}" in by_digest.stderr
    assert f"with the older build {old[:12]}" in by_digest.stderr


def test_stop_on_cancel_stops_and_rolls_back_a_cancelled_release(sandbox) -> None:
    blue = sandbox.service_outputs()["blue_target_group_name"]
    initial = primary_task_definition(sandbox)
    outputs = slow_termination_group(sandbox)
    proc = popen_release(sandbox, outputs, "cancel", "--stop-on-cancel")
    try:
        created = read_events_until(proc, "deployment_created")
        dep = created[-1]["deployment_id"]
        wait_for("production traffic on green", lambda: lifecycle(sandbox, dep).get("AllowTraffic") == "Succeeded")
        assert serving_group(sandbox) != blue
        proc.send_signal(signal.SIGTERM)  # what a cancelled CI job gets
    finally:
        stdout, stderr = finish(proc)
    assert proc.returncode == 130, stderr
    assert "stopped and rolled back" in stderr
    info = deployment(sandbox, dep)
    assert info["status"] == "Stopped"
    rollback_id = info["rollbackInfo"]["rollbackDeploymentId"]
    assert deployment(sandbox, rollback_id)["status"] == "Succeeded"
    assert serving_group(sandbox) == blue
    assert primary_task_definition(sandbox) == initial
    s = summary(stdout)
    assert s["exit_code"] == 130 and s["rollback_deployment_id"] == rollback_id and s["status"] == "RolledBack"


def test_a_second_ctrl_c_while_aws_answers_slowly_loses_no_stop(sandbox) -> None:
    """Ctrl-C twice, 0.2 s apart, while every AWS call takes 800 ms: StopDeployment is sent exactly once,
    "accepted" is said only after CodeDeploy answered, and the cancelled release ends Stopped and rolled
    back, never Succeeded."""
    import time

    outputs = slow_termination_group(sandbox)
    proc = popen_release(sandbox, outputs, "twice", "--stop-on-cancel")
    try:
        dep = read_events_until(proc, "deployment_created")[-1]["deployment_id"]
        wait_for("production traffic on green", lambda: lifecycle(sandbox, dep).get("AllowTraffic") == "Succeeded")
        sandbox.control.set_faults(latency_ms=800)
        sandbox.control.reset_requests()
        proc.send_signal(signal.SIGINT)
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
    finally:
        stdout, stderr = finish(proc)
    sandbox.control.clear_faults()
    assert proc.returncode == 130, stderr
    assert sandbox.counts()["codedeploy"]["StopDeployment"] == 1
    assert f"CodeDeploy accepted the stop of {dep}" in stderr
    info = wait_status(sandbox, dep, "Stopped", "Succeeded", "Failed")
    assert info["status"] == "Stopped"
    rollback_id = info["rollbackInfo"]["rollbackDeploymentId"]
    assert wait_status(sandbox, rollback_id, "Succeeded", "Failed")["status"] == "Succeeded"
    assert summary(stdout)["status"] == "StopRequested"


def test_a_release_losing_the_create_race_deregisters_what_it_registered(sandbox) -> None:
    """Two releases at once under --if-active fail, with every call slow (400 ms) so that both pass the
    "is a deployment in progress?" check before either creates: one deploys, the other is refused at
    CreateDeployment and deregisters the revision it had registered, saying so."""
    outputs = approval_group(sandbox)  # the winner's deployment stays in progress
    sandbox.control.set_faults(latency_ms=400)
    procs = [popen_release(sandbox, outputs, tag, "--no-wait") for tag in ("race-a", "race-b")]
    results = [finish(p) for p in procs]
    sandbox.control.clear_faults()
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 1], results
    loser_out, loser_err = next(r for p, r in zip(procs, results, strict=True) if p.returncode == 1)
    counts = sandbox.counts()
    assert counts["ecs"]["RegisterTaskDefinition"] == 2, "the race was lost before registering: not this case"
    assert counts["codedeploy"]["CreateDeployment"] == 2 and counts["ecs"]["DeregisterTaskDefinition"] == 1
    arn = summary(loser_out)["task_definition_arn"]
    assert f"the task definition it registered ({arn}) was deregistered" in loser_err
    ecs = sandbox.client("ecs")
    assert ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["status"] == "INACTIVE"
    winner = summary(next(r for p, r in zip(procs, results, strict=True) if p.returncode == 0)[0])
    active = ecs.describe_task_definition(taskDefinition=winner["task_definition_arn"])["taskDefinition"]
    assert active["status"] == "ACTIVE"

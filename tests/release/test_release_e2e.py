"""`orchestrator release` / `deploy` end to end: the real CLI in a subprocess against the sandbox over HTTP.

The sandbox runs at a fast time scale (a simulated 5-minute termination wait takes a few seconds), so
these tests follow whole deployments; they assert outcomes users rely on, never timings.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from support.jsonlines import events, summary

pytestmark = pytest.mark.e2e

CANARY = "CodeDeployDefault.ECSCanary10Percent5Minutes"
RELEASE = [sys.executable, "-m", "orchestrator", "release", "--sandbox", "--output", "json"]


def primary_task_definition(sandbox: Any) -> str:
    svc = sandbox.client("ecs").describe_services(cluster="demo", services=["web"])["services"][0]
    primary = [ts for ts in svc.get("taskSets", []) if ts["status"] == "PRIMARY"]
    return primary[0]["taskDefinition"] if primary else svc["taskDefinition"]


def image_of(sandbox: Any, arn: str) -> str:
    td = sandbox.client("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
    return td["containerDefinitions"][0]["image"]


def release(sandbox: Any, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return sandbox.cli("release", "--sandbox", "--output", "json", *args, timeout=timeout)


def test_all_at_once_release_succeeds_and_the_new_task_definition_serves(sandbox) -> None:
    before = primary_task_definition(sandbox)
    image = sandbox.pushed("e2e-1")
    res = release(sandbox, "--image", image)
    assert res.returncode == 0, res.stderr
    s = summary(res.stdout)
    assert s["ok"] is True and s["exit_code"] == 0
    assert s["status"] == "Succeeded"
    assert s["image"] == image
    assert s["deployment_id"].startswith("d-")
    assert s["deployment_config"] == "CodeDeployDefault.ECSAllAtOnce"
    for phase in ("register", "create", "Install", "AllowTraffic", "watch", "verify"):
        assert phase in s["phases"]
    arn = s["task_definition_arn"]
    assert arn != before
    assert primary_task_definition(sandbox) == arn
    assert image_of(sandbox, arn) == image
    info = sandbox.client("codedeploy").get_deployment(deploymentId=s["deployment_id"])["deploymentInfo"]
    assert info["status"] == "Succeeded"
    assert "git=" in info["description"] and f"image={image}" in info["description"]
    kinds = [e["event"] for e in events(res.stdout)]
    assert kinds.index("validated") < kinds.index("task_definition_registered") < kinds.index("deployment_created")
    assert "live_verified" in kinds
    # Exactly two writes: the task definition and the deployment.
    assert sandbox.mutating_calls() == ["codedeploy:CreateDeployment", "ecs:RegisterTaskDefinition"]
    assert sandbox.counts()["ecs"]["RegisterTaskDefinition"] == 1


def test_canary_release_shows_the_intermediate_weight(sandbox) -> None:
    res = release(
        sandbox, "--image", "repo/web:canary", "--deployment-config", CANARY, "--wait-until", "traffic-shifted"
    )
    assert res.returncode == 0, res.stderr
    weights = [e["green_weight"] for e in events(res.stdout) if e["event"] == "deployment_progress"]
    assert 10.0 in weights
    assert weights[-1] == 100.0
    assert weights.index(10.0) < len(weights) - 1
    s = summary(res.stdout)
    assert s["deployment_config"] == CANARY
    # The default budget counts the canary interval on top of the base and the termination wait.
    plain = release(sandbox, "--image", "repo/web:x", "--dry-run")
    full = release(sandbox, "--image", "repo/web:x", "--dry-run", "--deployment-config", CANARY)
    assert summary(full.stdout)["timeout_s"] == summary(plain.stdout)["timeout_s"] + 5 * 60


@pytest.mark.parametrize(
    ("fail_at", "message"),
    [("AfterAllowTestTraffic", "smoke test returned 503"), ("AllowTraffic", "listener update refused")],
)
def test_failed_lifecycle_event_rolls_back_and_names_the_reason(sandbox, fail_at: str, message: str) -> None:
    before = primary_task_definition(sandbox)
    sandbox.control.set_faults(fail_at=fail_at, message=message)
    res = release(sandbox, "--image", "repo/web:broken")
    assert res.returncode == 1, res.stderr
    error = res.stderr.strip().splitlines()[-1]
    assert error.startswith("error: deployment d-")
    assert f"{fail_at} failed" in error
    assert message in error
    assert "rolled back by d-" in error
    s = summary(res.stdout)
    assert s["ok"] is False and s["exit_code"] == 1
    assert s["status"] == "Failed"
    assert s["rollback_deployment_id"].startswith("d-")
    assert s["rollback_status"] == "Succeeded"
    assert message in s["reason"]
    # Production is back on what ran before.
    assert primary_task_definition(sandbox) == before


def test_unhealthy_replacement_fails_with_ecs_clues(sandbox) -> None:
    sandbox.control.set_faults(unhealthy=True)
    res = release(sandbox, "--image", "repo/web:unhealthy")
    assert res.returncode == 1, res.stderr
    error = res.stderr.strip().splitlines()[-1]
    assert "Install failed" in error
    assert "health checks" in error.lower()
    # The latest service events are part of the details (the one-line reason keeps to ~300 characters).
    assert any(c.startswith("ECS:") for c in summary(res.stdout)["details"]["clues"])
    assert summary(res.stdout)["status"] == "Failed"


def test_timeout_exits_3_and_leaves_the_deployment_running(sandbox) -> None:
    res = release(
        sandbox,
        "--image",
        "repo/web:slow",
        "--deployment-config",
        "CodeDeployDefault.ECSCanary10Percent15Minutes",
        "--timeout",
        "2",
    )
    assert res.returncode == 3, res.stderr
    assert "still" in res.stderr and "keeps running" in res.stderr
    s = summary(res.stdout)
    assert s["exit_code"] == 3 and s["status"] == "TimedOut"
    info = sandbox.client("codedeploy").get_deployment(deploymentId=s["deployment_id"])["deploymentInfo"]
    assert info["status"] in ("Created", "InProgress")
    assert "codedeploy:StopDeployment" not in sandbox.mutating_calls()


def test_no_wait_returns_after_creating(sandbox) -> None:
    res = release(sandbox, "--image", "repo/web:nowait", "--no-wait")
    assert res.returncode == 0, res.stderr
    s = summary(res.stdout)
    assert s["status"] == "Created" and s["deployment_id"].startswith("d-")
    assert "deployment_progress" not in [e["event"] for e in events(res.stdout)]
    assert "GetDeployment" not in sandbox.counts().get("codedeploy", {})


def test_wait_until_traffic_shifted_returns_before_the_termination_wait_ends(sandbox) -> None:
    res = release(sandbox, "--image", "repo/web:shifted", "--wait-until", "traffic-shifted")
    assert res.returncode == 0, res.stderr
    s = summary(res.stdout)
    assert s["status"] == "traffic-shifted"
    assert primary_task_definition(sandbox) == s["task_definition_arn"]
    # It returned during the termination wait: the last status it saw was InProgress, with all traffic on green.
    progress = [e for e in events(res.stdout) if e["event"] == "deployment_progress"]
    assert progress[-1]["status"] == "InProgress" and progress[-1]["green_weight"] == 100.0
    assert all(e["status"] != "Succeeded" for e in progress)
    # ...and the deployment completes without us (the simulated 5-minute wait takes seconds here).
    cd = sandbox.client("codedeploy")
    for _ in range(100):
        status = cd.get_deployment(deploymentId=s["deployment_id"])["deploymentInfo"]["status"]
        if status != "InProgress":
            break
        time.sleep(0.2)
    assert status == "Succeeded"


def test_dry_run_prints_the_plan_and_writes_nothing(sandbox) -> None:
    res = sandbox.cli("release", "--sandbox", "--output", "plain", "--image", "repo/web:dry", "--dry-run")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert '+      "image": "repo/web:dry",' in out
    assert "task definition (diff against arn:aws:ecs:" in out
    assert "<task_definition_arn>" in out  # the AppSpec, with the ARN still to come
    assert "1. ecs.RegisterTaskDefinition" in out and "2. codedeploy.CreateDeployment" in out
    assert "nothing was written" in out
    assert sandbox.mutating_calls() == []


def test_render_then_deploy_registers_exactly_that_file(sandbox, tmp_path) -> None:
    rendered = tmp_path / "taskdef-new.json"
    r = sandbox.cli(
        "render", "--sandbox", "--image", "repo/web:ci", "--container-env", "FEATURE=on", "--out-file", str(rendered)
    )
    assert r.returncode == 0, r.stderr
    assert sandbox.counts() == {}  # render calls no AWS API at all
    res = sandbox.cli("deploy", str(rendered), "--sandbox", "--output", "json", timeout=90)
    assert res.returncode == 0, res.stderr
    s = summary(res.stdout)
    td = sandbox.client("ecs").describe_task_definition(taskDefinition=s["task_definition_arn"])["taskDefinition"]
    expected = json.loads(rendered.read_text())
    for key, value in expected.items():
        assert td[key] == value or key == "containerDefinitions"
    web = td["containerDefinitions"][0]
    assert web["image"] == "repo/web:ci"
    assert {"name": "FEATURE", "value": "on"} in web["environment"]
    assert primary_task_definition(sandbox) == s["task_definition_arn"]


def test_throttled_api_is_retried_not_fatal(sandbox) -> None:
    sandbox.control.set_faults(throttle=0.3)
    res = release(sandbox, "--image", "repo/web:throttled", "--wait-until", "traffic-shifted")
    sandbox.control.clear_faults()
    assert res.returncode == 0, res.stderr
    assert summary(res.stdout)["status"] == "traffic-shifted"


def test_sigterm_while_watching_reports_what_still_runs(sandbox) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestrator",
            "release",
            "--sandbox",
            "--output",
            "json",
            "--image",
            "repo/web:term",
            "--deployment-config",
            "CodeDeployDefault.ECSCanary10Percent15Minutes",
        ],
        env=sandbox.env(),
        cwd=sandbox.repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        lines.append(line)
        if '"deployment_progress"' in line or time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    lines.append(out)
    assert proc.returncode == 130, err
    dep = next(e["deployment_id"] for e in events("".join(lines)) if e["event"] == "deployment_created")
    assert f"deployment {dep} is still running" in err
    s = summary("".join(lines))
    assert s["exit_code"] == 130 and s["status"] == "Interrupted"
    info = sandbox.client("codedeploy").get_deployment(deploymentId=dep)["deploymentInfo"]
    assert info["status"] in ("InProgress", "Created")


def test_deployment_stopped_by_someone_else_exits_1_with_the_reason(sandbox) -> None:
    proc = subprocess.Popen(
        [
            *RELEASE,
            "--image",
            "repo/web:stopped",
            "--deployment-config",
            "CodeDeployDefault.ECSCanary10Percent15Minutes",
        ],
        env=sandbox.env(),
        cwd=sandbox.repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if '"deployment_created"' in line:
            break
    dep = json.loads(lines[-1])["deployment_id"]
    # Stopped once the replacement exists (stopped while Created, AWS makes no rollback: nothing changed).
    cd = sandbox.client("codedeploy")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if cd.get_deployment(deploymentId=dep)["deploymentInfo"]["status"] not in ("Created", "Queued"):
            events_now = cd.get_deployment_target(deploymentId=dep, targetId="demo:web")["deploymentTarget"]
            done = {e["lifecycleEventName"]: e["status"] for e in events_now["ecsTarget"]["lifecycleEvents"]}
            if done.get("Install") == "Succeeded":
                break
        time.sleep(0.05)
    cd.stop_deployment(deploymentId=dep, autoRollbackEnabled=True)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    error = err.strip().splitlines()[-1]
    assert error.startswith(f"error: deployment {dep} stopped: ")
    assert "MANUAL_STOP" in error
    s = summary("".join(lines) + out)
    assert s["status"] == "Stopped" and s["rollback_deployment_id"].startswith("d-")

"""The orchestrator's ECS engine end to end: the real CLI against an ECS-native service in the sandbox."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.cli import ORCHESTRATOR

pytestmark = pytest.mark.e2e


def _summary(stdout: str) -> dict[str, Any]:
    return dict(json.loads(stdout.strip().splitlines()[-1]))


def test_release_blue_green_moves_the_production_rule_to_the_new_revision(sandbox_ecs: Any) -> None:
    sandbox_ecs.control.time_scale(0.05)  # SCALE_UP 2 s, BAKE_TIME 3 s: each seen by the watcher's polls
    _configure(sandbox_ecs, strategy="BLUE_GREEN", bakeTimeInMinutes=1)
    sandbox_ecs.control.reset_requests()
    out = sandbox_ecs.cli("release", "--sandbox", "--image", "nginx:1.27", "--output", "json")
    assert out.returncode == 0, out.stderr + out.stdout
    summary = _summary(out.stdout)
    assert summary["status"] == "Succeeded" and ":service-deployment/" in summary["deployment_id"]
    svc = sandbox_ecs.service_outputs()
    ecs, elbv2 = sandbox_ecs.client("ecs"), sandbox_ecs.client("elbv2")
    rule = elbv2.describe_rules(RuleArns=[svc["prod_listener_rule_arn"]])["Rules"][0]
    weights = {
        g["TargetGroupArn"].split("/")[1]: g["Weight"] for g in rule["Actions"][0]["ForwardConfig"]["TargetGroups"]
    }
    assert weights == {svc["green_target_group_name"]: 100, svc["blue_target_group_name"]: 0}
    service = ecs.describe_services(cluster=svc["cluster_name"], services=[svc["service_name"]])["services"][0]
    assert service["taskDefinition"] == summary["task_definition_arn"]
    events = [json.loads(line) for line in out.stdout.splitlines()]
    stages = [e["name"] for e in events if e["event"] == "lifecycle_event" and e["status"] == "InProgress"]
    assert "SCALE_UP" in stages and "BAKE_TIME" in stages  # stages of a second or less may pass between polls
    last = [e for e in events if e["event"] == "deployment_progress"][-1]
    assert last["green_weight"] == 100.0 and all(e["status"] == "Succeeded" for e in last["lifecycle"])
    calls = sandbox_ecs.counts()["ecs"]
    assert calls.get("UpdateService") == 1 and calls.get("RegisterTaskDefinition") == 1
    assert "codedeploy" not in sandbox_ecs.counts() or not any(
        a.startswith(("Create", "Stop", "Continue")) for a in sandbox_ecs.counts()["codedeploy"]
    )


def _arm(sandbox_ecs: Any, path: str, body: dict[str, Any]) -> None:
    sandbox_ecs.control._call("POST", path, body)


def _configure(sandbox_ecs: Any, **config: Any) -> None:
    svc = sandbox_ecs.service_outputs()
    sandbox_ecs.client("ecs").update_service(
        cluster=svc["cluster_name"], service=svc["service_name"], deploymentConfiguration=config
    )


def test_a_failing_stage_rolls_back_with_exit_1_and_names_the_stage(sandbox_ecs: Any) -> None:
    _arm(
        sandbox_ecs,
        "/ecs/faults",
        {"fail_at": "POST_TEST_TRAFFIC_SHIFT", "message": "smoke test failed: GET /health 503"},
    )
    out = sandbox_ecs.cli("release", "--sandbox", "--image", "nginx:1.27", "--output", "plain")
    assert out.returncode == 1, out.stderr + out.stdout
    error = next(line for line in out.stderr.splitlines() if line.startswith("error:"))
    assert "rolled back: smoke test failed: GET /health 503" in error
    svc = sandbox_ecs.service_outputs()
    service = sandbox_ecs.client("ecs").describe_services(cluster="demo", services=["web"])["services"][0]
    assert service["taskDefinition"].endswith(":1")  # back on the first revision
    history = sandbox_ecs.cli("history", "--sandbox", "--output", "json")
    assert history.returncode == 0, history.stderr
    entries = [json.loads(line) for line in history.stdout.splitlines() if '"history_entry"' in line]
    assert entries[0]["status"] == "Failed" and svc["service_name"]


def test_a_pause_hook_waits_until_approve(sandbox_ecs: Any) -> None:
    import subprocess
    import time

    pause = {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}
    _configure(sandbox_ecs, strategy="BLUE_GREEN", bakeTimeInMinutes=1, lifecycleHooks=[pause])
    release = subprocess.Popen(
        [*ORCHESTRATOR, "release", "--sandbox", "--image", "nginx:1.27", "--output", "plain"],
        env=sandbox_ecs.env(),
        cwd=sandbox_ecs.repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ecs = sandbox_ecs.client("ecs")
    deadline = time.monotonic() + 60
    while True:
        found = ecs.list_service_deployments(cluster="demo", service="web", status=["IN_PROGRESS"])[
            "serviceDeployments"
        ]
        dep = (
            ecs.describe_service_deployments(serviceDeploymentArns=[found[0]["serviceDeploymentArn"]])[
                "serviceDeployments"
            ][0]
            if found
            else {}
        )
        if dep.get("lifecycleHookDetails"):
            break
        assert time.monotonic() < deadline, "the deployment never reached its PAUSE hook"
        time.sleep(0.1)
    # The release follows once a second (its plain lines are block-buffered on a pipe, so they cannot be
    # awaited): give it a few polls to see the pause before approving, as a person would.
    time.sleep(3)
    approve = sandbox_ecs.cli("approve", "--sandbox", "--output", "plain")
    assert approve.returncode == 0, approve.stderr + approve.stdout
    out, err = release.communicate(timeout=120)
    assert release.returncode == 0, err + out
    assert "waits for `orchestrator approve`" in out


def test_stop_mid_release_rolls_back(sandbox_ecs: Any) -> None:
    import subprocess
    import time

    _configure(sandbox_ecs, strategy="BLUE_GREEN", bakeTimeInMinutes=60)
    release = subprocess.Popen(
        [*ORCHESTRATOR, "release", "--sandbox", "--image", "nginx:1.27", "--output", "plain"],
        env=sandbox_ecs.env(),
        cwd=sandbox_ecs.repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ecs = sandbox_ecs.client("ecs")
    deadline = time.monotonic() + 60
    while True:
        found = ecs.list_service_deployments(cluster="demo", service="web", status=["IN_PROGRESS"])[
            "serviceDeployments"
        ]
        dep = (
            ecs.describe_service_deployments(serviceDeploymentArns=[found[0]["serviceDeploymentArn"]])[
                "serviceDeployments"
            ][0]
            if found
            else {}
        )
        if dep.get("lifecycleStage") == "BAKE_TIME":
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    stop = sandbox_ecs.cli("stop", "--sandbox", "--output", "plain")
    assert stop.returncode == 0, stop.stderr + stop.stdout
    out, err = release.communicate(timeout=120)
    assert release.returncode == 1, err + out
    assert "StopServiceDeployment" in err
    svc = sandbox_ecs.service_outputs()
    rule = sandbox_ecs.client("elbv2").describe_rules(RuleArns=[svc["prod_listener_rule_arn"]])["Rules"][0]
    weights = {
        g["TargetGroupArn"].split("/")[1]: g["Weight"] for g in rule["Actions"][0]["ForwardConfig"]["TargetGroups"]
    }
    assert weights[svc["blue_target_group_name"]] == 100


def test_rollback_redeploys_the_previous_good_revision(sandbox_ecs: Any) -> None:
    first = sandbox_ecs.cli("release", "--sandbox", "--image", "nginx:1.27", "--output", "json")
    assert first.returncode == 0, first.stderr
    back = sandbox_ecs.cli("rollback", "--sandbox", "--output", "plain")
    assert back.returncode == 0, back.stderr + back.stdout
    service = sandbox_ecs.client("ecs").describe_services(cluster="demo", services=["web"])["services"][0]
    assert service["taskDefinition"].endswith(":1")

"""The orchestrator's ECS engine end to end: the real CLI against an ECS-native service in the sandbox."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def _summary(stdout: str) -> dict[str, Any]:
    return dict(json.loads(stdout.strip().splitlines()[-1]))


def test_release_blue_green_moves_the_production_rule_to_the_new_revision(sandbox_ecs: Any) -> None:
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

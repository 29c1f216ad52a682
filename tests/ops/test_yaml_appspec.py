"""A deployment someone else made with a YAML AppSpec (the CodeDeploy console's AppSpec editor; `aws ecs
deploy` keeps the file's own key case) reads back with its task definition: `history` shows it and
`rollback` redeploys what ran before it, through CodeDeploy.

AWS: AppSpec files for ECS may be YAML or JSON (CodeDeploy user guide, "AppSpec file structure"; the
console's editor offers both); `aws ecs deploy` finds the AppSpec's keys case-insensitively
(awscli customizations/ecs/filehelpers.find_required_key) and sends the file's keys as they are.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from ops_support import of_kind, ops, primary_task_definition, release, summary, wait_status

from orchestrator.history import appspec_target
from orchestrator.revisions import parse_appspec

pytestmark = pytest.mark.e2e

CONSOLE_YAML = """version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: "{arn}"
        LoadBalancerInfo:
          ContainerName: "web"
          ContainerPort: 8080
"""


def _yaml_deployment(sandbox: Any, image: str) -> tuple[str, str]:
    """Register a revision with `image` and deploy it with a YAML AppSpec, as the console does."""
    out = sandbox.service_outputs()
    ecs, cd = sandbox.client("ecs"), sandbox.client("codedeploy")
    current = ecs.describe_task_definition(taskDefinition=primary_task_definition(sandbox))["taskDefinition"]
    keys = ("family", "containerDefinitions", "networkMode", "requiresCompatibilities", "cpu", "memory",
            "executionRoleArn", "taskRoleArn")  # fmt: skip
    revision = {k: current[k] for k in keys if k in current}
    revision["containerDefinitions"][0]["image"] = image
    arn = ecs.register_task_definition(**revision)["taskDefinition"]["taskDefinitionArn"]
    text = CONSOLE_YAML.format(arn=arn)
    deployment = cd.create_deployment(
        applicationName=out["codedeploy_app_name"],
        deploymentGroupName=out["codedeploy_deployment_group_name"],
        revision={
            "revisionType": "AppSpecContent",
            "appSpecContent": {"content": text, "sha256": hashlib.sha256(text.encode()).hexdigest()},
        },
    )["deploymentId"]
    wait_status(sandbox, deployment, "Succeeded")
    return deployment, arn


def test_a_yaml_appspec_deployment_reads_back_in_history_and_rollback(sandbox) -> None:
    repo = sandbox.service_outputs()["ecr_repository_url"]
    first = release(sandbox, f"{repo}:json-one")
    assert first.returncode == 0, first.stderr
    before = summary(first.stdout)["task_definition_arn"]
    deployment, yaml_arn = _yaml_deployment(sandbox, f"{repo}:yaml-two")
    assert primary_task_definition(sandbox) == yaml_arn

    history = ops(sandbox, "history")
    assert history.returncode == 0, history.stderr
    entries = {e["deployment_id"]: e for e in of_kind(history.stdout, "history_entry")}
    assert entries[deployment]["task_definition"] == yaml_arn
    assert entries[deployment]["image"] == f"{repo}:yaml-two"

    rollback = ops(sandbox, "rollback")
    assert rollback.returncode == 0, rollback.stderr
    s = summary(rollback.stdout)
    assert s["status"] == "Succeeded" and s["task_definition"] == before
    assert primary_task_definition(sandbox) == before


def test_an_appspec_read_back_finds_its_keys_in_any_case() -> None:
    """`aws ecs deploy` sends the user's file as JSON with its keys' own case (its docs show
    lower-case keys); the console, YAML."""
    arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/demo-web:7"
    lower = (
        '{"version": 0.0, "resources": [{"myService": {"type": "AWS::ECS::Service", "properties": '
        f'{{"taskDefinition": "{arn}", "loadBalancerInfo": {{"containerName": "web", "containerPort": 8080}}}}}}}}]}}'
    )
    for text in (lower, CONSOLE_YAML.format(arn=arn)):
        assert appspec_target(parse_appspec(text)) == (arn, "web", 8080), text
    assert parse_appspec("version: [unclosed") is None

"""A real client nobody here wrote: the AWS CLI's `aws ecs deploy` against the sandbox.

It registers the task definition, creates the CodeDeploy deployment and waits with botocore's
`deployment_successful` waiter (one poll every 15 s, so this test takes ~16 s).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from support.clients import REGION
from support.stack import make_stack, task_definition

AWS = Path(__file__).resolve().parents[2] / ".venv-tools" / "awscli" / "bin" / "aws"


@pytest.mark.slow
def test_aws_cli_ecs_deploy_completes_a_blue_green_deployment(endpoint: str, tmp_path: Path) -> None:
    if not AWS.exists():
        pytest.fail(f"{AWS} is missing: run `make tools`")
    stack = make_stack(endpoint)
    taskdef = tmp_path / "taskdef.json"
    taskdef.write_text(json.dumps(task_definition(stack.family, "nginx:cli")))
    appspec = tmp_path / "appspec.yaml"
    appspec.write_text(
        "version: 0.0\n"
        "Resources:\n"
        "  - TargetService:\n"
        "      Type: AWS::ECS::Service\n"
        "      Properties:\n"
        "        TaskDefinition: <TASK_DEFINITION>\n"
        "        LoadBalancerInfo:\n"
        "          ContainerName: web\n"
        "          ContainerPort: 8080\n"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    done = subprocess.run(
        [
            str(AWS),
            "ecs",
            "deploy",
            "--cluster",
            stack.cluster,
            "--service",
            stack.service,
            "--task-definition",
            str(taskdef),
            "--codedeploy-appspec",
            str(appspec),
            "--codedeploy-application",
            stack.app,
            "--codedeploy-deployment-group",
            stack.group,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Successfully deployed" in done.stdout
    new_arn = done.stdout.split("Successfully registered new ECS task definition ", 1)[1].split()[0]
    assert stack.ecs_service()["taskDefinition"] == new_arn
    assert stack.prod_weights() == {stack.blue_tg: 0, stack.green_tg: 100}

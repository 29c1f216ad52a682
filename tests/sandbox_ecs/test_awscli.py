"""The real AWS CLI (awscli 1.46.3 in .venv-tools, botocore 1.43.62: it knows the service-deployment
operations) against an ECS-native service in the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.clients import REGION

from sandbox_ecs.conftest import EcsStack

AWS = Path(__file__).resolve().parents[2] / ".venv-tools" / "awscli" / "bin" / "aws"


def aws(stack: EcsStack, home: Path, *args: str) -> Any:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "AWS_ENDPOINT_URL": stack.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(home / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    done = subprocess.run([str(AWS), *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


@pytest.mark.slow
def test_aws_cli_update_service_then_describe_service_deployments(ecs_stack: EcsStack, tmp_path: Path) -> None:
    if not AWS.exists():
        pytest.fail(f"{AWS} is missing: run `make tools`")
    s = ecs_stack
    td = s.register("nginx:cli")
    updated = aws(
        s, tmp_path, "ecs", "update-service", "--cluster", s.cluster, "--service", s.service, "--task-definition", td
    )
    arn = updated["service"]["currentServiceDeployment"]
    # The CLI's own waiter (DescribeServices every 15 s) until the deployment's clean-up is done.
    aws(s, tmp_path, "ecs", "wait", "services-stable", "--cluster", s.cluster, "--services", s.service)
    found = aws(s, tmp_path, "ecs", "describe-service-deployments", "--service-deployment-arns", arn)
    dep = found["serviceDeployments"][0]
    assert dep["status"] == "SUCCESSFUL" and dep["lifecycleStage"] == "CLEAN_UP"
    listed = aws(s, tmp_path, "ecs", "list-service-deployments", "--cluster", s.cluster, "--service", s.service)
    assert listed["serviceDeployments"][0]["serviceDeploymentArn"] == arn
    revisions = aws(
        s, tmp_path, "ecs", "describe-service-revisions", "--service-revision-arns", dep["targetServiceRevision"]["arn"]
    )
    assert revisions["serviceRevisions"][0]["taskDefinition"] == td

"""Lambda functions and hook configurations for the ECS deployment tests."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from typing import Any

from sandbox_ecs.conftest import EcsStack


def function(
    stack: EcsStack, code: str = "def handler(event, context):\n    return {'hookStatus': 'SUCCEEDED'}\n"
) -> str:
    """A Python Lambda function (handler.handler) in the sandbox; its ARN."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("handler.py", code)
    iam = stack.c("iam")
    name = f"{stack.project}-hook-{uuid.uuid4().hex[:6]}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    created = stack.c("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": buf.getvalue()},
        Timeout=30,
    )
    return str(created["FunctionArn"])


def lambda_hook(stack: EcsStack, arn: str, *stages: str, **extra: Any) -> dict[str, Any]:
    return {
        "targetType": "AWS_LAMBDA",
        "hookTargetArn": arn,
        "roleArn": stack.outputs["ecs_infrastructure_role_arn"],
        "lifecycleStages": list(stages),
        **extra,
    }


def blue_green(**extra: Any) -> dict[str, Any]:
    return {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1, **extra}

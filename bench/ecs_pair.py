"""The ECS engine's pair for bench/release_bench.py: one ECS-native (BLUE_GREEN) service released by
`orchestrator release` and by the AWS CLI's plain way (register-task-definition, update-service, then
`aws ecs wait services-stable`, whose waiter polls DescribeServices every 15 s)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from benchlib import AWS, ORCH, calls, overhead, sh


def _ecs(env: dict[str, str]) -> Any:
    import boto3

    return boto3.client(
        "ecs",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def span(env: dict[str, str], arn: str) -> tuple[float, float]:
    """(createdAt, finishedAt) of a SUCCESSFUL service deployment, epoch seconds."""
    dep = _ecs(env).describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]
    if dep["status"] != "SUCCESSFUL":
        raise SystemExit(f"bench: service deployment {arn} ended {dep['status']}")
    return dep["createdAt"].timestamp(), dep["finishedAt"].timestamp()


def measure(wall: float, exited: float, env: dict[str, str], arn: str, n_calls: int) -> dict[str, float]:
    created, finished = span(env, arn)
    return {"lag": exited - finished, "wall": wall, "calls": n_calls, "overhead": overhead(wall, created, finished)}


def run_pair(env: dict[str, str], state: Path, svc: dict[str, Any], key: str, control: Any) -> dict[str, dict]:
    """{"ours": {...}, "theirs": {...}} with lag, wall, calls and overhead for the ECS-native service `key`."""
    repo = svc["ecr_repository_url"]
    # The sandbox's ECR holds only pushed images (a release refuses, a task fails to pull, any other).
    for tag in ("bench-ours", "bench-aws"):
        control.push_image(f"{repo}:{tag}")
    control.reset_requests()
    cmd = [*ORCH, "release", "--sandbox", "--service", key, "--image", f"{repo}:bench-ours", "--output", "json"]
    wall, res = sh(cmd, env)
    exited = time.time()
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    n, ours_detail = calls(control)
    ours = measure(wall, exited, env, summary["deployment_id"], n)

    rendered = state / "taskdef-ecs.json"
    sh(
        [*ORCH, "render", "--sandbox", "--service", key, "--image", f"{repo}:bench-aws", "--out-file", str(rendered)],
        env,
    )
    aws = [str(AWS), "ecs"]
    where = ["--cluster", svc["cluster_name"]]
    control.reset_requests()
    t0 = time.time()
    _, res = sh([*aws, "register-task-definition", "--cli-input-json", f"file://{rendered}", "--output", "json"], env)
    taskdef = json.loads(res.stdout)["taskDefinition"]["taskDefinitionArn"]
    _, res = sh(
        [
            *aws,
            "update-service",
            *where,
            "--service",
            svc["service_name"],
            "--task-definition",
            taskdef,
            "--output",
            "json",
        ],
        env,
    )
    arn = json.loads(res.stdout)["service"]["currentServiceDeployment"]
    sh([*aws, "wait", "services-stable", *where, "--services", svc["service_name"]], env)
    exited = time.time()
    n, theirs_detail = calls(control)
    theirs = measure(exited - t0, exited, env, arn, n)
    return {"ours": ours | {"detail": ours_detail}, "theirs": theirs | {"detail": theirs_detail}}

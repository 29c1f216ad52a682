"""`release --dry-run --output json` shows the very requests the executor then sends (issue 10): the
RegisterTaskDefinition and CreateDeployment parameters of a dry run are compared with what the sandbox
received in a real release of the same inputs (its moto state: DescribeTaskDefinition of the
registered revision, GetDeployment and GetApplicationRevision of the deployment). Environment values
are redacted in a dry run, so the dry run passes --show-values."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from orchestrator.description import parse_tokens
from orchestrator.taskdef import strip_read_only
from orchestrator.taskdef_compare import covers

pytestmark = pytest.mark.e2e

INPUTS = ("--image", "repo/web:same-inputs", "--container-env", "GREETING=hello from the dry run")


def lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def pruned(value: Any) -> Any:
    """Without empty values: DescribeTaskDefinition fills in defaults (mountPoints: [], ...)."""
    if isinstance(value, dict):
        return {k: pruned(v) for k, v in value.items() if v not in (None, [], {}, "")}
    if isinstance(value, list):
        return [pruned(v) for v in value]
    return value


def without_token(description: str) -> str:
    token = parse_tokens(description).get("release")
    assert token, description
    return description.removesuffix(f" release={token}")


def test_the_dry_run_prints_the_requests_the_release_sends(sandbox: Any) -> None:
    dry = sandbox.cli("release", "--sandbox", "--output", "json", "--dry-run", "--show-values", *INPUTS)
    assert dry.returncode == 0, dry.stderr
    plan = next(e for e in lines(dry.stdout) if e["event"] == "plan")
    calls = {c["call"]: c["params"] for c in plan["calls"]}
    register, create = calls["ecs.RegisterTaskDefinition"], calls["codedeploy.CreateDeployment"]
    assert sandbox.mutating_calls() == []

    real = sandbox.cli("release", "--sandbox", "--output", "json", "--no-wait", *INPUTS)
    assert real.returncode == 0, real.stderr
    summary = lines(real.stdout)[-1]
    arn, dep = summary["task_definition_arn"], summary["deployment_id"]

    # RegisterTaskDefinition: the registered revision has exactly the dry run's settings.
    td = sandbox.client("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
    registered = pruned(strip_read_only(td, arn))
    assert set(registered) == set(pruned(register)), "a top-level setting differs"
    assert covers(registered, pruned(register))
    env = {e["name"]: e["value"] for e in td["containerDefinitions"][0]["environment"]}
    assert env["GREETING"] == "hello from the dry run"

    # CreateDeployment: the same application, group, description and AppSpec content.
    cd = sandbox.client("codedeploy")
    info = cd.get_deployment(deploymentId=dep)["deploymentInfo"]
    assert info["applicationName"] == create["applicationName"]
    assert info["deploymentGroupName"] == create["deploymentGroupName"]
    assert ("deploymentConfigName" in create) is False  # the group's config: the dry run names none
    assert len(create["description"]) <= 512 and len(info["description"]) <= 512
    # The release token differs per run (it finds a deployment whose answer was lost); the rest is equal.
    assert without_token(info["description"]) == without_token(create["description"])
    revision = cd.get_application_revision(applicationName=info["applicationName"], revision=info["revision"])
    sent = revision["revision"]["appSpecContent"]
    planned = create["revision"]["appSpecContent"]
    assert create["revision"]["revisionType"] == "AppSpecContent"
    assert "<task_definition_arn>" in planned["content"]
    assert sent["content"] == planned["content"].replace("<task_definition_arn>", arn)
    assert sent["sha256"] == hashlib.sha256(sent["content"].encode()).hexdigest()

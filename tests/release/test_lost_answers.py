"""Non-idempotent writes whose answer is lost: AWS committed the call, the caller saw HTTP 500.

CreateDeployment and RegisterTaskDefinition take no idempotency token (API references), so a blind
retry would create a second deployment or register a second revision; orchestrator.writes looks for
what the failed attempt did before it retries.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from orchestrator import writes

from .test_release_e2e import release, summary


@pytest.mark.e2e
def test_a_release_under_post_processing_500s_makes_one_deployment_and_one_revision(sandbox) -> None:
    svc = sandbox.service_outputs()
    ecs, cd = sandbox.client("ecs"), sandbox.client("codedeploy")
    family = ecs.describe_task_definition(
        taskDefinition=ecs.describe_services(cluster=svc["cluster_name"], services=[svc["service_name"]])["services"][
            0
        ]["taskDefinition"]
    )["taskDefinition"]["family"]
    revisions_before = ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"]
    group = {
        "applicationName": svc["codedeploy_app_name"],
        "deploymentGroupName": svc["codedeploy_deployment_group_name"],
    }
    deployments_before = cd.list_deployments(**group)["deployments"]
    # Every CreateDeployment and RegisterTaskDefinition is processed, then answered HTTP 500.
    sandbox.control.set_faults(error_after_rate=1.0, error_after_actions=["CreateDeployment", "RegisterTaskDefinition"])

    res = release(sandbox, "--image", sandbox.pushed("lost-answer"))
    assert res.returncode == 0, res.stderr
    s = summary(res.stdout)
    assert s["status"] == "Succeeded"
    new_deployments = sorted(set(cd.list_deployments(**group)["deployments"]) - set(deployments_before))
    assert new_deployments == [s["deployment_id"]]
    new_revisions = sorted(
        set(ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"]) - set(revisions_before)
    )
    assert new_revisions == [s["task_definition_arn"]]
    assert "extra_task_definitions" not in s
    counts = sandbox.counts()
    assert counts["codedeploy"]["CreateDeployment"] == 1  # found after the 500, not retried
    assert counts["ecs"]["RegisterTaskDefinition"] == 1


def _server_error(op: str) -> ClientError:
    return ClientError({"Error": {"Code": "InternalFailure"}, "ResponseMetadata": {"HTTPStatusCode": 500}}, op)


class _Ecs:
    """RegisterTaskDefinition commits, then answers 500 on the first call; listing lags one call behind."""

    def __init__(self) -> None:
        self.registered: list[dict[str, Any]] = []
        self.register_calls = 0
        self.visible = 0

    def register_task_definition(self, **td: Any) -> dict[str, Any]:
        self.register_calls += 1
        rev = len(self.registered) + 1
        self.registered.append(
            {
                **td,
                "taskDefinitionArn": f"arn:td/{td['family']}:{rev}",
                "revision": rev,
                "registeredAt": datetime.now(UTC),
            }
        )
        if self.register_calls == 1:
            raise _server_error("RegisterTaskDefinition")
        self.visible = len(self.registered)
        return {"taskDefinition": self.registered[-1]}

    def list_task_definitions(self, **kw: Any) -> dict[str, Any]:
        shown = self.registered[: self.visible]
        self.visible = len(self.registered)  # eventually consistent: seen on the next look
        return {"taskDefinitionArns": [t["taskDefinitionArn"] for t in reversed(shown)]}

    def describe_task_definition(self, taskDefinition: str) -> dict[str, Any]:
        return {"taskDefinition": next(t for t in self.registered if t["taskDefinitionArn"] == taskDefinition)}


class _Aws:
    def __init__(self, ecs: _Ecs) -> None:
        self.ecs = ecs

    def client(self, name: str, retries: bool = True) -> Any:
        return self.ecs


def test_a_revision_left_by_a_committed_failed_attempt_is_reported() -> None:
    ecs = _Ecs()
    taskdef = {"family": "web", "containerDefinitions": [{"name": "web", "image": "repo/web:1"}]}
    td, extras = writes.register_task_definition(_Aws(ecs), taskdef, sleep=lambda s: None)  # type: ignore[arg-type]
    assert ecs.register_calls == 2
    assert td["taskDefinitionArn"] == "arn:td/web:2"
    assert extras == ["arn:td/web:1"]


def test_a_refusal_is_not_retried() -> None:
    class Refusing(_Ecs):
        def register_task_definition(self, **td: Any) -> dict[str, Any]:
            self.register_calls += 1
            raise ClientError({"Error": {"Code": "ClientException"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "x")

    ecs = Refusing()
    with pytest.raises(ClientError):
        writes.register_task_definition(_Aws(ecs), {"family": "web"}, sleep=lambda s: None)  # type: ignore[arg-type]
    assert ecs.register_calls == 1


def test_create_deployment_needs_a_release_token() -> None:
    with pytest.raises(ValueError):
        writes.create_deployment(_Aws(_Ecs()), {"description": "no token"})  # type: ignore[arg-type]

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


class _Clock:
    """A fake clock that advances only when the code under test sleeps."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def _lookup(before_retry_s: float = 1.0, budget_s: float = 30.0) -> tuple[writes.Lookup, _Clock]:
    clock = _Clock()
    return writes.Lookup(before_retry_s, budget_s, sleep=clock.sleep, clock=clock.now), clock


class _Ecs:
    """RegisterTaskDefinition commits, then answers 500 on the first call; a revision shows in the list
    only after `lag` more looks (eventual consistency)."""

    def __init__(self, lag: int = 1) -> None:
        self.registered: list[dict[str, Any]] = []
        self.register_calls = 0
        self.lag = lag
        self.looks: dict[str, int] = {}

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
        return {"taskDefinition": self.registered[-1]}

    def list_task_definitions(self, **kw: Any) -> dict[str, Any]:
        shown = []
        for t in self.registered:
            arn = t["taskDefinitionArn"]
            self.looks[arn] = self.looks.get(arn, 0) + 1
            if self.looks[arn] > self.lag:
                shown.append(t)
        return {"taskDefinitionArns": [t["taskDefinitionArn"] for t in reversed(shown)]}

    def describe_task_definition(self, taskDefinition: str) -> dict[str, Any]:
        return {"taskDefinition": next(t for t in self.registered if t["taskDefinitionArn"] == taskDefinition)}


class _Aws:
    time_scale = 1.0

    def __init__(self, client: Any) -> None:
        self.the_client = client

    def client(self, name: str, retries: bool = True) -> Any:
        return self.the_client


TASKDEF = {"family": "web", "containerDefinitions": [{"name": "web", "image": "repo/web:1"}]}


def test_a_revision_that_shows_within_the_look_is_not_registered_again() -> None:
    ecs = _Ecs(lag=2)
    lookup, clock = _lookup(before_retry_s=5.0)
    td, extras = writes.register_task_definition(_Aws(ecs), TASKDEF, lookup)  # type: ignore[arg-type]
    assert ecs.register_calls == 1
    assert td["taskDefinitionArn"] == "arn:td/web:1"
    assert extras == []
    assert 0 < clock.t < 5.0


def test_a_revision_left_by_a_committed_failed_attempt_is_reported() -> None:
    ecs = _Ecs(lag=2)  # shows only after the look before the retry has given up
    lookup, _ = _lookup(before_retry_s=0.5)
    td, extras = writes.register_task_definition(_Aws(ecs), TASKDEF, lookup)  # type: ignore[arg-type]
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
        writes.register_task_definition(_Aws(ecs), {"family": "web"}, _lookup()[0])  # type: ignore[arg-type]
    assert ecs.register_calls == 1


def test_create_deployment_needs_a_release_token() -> None:
    with pytest.raises(ValueError):
        writes.create_deployment(_Aws(_Ecs()), {"description": "no token"})  # type: ignore[arg-type]


class _CodeDeploy:
    """CreateDeployment commits and answers 500; the retry is refused (DeploymentLimitExceeded naming the
    holder); reads see a deployment only after `lag` looks. `holder_token`: the holder's release token
    (another release's when it differs from the request's)."""

    def __init__(self, lag: int, holder_token: str) -> None:
        self.lag, self.holder_token = lag, holder_token
        self.creates = 0
        self.looks = 0

    def create_deployment(self, **kw: Any) -> dict[str, Any]:
        self.creates += 1
        if self.creates == 1:
            raise _server_error("CreateDeployment")
        error = {
            "Code": "DeploymentLimitExceededException",
            "Message": "... already has an active Deployment 'd-ABCDEFGHI'",
        }
        raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}, "CreateDeployment")

    def _visible(self) -> bool:
        self.looks += 1
        return self.looks > self.lag

    def get_paginator(self, name: str) -> Any:
        outer = self

        class Pages:
            def paginate(self, **kw: Any) -> list[dict[str, Any]]:
                return [{"deployments": ["d-ABCDEFGHI"] if outer._visible() else []}]

        return Pages()

    def batch_get_deployments(self, deploymentIds: list[str]) -> dict[str, Any]:
        return {
            "deploymentsInfo": [
                {"deploymentId": d, "description": f"release={self.holder_token}"} for d in deploymentIds
            ]
        }

    def get_deployment(self, deploymentId: str) -> dict[str, Any]:
        if not self._visible():
            error = {"Code": "DeploymentDoesNotExistException", "Message": "does not exist"}
            raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}, "GetDeployment")
        return {"deploymentInfo": {"deploymentId": deploymentId, "description": f"release={self.holder_token}"}}


CREATE = {"applicationName": "app", "deploymentGroupName": "grp", "description": "release=ours"}


def test_a_refused_retry_is_not_a_lost_race_while_the_own_deployment_may_still_show() -> None:
    cd = _CodeDeploy(lag=12, holder_token="ours")  # longer than the look before the retry
    lookup, clock = _lookup(before_retry_s=1.0, budget_s=60.0)
    assert writes.create_deployment(_Aws(cd), CREATE, lookup) == "d-ABCDEFGHI"  # type: ignore[arg-type]
    assert cd.creates == 2
    assert clock.t < 60.0


def test_a_refused_retry_is_a_lost_race_once_the_holder_is_seen_to_be_another_release() -> None:
    cd = _CodeDeploy(lag=0, holder_token="theirs")
    lookup, clock = _lookup(before_retry_s=1.0, budget_s=60.0)
    with pytest.raises(ClientError, match="DeploymentLimitExceeded"):
        writes.create_deployment(_Aws(cd), CREATE, lookup)  # type: ignore[arg-type]
    assert clock.t < 5.0  # decided as soon as the holder was seen, not after the whole budget


def test_a_refused_retry_is_a_lost_race_after_the_lookup_budget() -> None:
    cd = _CodeDeploy(lag=10_000, holder_token="ours")  # never shows
    lookup, clock = _lookup(before_retry_s=1.0, budget_s=60.0)
    with pytest.raises(ClientError, match="DeploymentLimitExceeded"):
        writes.create_deployment(_Aws(cd), CREATE, lookup)  # type: ignore[arg-type]
    assert 60.0 <= clock.t < 70.0

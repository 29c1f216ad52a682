"""Eventual consistency as AWS has it: a lost CreateDeployment answer, and reads that lag behind writes.

The ECS API "follows an eventual consistency model" (ECS API reference); CodeDeploy documents none, and
the sandbox's `list_lag` fault makes its reads lag as the sandbox's choice (docs/sandbox-control.md).
Under the lag, the lookup after a lost answer does not see the committed deployment at once: the release
must look again within its budget, not retry into DeploymentLimitExceeded and take its own deployment
for another release's.
"""

from __future__ import annotations

from typing import Any

import pytest

from .test_release_e2e import release, summary

LAG_S = 300.0  # simulated seconds (times the test time scale): longer than the old single look + 0.5 s


def _group(svc: dict[str, Any]) -> dict[str, str]:
    return {
        "applicationName": svc["codedeploy_app_name"],
        "deploymentGroupName": svc["codedeploy_deployment_group_name"],
    }


@pytest.mark.e2e
@pytest.mark.parametrize("if_active", ["fail", "wait"])
def test_a_lost_create_under_list_lag_makes_one_deployment_and_deregisters_nothing(sandbox, if_active: str) -> None:
    svc = sandbox.service_outputs()
    cd, ecs = sandbox.client("codedeploy"), sandbox.client("ecs")
    before = set(cd.list_deployments(**_group(svc))["deployments"])
    # Every CreateDeployment is committed, then answered HTTP 500; reads lag LAG_S behind the writes.
    sandbox.control.set_faults(error_after_rate=1.0, error_after_actions=["CreateDeployment"], list_lag=LAG_S)
    sandbox.control.reset_requests()

    res = release(sandbox, "--image", sandbox.pushed("lagged"), "--if-active", if_active, timeout=180)
    counts = sandbox.control.request_counts()
    sandbox.control.set_faults(list_lag=0, error_after_rate=0)

    assert res.returncode == 0, res.stderr
    s = summary(res.stdout)
    assert s["status"] == "Succeeded"
    # Exactly one deployment: the one the lost answer committed, found again and followed.
    assert sorted(set(cd.list_deployments(**_group(svc))["deployments"]) - before) == [s["deployment_id"]]
    assert counts["codedeploy"]["CreateDeployment"] == 2  # the lost one, then the refused retry
    # Nothing it uses was deregistered: no DeregisterTaskDefinition at all, and its revision is ACTIVE.
    assert "DeregisterTaskDefinition" not in counts.get("ecs", {})
    td = ecs.describe_task_definition(taskDefinition=s["task_definition_arn"])["taskDefinition"]
    assert td["status"] == "ACTIVE"


def _view(*statuses: str) -> Any:
    from orchestrator.deployment import DeploymentView
    from orchestrator.events import LifecycleStatus

    names = ("BeforeInstall", "Install", "AfterInstall", "AllowTraffic")
    lifecycle = tuple(LifecycleStatus(n, s) for n, s in zip(names, statuses, strict=False))
    return DeploymentView("d-ABCDEFGHI", "Stopped", lifecycle, None, None, {}, {})


def test_the_rollback_id_is_waited_for_as_long_as_the_stop_once_the_service_changed() -> None:
    from orchestrator.operations import NOTHING_TO_ROLL_BACK_S, ROLLBACK_ID_WAIT_S, rollback_id_wait

    # Install ran: a rollback is due, however late AWS names it (it does not say when).
    assert rollback_id_wait(_view("Succeeded", "Failed", "Skipped", "Skipped"), 600.0) == 600.0
    assert rollback_id_wait(_view("Succeeded", "Succeeded", "InProgress", "Pending"), None) == ROLLBACK_ID_WAIT_S
    assert rollback_id_wait(_view("Succeeded", "Failed"), None, 0.01) == ROLLBACK_ID_WAIT_S * 0.01
    # Stopped before it changed anything: nothing to roll back, a few seconds settle it.
    assert rollback_id_wait(_view("Failed", "Skipped", "Skipped", "Skipped"), 600.0) == NOTHING_TO_ROLL_BACK_S
    assert rollback_id_wait(_view(), 600.0) == NOTHING_TO_ROLL_BACK_S


def _plan_like(sandbox: Any, description: str) -> Any:
    """What deregister_unused reads of a plan: its CreateDeployment step's description and its service."""
    from types import SimpleNamespace

    from orchestrator.contract import load_outputs_file
    from orchestrator.plan import CreateDeployment

    _, svc = load_outputs_file(sandbox.outputs_path).service("web")
    create = CreateDeployment(
        params={"description": description},
        revision=None,  # type: ignore[arg-type]
        application=svc.codedeploy_app_name,
        group=svc.codedeploy_deployment_group_name,
    )
    return SimpleNamespace(steps=[create], service=svc)


@pytest.mark.e2e
def test_a_task_definition_a_deployment_of_the_release_uses_is_never_deregistered(sandbox) -> None:
    from support.recorder import Recorder

    from orchestrator.aws import Aws
    from orchestrator.policy import deregister_unused

    res = release(sandbox, "--image", sandbox.pushed("kept"), "--no-wait")
    assert res.returncode == 0, res.stderr
    s = summary(res.stdout)
    dep, arn = s["deployment_id"], s["task_definition_arn"]
    info = sandbox.client("codedeploy").get_deployment(deploymentId=dep)["deploymentInfo"]
    aws = Aws(sandbox.region, endpoint_url=sandbox.endpoint, sandbox=True, time_scale=sandbox.time_scale)
    ecs = sandbox.client("ecs")

    # The release's own deployment (its token in the description) uses it: kept, and said so.
    said, details = deregister_unused(aws, _plan_like(sandbox, info["description"]), arn, Recorder())
    assert f"deployment {dep} uses it" in said and details == {"task_definition_used_by": dep}
    # Another token, but the active deployment's AppSpec names it: kept too.
    said, _ = deregister_unused(aws, _plan_like(sandbox, "orchestrator release release=0123456789ab"), arn, Recorder())
    assert f"deployment {dep} uses it" in said
    assert ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["status"] == "ACTIVE"
    # A revision that no deployment uses, of a release that has none, is deregistered (a lost race).
    spare = ecs.register_task_definition(
        family="spare", containerDefinitions=[{"name": "web", "image": "repo/web:1", "memory": 128}]
    )["taskDefinition"]["taskDefinitionArn"]
    lost = _plan_like(sandbox, "orchestrator release release=ba9876543210")
    said, details = deregister_unused(aws, lost, spare, Recorder())
    assert details == {"task_definition_deregistered": True}
    assert ecs.describe_task_definition(taskDefinition=spare)["taskDefinition"]["status"] == "INACTIVE"


@pytest.mark.e2e
def test_a_release_follows_its_deployment_while_reads_do_not_show_it_yet(sandbox) -> None:
    """No lost answer: CreateDeployment answers with the id, and GetDeployment does not know it yet."""
    sandbox.control.set_faults(list_lag=LAG_S)
    try:
        res = release(sandbox, "--image", sandbox.pushed("young"), timeout=180)
    finally:
        sandbox.control.set_faults(list_lag=0)
    assert res.returncode == 0, res.stderr
    assert summary(res.stdout)["status"] == "Succeeded"


def test_a_cause_chain_that_loops_back_is_read_to_its_end() -> None:
    """An error raised `from` itself (the watch re-raising AWS's own error) must not hang the release."""
    from botocore.exceptions import ClientError

    from orchestrator.policy import limit_exceeded

    error = {"Code": "DeploymentDoesNotExistException", "Message": "unknown"}
    exc = ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}, "GetDeployment")
    exc.__cause__ = exc
    assert limit_exceeded(exc) is None

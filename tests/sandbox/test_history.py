"""Seeding a deployment group's history (/_sandbox/history, `sandbox seed-history`) over HTTP."""

from __future__ import annotations

import json

import pytest
from support.stack import make_stack

from orchestrator.sandbox.control import ControlError, SandboxControl


def test_seeded_history_reads_as_finished_deployments_with_their_revisions(
    endpoint: str, control: SandboxControl
) -> None:
    stack = make_stack(endpoint)
    cd, ecs = stack.c("codedeploy"), stack.c("ecs")
    done = control.seed_history(stack.group, 30)
    assert done["seeded"] == 30
    ids = cd.list_deployments(applicationName=stack.app, deploymentGroupName=stack.group)["deployments"]
    assert len(ids) == 30 and done["first"] in ids and done["last"] in ids
    infos = cd.batch_get_deployments(deploymentIds=ids[:25])["deploymentsInfo"]
    assert {d["status"] for d in infos} == {"Succeeded"}
    assert all(d["completeTime"] > d["createTime"] for d in infos)
    newest = cd.get_deployment(deploymentId=done["last"])["deploymentInfo"]
    oldest = cd.get_deployment(deploymentId=done["first"])["deploymentInfo"]
    assert newest["createTime"] > oldest["createTime"]
    assert newest["previousRevision"]["appSpecContent"]["sha256"]
    # Each revision is registered with the application, its AppSpec naming a task definition of the family;
    # the newest one names the service's live task definition.
    revision = cd.get_application_revision(applicationName=stack.app, revision=newest["revision"])["revision"]
    spec = json.loads(revision["appSpecContent"]["content"])
    task_definition = spec["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"]
    assert task_definition == stack.ecs_service()["taskDefinition"]
    first = cd.get_application_revision(applicationName=stack.app, revision=oldest["revision"])["revision"]
    first_td = json.loads(first["appSpecContent"]["content"])["Resources"][0]["TargetService"]["Properties"]
    described = ecs.describe_task_definition(taskDefinition=first_td["TaskDefinition"])["taskDefinition"]
    assert described["family"] == stack.family
    assert described["containerDefinitions"][0]["image"].endswith(":sandbox-history-1")
    group = cd.get_deployment_group(applicationName=stack.app, deploymentGroupName=stack.group)
    assert group["deploymentGroupInfo"]["lastSuccessfulDeployment"]["deploymentId"] == done["last"]
    # A release after it runs as usual.
    deployment_id = stack.deploy()
    assert stack.wait(deployment_id, ("Succeeded", "Failed", "Stopped"), timeout=60)["status"] == "Succeeded"


def test_bad_seed_requests_are_refused(endpoint: str, control: SandboxControl) -> None:
    stack = make_stack(endpoint)
    for group, count, message in (
        ("no-such-group", 5, "no deployment group"),
        (stack.group, 0, "count must be a whole number from 1 to 5000"),
        (stack.group, 5001, "count must be"),
    ):
        with pytest.raises(ControlError, match=message):
            control.seed_history(group, count)
    stack.deploy()
    with pytest.raises(ControlError, match="has an active deployment"):
        control.seed_history(stack.group, 5)

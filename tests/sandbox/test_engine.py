"""The CodeDeploy ECS blue/green engine, driven over HTTP with boto3."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError
from support.stack import make_stack

from orchestrator.sandbox.engine_run import LIFECYCLE

TERMINAL = ("Succeeded", "Failed", "Stopped")


def test_all_at_once_runs_the_lifecycle_in_order_and_swaps_task_sets(endpoint: str) -> None:
    stack = make_stack(endpoint, termination_wait=1)
    before = stack.ecs_service()
    assert [ts["status"] for ts in before["taskSets"]] == ["PRIMARY"]
    blue_task_set = before["taskSets"][0]["id"]
    assert before["taskDefinition"] == stack.initial_task_definition

    deployment_id = stack.deploy()
    assert deployment_id.startswith("d-") and len(deployment_id) == 11
    seen: list[str] = []  # lifecycle events in the order they were first seen running or done
    while True:
        info = stack.deployment(deployment_id)
        if info["status"] != "Created":
            for event in stack.target(deployment_id)["lifecycleEvents"]:
                if event["status"] != "Pending" and event["lifecycleEventName"] not in seen:
                    seen.append(event["lifecycleEventName"])
        if info["status"] in TERMINAL:
            break
        time.sleep(0.01)

    assert info["status"] == "Succeeded"
    assert seen == list(LIFECYCLE)
    events = stack.target(deployment_id)["lifecycleEvents"]
    assert [e["lifecycleEventName"] for e in sorted(events, key=lambda e: e["startTime"])] == list(LIFECYCLE)
    assert stack.test_weights() == {stack.green_tg: 100, stack.blue_tg: 0}
    assert info["deploymentConfigName"] == "CodeDeployDefault.ECSAllAtOnce"
    assert info["creator"] == "user"
    assert info["deploymentOverview"]["Succeeded"] == 1
    assert info["createTime"] <= info["startTime"] <= info["completeTime"]
    assert info["deploymentStyle"] == {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}
    assert info["instanceTerminationWaitTimeStarted"] is True

    target = stack.target(deployment_id)
    assert target["status"] == "Succeeded"
    assert target["targetArn"].endswith(f"service/{stack.cluster}/{stack.service}")
    assert all(e["status"] == "Succeeded" for e in target["lifecycleEvents"])
    labels = {ts["taskSetLabel"]: ts for ts in target["taskSetsInfo"]}
    assert labels["Green"]["trafficWeight"] == 100.0
    assert labels["Green"]["targetGroup"] == {"name": stack.green_tg_name}
    assert labels["Blue"]["trafficWeight"] == 0.0

    # Production now forwards to green; the green task set is the service's only (PRIMARY) one.
    assert stack.prod_weights() == {stack.blue_tg: 0, stack.green_tg: 100}
    after = stack.ecs_service()
    # ECS keeps the replaced task set DRAINING at scale 0 a while, then deletes it (ECS API reference,
    # TaskSet.status: "DRAINING: The tasks in the task set are being stopped, and their corresponding
    # targets are being deregistered from their target group").
    drained = [ts for ts in after["taskSets"] if ts["status"] == "DRAINING"]
    assert [ts["id"] for ts in drained] == [blue_task_set]
    assert drained[0]["scale"]["value"] == 0.0 and drained[0]["computedDesiredCount"] == 0
    after = stack.drained_service()
    assert [ts["status"] for ts in after["taskSets"]] == ["PRIMARY"]
    green = after["taskSets"][0]
    assert green["id"] != blue_task_set
    assert green["loadBalancers"][0]["targetGroupArn"] == stack.green_tg
    assert green["runningCount"] == green["computedDesiredCount"] == 2
    assert after["taskDefinition"] == green["taskDefinition"] != stack.initial_task_definition


def test_second_deployment_goes_back_to_the_first_target_group(endpoint: str) -> None:
    stack = make_stack(endpoint)
    first = stack.deploy()
    stack.wait(first, TERMINAL)
    second = stack.deploy()
    info = stack.wait(second, TERMINAL)
    assert info["status"] == "Succeeded"
    assert info["previousRevision"] == stack.deployment(first)["revision"]
    assert stack.prod_weights() == {stack.blue_tg: 100, stack.green_tg: 0}
    (task_set,) = stack.drained_service()["taskSets"]
    assert task_set["loadBalancers"][0]["targetGroupArn"] == stack.blue_tg
    group = stack.c("codedeploy").get_deployment_group(applicationName=stack.app, deploymentGroupName=stack.group)
    info = group["deploymentGroupInfo"]
    assert info["lastSuccessfulDeployment"]["deploymentId"] == second
    assert info["lastAttemptedDeployment"]["deploymentId"] == second


def test_a_second_deployment_while_one_is_active_is_refused(endpoint: str) -> None:
    stack = make_stack(endpoint, config="CodeDeployDefault.ECSCanary10Percent5Minutes")  # stays active ~4 s
    active = stack.deploy()
    with pytest.raises(ClientError) as refused:
        stack.deploy()
    error = refused.value.response["Error"]
    assert error["Code"] == "DeploymentLimitExceededException"
    assert active in error["Message"] and stack.group in error["Message"]
    stack.wait(active, TERMINAL)


def test_deployment_targets_are_listed_and_fetched(endpoint: str) -> None:
    stack = make_stack(endpoint)
    deployment_id = stack.deploy()
    stack.wait(deployment_id, TERMINAL)
    cd = stack.c("codedeploy")
    target_id = f"{stack.cluster}:{stack.service}"
    assert cd.list_deployment_targets(deploymentId=deployment_id)["targetIds"] == [target_id]
    batch = cd.batch_get_deployment_targets(deploymentId=deployment_id, targetIds=[target_id])["deploymentTargets"]
    assert batch[0]["deploymentTargetType"] == "ECSTarget"
    assert batch[0]["ecsTarget"]["targetId"] == target_id
    with pytest.raises(ClientError) as missing:
        cd.get_deployment_target(deploymentId=deployment_id, targetId="nope:nope")
    assert missing.value.response["Error"]["Code"] == "DeploymentTargetDoesNotExistException"


def test_built_in_ecs_deployment_configs(endpoint: str) -> None:
    stack = make_stack(endpoint)
    cd = stack.c("codedeploy")
    names = cd.list_deployment_configs()["deploymentConfigsList"]
    for name in (
        "CodeDeployDefault.ECSAllAtOnce",
        "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
        "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
        "CodeDeployDefault.ECSCanary10Percent5Minutes",
        "CodeDeployDefault.ECSCanary10Percent15Minutes",
    ):
        assert name in names
    canary = cd.get_deployment_config(deploymentConfigName="CodeDeployDefault.ECSCanary10Percent5Minutes")
    info = canary["deploymentConfigInfo"]
    assert info["computePlatform"] == "ECS"
    assert info["trafficRoutingConfig"] == {
        "type": "TimeBasedCanary",
        "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 5},
    }
    with pytest.raises(ClientError) as missing:
        cd.get_deployment_config(deploymentConfigName="NoSuchConfig")
    assert missing.value.response["Error"]["Code"] == "DeploymentConfigDoesNotExistException"


def test_update_service_task_definition_is_refused_on_a_code_deploy_service(endpoint: str) -> None:
    stack = make_stack(endpoint)
    revision = stack.register_revision()
    with pytest.raises(ClientError) as refused:
        stack.c("ecs").update_service(cluster=stack.cluster, service=stack.service, taskDefinition=revision)
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidParameterException"
    assert "CODE_DEPLOY deployment controller" in error["Message"]
    assert stack.ecs_service()["taskDefinition"] == stack.initial_task_definition
    with pytest.raises(ClientError) as forced:
        stack.c("ecs").update_service(cluster=stack.cluster, service=stack.service, forceNewDeployment=True)
    assert "Unable to force a new deployment" in forced.value.response["Error"]["Message"]
    # Scaling is still allowed.
    stack.c("ecs").update_service(cluster=stack.cluster, service=stack.service, desiredCount=3)
    assert stack.ecs_service()["desiredCount"] == 3


def test_create_service_without_security_groups_is_accepted(endpoint: str) -> None:
    stack = make_stack(endpoint)
    ecs = stack.c("ecs")
    subnets = stack.ecs_service()["networkConfiguration"]["awsvpcConfiguration"]["subnets"]
    created = ecs.create_service(
        cluster=stack.cluster,
        serviceName="no-sg",
        taskDefinition=stack.initial_task_definition,
        desiredCount=1,
        launchType="FARGATE",
        deploymentController={"type": "CODE_DEPLOY"},
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets}},
    )["service"]
    assert created["status"] == "ACTIVE"
    assert [ts["status"] for ts in created["taskSets"]] == ["PRIMARY"]


@pytest.mark.parametrize(
    ("container", "port", "complaint"),
    [("api", 8080, "container api does not exist"), ("web", 9999, "did not have a container port 9999")],
)
def test_appspec_naming_a_container_or_port_the_task_definition_lacks_fails_install(
    endpoint: str, container: str, port: int, complaint: str
) -> None:
    import hashlib
    import json

    stack = make_stack(endpoint)
    spec = json.loads(stack.appspec(stack.register_revision()))
    spec["Resources"][0]["TargetService"]["Properties"]["LoadBalancerInfo"] = {
        "ContainerName": container,
        "ContainerPort": port,
    }
    content = json.dumps(spec)
    deployment_id = stack.c("codedeploy").create_deployment(
        applicationName=stack.app,
        deploymentGroupName=stack.group,
        revision={
            "revisionType": "AppSpecContent",
            "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()},
        },
    )["deploymentId"]
    info = stack.wait(deployment_id, TERMINAL)
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "ECS_UPDATE_ERROR"
    assert complaint in info["errorInformation"]["message"]
    events = {e["lifecycleEventName"]: e["status"] for e in stack.target(deployment_id)["lifecycleEvents"]}
    assert events["Install"] == "Failed"
    assert [ts["status"] for ts in stack.drained_service()["taskSets"]] == ["PRIMARY"]

"""UpdateDeploymentGroup: the next deployment follows the new settings; errors as AWS answers them."""

from __future__ import annotations

import time
import uuid

import pytest
from botocore.exceptions import ClientError
from support.stack import make_stack

TERMINAL = ("Succeeded", "Failed", "Stopped")


def test_stop_deployment_and_termination_wait_apply_to_the_next_deployment(endpoint: str) -> None:
    stack = make_stack(endpoint)  # CONTINUE_DEPLOYMENT, no termination wait
    cd = stack.c("codedeploy")
    running = stack.deploy()
    before = cd.get_deployment_group(applicationName=stack.app, deploymentGroupName=stack.group)["deploymentGroupInfo"]
    answer = cd.update_deployment_group(
        applicationName=stack.app,
        currentDeploymentGroupName=stack.group,
        blueGreenDeploymentConfiguration={
            "deploymentReadyOption": {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 60},
            "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 600},
        },
    )
    assert answer["hooksNotCleanedUp"] == []
    group = cd.get_deployment_group(applicationName=stack.app, deploymentGroupName=stack.group)["deploymentGroupInfo"]
    bg = group["blueGreenDeploymentConfiguration"]
    assert bg["deploymentReadyOption"] == {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 60}
    assert bg["terminateBlueInstancesOnDeploymentSuccess"]["terminationWaitTimeInMinutes"] == 600
    # Settings the request left out keep their value.
    assert group["deploymentConfigName"] == "CodeDeployDefault.ECSAllAtOnce"
    assert group["ecsServices"] == [{"serviceName": stack.service, "clusterName": stack.cluster}]
    assert group["serviceRoleArn"] == before["serviceRoleArn"]

    # The deployment already running keeps the settings it started with: no Ready wait.
    assert stack.wait(running, ("Ready", *TERMINAL))["status"] == "Succeeded"

    following = stack.deploy()
    info = stack.wait(following, ("Ready", *TERMINAL))
    assert info["status"] == "Ready"
    assert info["blueGreenDeploymentConfiguration"]["deploymentReadyOption"]["actionOnTimeout"] == "STOP_DEPLOYMENT"
    cd.continue_deployment(deploymentId=following, deploymentWaitType="READY_WAIT")
    while not stack.deployment(following)["instanceTerminationWaitTimeStarted"]:
        time.sleep(0.02)
    assert stack.deployment(following)["status"] == "InProgress"
    assert len(stack.ecs_service()["taskSets"]) == 2  # the original waits out the termination wait
    cd.continue_deployment(deploymentId=following, deploymentWaitType="TERMINATION_WAIT")
    assert stack.wait(following, TERMINAL)["status"] == "Succeeded"


def test_a_new_deployment_config_applies_to_the_next_deployment(endpoint: str) -> None:
    stack = make_stack(endpoint)
    cd = stack.c("codedeploy")
    config = f"canary20-{uuid.uuid4().hex[:6]}"
    cd.create_deployment_config(
        deploymentConfigName=config,
        computePlatform="ECS",
        trafficRoutingConfig={
            "type": "TimeBasedCanary",
            "timeBasedCanary": {"canaryPercentage": 20, "canaryInterval": 3},
        },
    )
    cd.update_deployment_group(
        applicationName=stack.app, currentDeploymentGroupName=stack.group, deploymentConfigName=config
    )
    group = cd.get_deployment_group(applicationName=stack.app, deploymentGroupName=stack.group)["deploymentGroupInfo"]
    assert group["deploymentConfigName"] == config

    deployment_id = stack.deploy()
    assert stack.deployment(deployment_id)["deploymentConfigName"] == config
    while stack.prod_weights().get(stack.green_tg) != 20:
        assert stack.deployment(deployment_id)["status"] not in TERMINAL, "no 20 % canary step seen"
        time.sleep(0.02)
    assert stack.prod_weights() == {stack.blue_tg: 80, stack.green_tg: 20}
    assert stack.wait(deployment_id, TERMINAL)["status"] == "Succeeded"
    assert stack.prod_weights() == {stack.blue_tg: 0, stack.green_tg: 100}


def test_rename_keeps_the_history_and_refuses_a_taken_name(endpoint: str) -> None:
    stack = make_stack(endpoint)
    cd = stack.c("codedeploy")
    first = stack.deploy()
    assert stack.wait(first, TERMINAL)["status"] == "Succeeded"
    other = f"{stack.name}-other"
    cd.create_deployment_group(
        applicationName=stack.app,
        deploymentGroupName=other,
        serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy",
    )
    with pytest.raises(ClientError) as taken:
        cd.update_deployment_group(
            applicationName=stack.app, currentDeploymentGroupName=stack.group, newDeploymentGroupName=other
        )
    assert taken.value.response["Error"]["Code"] == "DeploymentGroupAlreadyExistsException"

    renamed = f"{stack.name}-renamed"
    cd.update_deployment_group(
        applicationName=stack.app, currentDeploymentGroupName=stack.group, newDeploymentGroupName=renamed
    )
    assert sorted(cd.list_deployment_groups(applicationName=stack.app)["deploymentGroups"]) == sorted([renamed, other])
    with pytest.raises(ClientError) as gone:
        cd.get_deployment_group(applicationName=stack.app, deploymentGroupName=stack.group)
    assert gone.value.response["Error"]["Code"] == "DeploymentGroupDoesNotExistException"
    group = cd.get_deployment_group(applicationName=stack.app, deploymentGroupName=renamed)["deploymentGroupInfo"]
    assert group["lastSuccessfulDeployment"]["deploymentId"] == first
    assert cd.list_deployments(applicationName=stack.app, deploymentGroupName=renamed)["deployments"] == [first]

    stack.group = renamed
    second = stack.deploy()
    assert stack.wait(second, TERMINAL)["status"] == "Succeeded"
    assert stack.deployment(second)["deploymentGroupName"] == renamed


def test_unknown_application_group_or_config_is_refused_and_changes_nothing(endpoint: str) -> None:
    stack = make_stack(endpoint)
    cd = stack.c("codedeploy")

    def code(**params: str) -> str:
        with pytest.raises(ClientError) as refused:
            cd.update_deployment_group(
                **{"applicationName": stack.app, "currentDeploymentGroupName": stack.group, **params}
            )
        return str(refused.value.response["Error"]["Code"])

    assert code(applicationName=f"{stack.name}-nope") == "ApplicationDoesNotExistException"
    assert code(currentDeploymentGroupName=f"{stack.name}-nope") == "DeploymentGroupDoesNotExistException"
    assert code(deploymentConfigName="CodeDeployDefault.NoSuchConfig") == "DeploymentConfigDoesNotExistException"
    # A config of another compute platform cannot drive an ECS deployment.
    assert code(deploymentConfigName="CodeDeployDefault.OneAtATime") == "InvalidDeploymentConfigNameException"
    assert (
        code(
            deploymentConfigName="CodeDeployDefault.NoSuchConfig",
            blueGreenDeploymentConfiguration={"deploymentReadyOption": {"actionOnTimeout": "STOP_DEPLOYMENT"}},
        )
        == "DeploymentConfigDoesNotExistException"
    )

    group = cd.get_deployment_group(applicationName=stack.app, deploymentGroupName=stack.group)["deploymentGroupInfo"]
    assert group["deploymentConfigName"] == "CodeDeployDefault.ECSAllAtOnce"
    ready = group["blueGreenDeploymentConfiguration"]["deploymentReadyOption"]
    assert ready["actionOnTimeout"] == "CONTINUE_DEPLOYMENT"
    deployment_id = stack.deploy()
    assert stack.wait(deployment_id, ("Ready", *TERMINAL))["status"] == "Succeeded"

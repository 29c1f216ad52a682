"""The list_lag fault: list and batch reads lag behind writes (eventual consistency), over HTTP."""

from __future__ import annotations

import importlib
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support.clients import client
from support.stack import make_stack, task_definition

from orchestrator.sandbox.consistency import INTERNALS
from orchestrator.sandbox.control import SandboxControl

LAG = 500.0  # simulated seconds: 5 s at the tests' time scale, so a loaded machine still looks within it


def _listed(stack: Any) -> list[str]:
    cd = stack.c("codedeploy")
    return list(cd.list_deployments(applicationName=stack.app, deploymentGroupName=stack.group)["deployments"])


def test_a_committed_deployment_is_missing_from_reads_until_the_lag_passes(
    endpoint: str, control: SandboxControl
) -> None:
    stack = make_stack(endpoint)
    cd = stack.c("codedeploy")
    # A CreateDeployment whose answer is lost (processed, then HTTP 500), under the lag.
    control.set_faults(list_lag=LAG, error_after_rate=1.0, error_after_actions=["CreateDeployment"])
    stack.clients["codedeploy"] = client(endpoint, "codedeploy", attempts=0)  # no retry: the answer stays lost
    with pytest.raises(ClientError) as lost:
        stack.deploy()
    assert lost.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    control.set_faults(error_after_rate=0.0)
    assert _listed(stack) == []  # committed, not seen yet
    deadline = time.monotonic() + 60
    while not _listed(stack):
        assert time.monotonic() < deadline, "the deployment never appeared"
        time.sleep(0.05)
    (deployment_id,) = _listed(stack)
    assert cd.get_deployment(deploymentId=deployment_id)["deploymentInfo"]["deploymentId"] == deployment_id
    assert [d["deploymentId"] for d in cd.batch_get_deployments(deploymentIds=[deployment_id])["deploymentsInfo"]] == [
        deployment_id
    ]
    # The engine's own reads never lagged: the deployment ran meanwhile.
    assert stack.deployment(deployment_id)["status"] != "Created"


def test_reads_of_a_young_deployment_and_task_definition_miss_it(endpoint: str, control: SandboxControl) -> None:
    stack = make_stack(endpoint)
    cd, ecs = stack.c("codedeploy"), stack.c("ecs")
    # 3 wall seconds at the tests' scale: the stack, made before them, is seen; what this test makes is not.
    control.set_faults(list_lag=300)
    time.sleep(300 * control.time_scale() + 0.2)
    deployment_id = stack.deploy()
    with pytest.raises(ClientError) as missing:
        cd.get_deployment(deploymentId=deployment_id)
    assert missing.value.response["Error"]["Code"] == "DeploymentDoesNotExistException"
    assert cd.batch_get_deployments(deploymentIds=[deployment_id])["deploymentsInfo"] == []
    assert deployment_id not in _listed(stack)

    arn = ecs.register_task_definition(**task_definition(stack.family, "nginx:3"))["taskDefinition"][
        "taskDefinitionArn"
    ]
    with pytest.raises(ClientError) as no_td:
        ecs.describe_task_definition(taskDefinition=arn)
    assert no_td.value.response["Error"]["Code"] == "ClientException"
    # By family: the newest revision old enough to be seen (the stack's first one).
    by_family = ecs.describe_task_definition(taskDefinition=stack.family)["taskDefinition"]["taskDefinitionArn"]
    assert by_family == stack.initial_task_definition
    assert arn not in ecs.list_task_definitions(familyPrefix=stack.family)["taskDefinitionArns"]

    control.set_faults(list_lag=0)
    assert deployment_id in _listed(stack)
    assert ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["taskDefinitionArn"] == arn


def test_moto_internals_the_lag_wraps_exist() -> None:
    for dotted in INTERNALS:
        module, _, rest = dotted.partition(".models.")
        obj: Any = importlib.import_module(module + ".models")
        for part in rest.split("."):
            obj = getattr(obj, part)

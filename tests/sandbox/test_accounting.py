"""Request accounting on the control endpoint."""

from __future__ import annotations

import contextlib

from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError
from support.clients import client
from support.stack import make_stack

from orchestrator.sandbox.control import SandboxControl, is_read


def test_calls_are_counted_per_service_and_action(endpoint: str, control: SandboxControl) -> None:
    stack = make_stack(endpoint)
    control.reset_requests()
    assert control.request_counts() == {}
    ecs = client(endpoint, "ecs")
    for _ in range(3):
        ecs.describe_services(cluster=stack.cluster, services=[stack.service])
    client(endpoint, "elbv2").describe_listeners(ListenerArns=[stack.prod_listener])  # query protocol
    assert control.mutating_calls() == []
    stack.deploy()
    counts = control.request_counts()
    assert counts["ecs"]["DescribeServices"] == 3
    assert counts["ecs"]["RegisterTaskDefinition"] == 1
    assert counts["elasticloadbalancing"]["DescribeListeners"] == 1
    assert counts["codedeploy"]["CreateDeployment"] == 1
    assert control.mutating_calls() == ["codedeploy:CreateDeployment", "ecs:RegisterTaskDefinition"]
    # The control endpoint's own calls are not counted.
    control.health()
    control.faults()
    assert control.request_counts() == counts
    control.reset_requests()
    assert control.request_counts() == {}


def test_policy_simulation_counts_as_a_read(endpoint: str, control: SandboxControl) -> None:
    iam = client(endpoint, "iam")
    control.reset_requests()
    # moto lacks the simulator (HTTP 500); the call is counted all the same.
    with contextlib.suppress(ClientError, ResponseParserError):
        iam.simulate_principal_policy(
            PolicySourceArn="arn:aws:iam::123456789012:role/ci", ActionNames=["ecs:DescribeServices"]
        )
    with contextlib.suppress(ClientError, ResponseParserError):
        iam.simulate_custom_policy(PolicyInputList=["{}"], ActionNames=["ecs:DescribeServices"])
    assert control.request_counts()["iam"] == {"SimulatePrincipalPolicy": 1, "SimulateCustomPolicy": 1}
    assert control.mutating_calls() == []
    iam.create_role(RoleName=f"r{id(iam)}", AssumeRolePolicyDocument="{}")
    assert control.mutating_calls() == ["iam:CreateRole"]


def test_read_classification() -> None:
    reads = ["DescribeServices", "ListTasks", "GetDeployment", "BatchGetDeployments", "SimulatePrincipalPolicy"]
    assert all(is_read(action) for action in [*reads, "SimulateCustomPolicy", "GET /v2/", "HEAD /v2/x"])
    writes = ["CreateDeployment", "UpdateDeploymentGroup", "PutRolePolicy", "RegisterTaskDefinition", "PUT /v2/x"]
    assert not any(is_read(action) for action in writes)


def test_health(control: SandboxControl) -> None:
    health = control.health()
    assert health["status"] == "ok"
    assert health["moto"] == "5.2.5"
    assert health["time_scale"] > 0


def test_a_window_of_calls_gives_counts_and_the_rate_per_minute(endpoint: str, control: SandboxControl) -> None:
    import time

    import pytest

    from orchestrator.sandbox.control import ControlError

    stack = make_stack(endpoint)
    ecs = client(endpoint, "ecs")
    began = control.reset_requests()
    assert abs(began - time.time()) < 5  # the sandbox's clock is this host's
    for _ in range(4):
        ecs.describe_services(cluster=stack.cluster, services=[stack.service])
    time.sleep(0.05)
    middle = time.time()
    time.sleep(0.05)
    for _ in range(2):
        client(endpoint, "codedeploy").get_deployment_group(applicationName=stack.app, deploymentGroupName=stack.group)

    whole = control.request_window()
    assert whole["since"] == began
    assert whole["calls"] == 6
    assert whole["counts"] == {"ecs": {"DescribeServices": 4}, "codedeploy": {"GetDeploymentGroup": 2}}
    assert whole["calls_per_minute"] == pytest.approx(6 * 60 / whole["elapsed_s"])
    assert whole["counts"] == control.request_counts()

    first = control.request_window(until=middle)
    assert (first["calls"], first["counts"]) == (4, {"ecs": {"DescribeServices": 4}})
    assert first["elapsed_s"] == pytest.approx(middle - began)
    second = control.request_window(since=middle)
    assert (second["calls"], second["counts"]) == (2, {"codedeploy": {"GetDeploymentGroup": 2}})
    # A window reaching back before the reset starts at the reset: those calls are forgotten.
    assert control.request_window(since=began - 60)["since"] == began
    with pytest.raises(ControlError, match="the window ends"):
        control.request_window(since=middle, until=middle - 1)

    control.reset_requests()
    assert control.request_window()["calls"] == 0

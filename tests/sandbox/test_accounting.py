"""Request accounting on the control endpoint."""

from __future__ import annotations

from orchestrator.sandbox.control import SandboxControl

from .stack import client, make_stack


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


def test_health(control: SandboxControl) -> None:
    health = control.health()
    assert health["status"] == "ok"
    assert health["moto"] == "5.2.5"
    assert health["time_scale"] > 0

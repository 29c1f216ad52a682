"""Canary and linear deployment configs, observed at their intermediate traffic weights."""

from __future__ import annotations

import time
import uuid

from support.stack import Stack, make_stack

TERMINAL = ("Succeeded", "Failed", "Stopped")


def observe(stack: Stack, deployment_id: str) -> tuple[list[int], list[float], dict[str, object]]:
    """Poll until done: distinct green weights of the prod listener and of the target's green task set."""
    listener: list[int] = []
    target: list[float] = []
    while True:
        info = stack.deployment(deployment_id)
        weight = stack.prod_weights().get(stack.green_tg, 0)
        if not listener or listener[-1] != weight:
            listener.append(weight)
        if info["status"] != "Created":
            for task_set in stack.target(deployment_id)["taskSetsInfo"]:
                if task_set["taskSetLabel"] == "Green" and (not target or target[-1] != task_set["trafficWeight"]):
                    target.append(task_set["trafficWeight"])
        if info["status"] in TERMINAL:
            return listener, target, info
        time.sleep(0.02)


def test_canary_shifts_ten_percent_then_the_rest(endpoint: str) -> None:
    stack = make_stack(endpoint, config="CodeDeployDefault.ECSCanary10Percent5Minutes")
    deployment_id = stack.deploy()
    listener, target, info = observe(stack, deployment_id)
    assert info["status"] == "Succeeded"
    assert info["deploymentConfigName"] == "CodeDeployDefault.ECSCanary10Percent5Minutes"
    assert listener == [0, 10, 100]
    assert target[-2:] == [10.0, 100.0]


def test_linear_custom_config_steps_through_every_increment(endpoint: str) -> None:
    stack = make_stack(endpoint)
    cd = stack.c("codedeploy")
    name = f"Linear25Every1-{uuid.uuid4().hex[:6]}"
    cd.create_deployment_config(
        deploymentConfigName=name,
        computePlatform="ECS",
        trafficRoutingConfig={
            "type": "TimeBasedLinear",
            "timeBasedLinear": {"linearPercentage": 25, "linearInterval": 1},
        },
    )
    assert name in cd.list_deployment_configs()["deploymentConfigsList"]
    deployment_id = stack.deploy(config=name)
    listener, target, info = observe(stack, deployment_id)
    assert info["status"] == "Succeeded"
    assert listener == [0, 25, 50, 75, 100]
    assert target[-4:] == [25.0, 50.0, 75.0, 100.0]


def test_progress_needs_no_polling(endpoint: str, control: object) -> None:
    from orchestrator.sandbox.control import SandboxControl

    assert isinstance(control, SandboxControl)
    stack = make_stack(endpoint)
    deployment_id = stack.deploy()
    control.reset_requests()
    # Watch through the control endpoint (not an AWS call) until the engine has finished.
    while deployment_id in control.health()["active_deployments"]:
        time.sleep(0.05)
    assert control.request_counts() == {}
    assert stack.deployment(deployment_id)["status"] == "Succeeded"

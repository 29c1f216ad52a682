"""Faults scoped to one deployment group (`sandbox fault --group NAME`) over the control endpoint."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from typing import Any

import pytest
from support.stack import Stack, make_stack

from orchestrator.sandbox.control import ControlError, SandboxControl
from orchestrator.sandbox.faults import DeploymentFaults

TERMINAL = ("Succeeded", "Failed", "Stopped")


def event_of(stack: Stack, deployment_id: str, name: str) -> dict[str, Any]:
    return next(e for e in stack.target(deployment_id)["lifecycleEvents"] if e["lifecycleEventName"] == name)


def deploy_with_hook(stack: Stack, event: str) -> str:
    """A deployment whose AppSpec names the stack's own smoke-test function at `event`."""
    content = stack.appspec(stack.register_revision(), hooks=[{event: f"{stack.name}-web-smoke-test"}])
    revision = {
        "revisionType": "AppSpecContent",
        "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()},
    }
    return str(
        stack.c("codedeploy").create_deployment(
            applicationName=stack.app, deploymentGroupName=stack.group, revision=revision
        )["deploymentId"]
    )


def test_a_group_fault_fails_only_the_next_deployment_on_that_group(endpoint: str, control: SandboxControl) -> None:
    web, api, other = make_stack(endpoint), make_stack(endpoint), make_stack(endpoint)
    control.set_faults(fail_at="AfterInstall", message="web smoke test said 503", group=web.group)
    control.set_faults(unhealthy=True, group=api.group)
    control.set_faults(fail_at="BeforeInstall")  # unscoped: the next deployment on any other group
    faults = control.faults()
    unset = asdict(DeploymentFaults())
    assert faults["groups"] == {
        web.group: unset | {"fail_at": "AfterInstall", "message": "web smoke test said 503"},
        api.group: unset | {"unhealthy": True},
    }
    assert faults["fail_at"] == "BeforeInstall"

    # A group's own faults go first; the unscoped ones stay for another group.
    web_dep = web.deploy()
    assert web.group not in control.faults()["groups"]
    info = web.wait(web_dep, TERMINAL)
    assert info["status"] == "Failed"
    assert "web smoke test said 503" in info["errorInformation"]["message"]
    assert event_of(web, web_dep, "AfterInstall")["status"] == "Failed"
    assert control.faults()["fail_at"] == "BeforeInstall"

    other_dep = other.deploy()
    assert other.wait(other_dep, TERMINAL)["status"] == "Failed"
    assert event_of(other, other_dep, "BeforeInstall")["status"] == "Failed"
    assert control.faults()["fail_at"] is None
    assert list(control.faults()["groups"]) == [api.group]  # still armed: nothing deployed there yet

    api_dep = api.deploy()
    info = api.wait(api_dep, TERMINAL, timeout=60)
    assert info["status"] == "Failed"
    assert "never became healthy" in event_of(api, api_dep, "Install")["diagnostics"]["message"]
    assert control.faults()["groups"] == {}

    # Consumed: the next deployments on each group succeed.
    for stack in (web, api):
        assert stack.wait(stack.deploy(), TERMINAL)["status"] == "Succeeded"


def test_clear_with_a_group_clears_only_that_group(endpoint: str, control: SandboxControl) -> None:
    a, b = make_stack(endpoint), make_stack(endpoint)
    control.set_faults(fail_at="Install", group=a.group)
    control.set_faults(fail_at="AllowTraffic", group=b.group)
    control.set_faults(latency_ms=1)
    left = control.clear_faults(group=a.group)
    assert list(left["groups"]) == [b.group]
    assert left["latency_ms"] == 1
    assert control.clear_faults()["groups"] == {}


def test_unknown_groups_and_per_call_faults_on_a_group_are_refused(endpoint: str, control: SandboxControl) -> None:
    stack = make_stack(endpoint)
    before = control.faults()
    with pytest.raises(ControlError, match=r"no deployment group 'nope' in the sandbox; groups: .*" + stack.group):
        control.set_faults(fail_at="Install", group="nope")
    with pytest.raises(ControlError, match="throttle apply to every call, not to one deployment group"):
        control.set_faults(throttle=0.5, group=stack.group)
    with pytest.raises(ControlError, match="no deployment group 'nope'"):
        control.set_hook_rule("AfterInstall", "fail", group="nope")
    assert control.faults() == before
    assert control.hook_rules() == {}
    assert stack.group in control.groups()


def test_a_group_hook_rule_answers_only_that_groups_hooks(endpoint: str, control: SandboxControl) -> None:
    a, b = make_stack(endpoint), make_stack(endpoint)
    control.set_hook_rule("AfterInstall", "fail", 1, group=a.group)
    control.set_hook_rule("AfterInstall", "succeed", 1)
    rules = control.hook_rules()
    assert rules[f"{a.group}/AfterInstall"] == {
        "result": "fail",
        "delay": 1.0,
        "group": a.group,
        "hook": "AfterInstall",
    }
    assert rules["AfterInstall"] == {"result": "succeed", "delay": 1.0}

    on_a, on_b = deploy_with_hook(a, "AfterInstall"), deploy_with_hook(b, "AfterInstall")
    assert a.wait(on_a, TERMINAL)["status"] == "Failed"
    assert event_of(a, on_a, "AfterInstall")["diagnostics"]["errorCode"] == "ScriptFailed"
    assert b.wait(on_b, TERMINAL)["status"] == "Succeeded"

    # The group's rules stay until cleared, as the unscoped ones do; clearing the group leaves the others.
    control.clear_hook_rules(group=a.group)
    assert control.hook_rules() == {"AfterInstall": {"result": "succeed", "delay": 1.0}}
    again = deploy_with_hook(a, "AfterInstall")
    assert a.wait(again, TERMINAL)["status"] == "Succeeded"

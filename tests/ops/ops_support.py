"""Shortcuts of the operations tests: run a command, read its JSON lines, wait for the sandbox."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FAST = ("--timeout", "60")


def events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def summary(stdout: str) -> dict[str, Any]:
    evs = events(stdout)
    assert evs, f"no JSON lines on stdout: {stdout!r}"
    assert evs[-1]["event"] == "summary"
    return evs[-1]


def of_kind(stdout: str, kind: str) -> list[dict[str, Any]]:
    return [e for e in events(stdout) if e["event"] == kind]


def ops(sandbox: Any, *args: str, timeout: float = 90, **kw: Any) -> Any:
    """`orchestrator <args> --sandbox --output json` (args[0] is the command)."""
    return sandbox.cli(*args, "--sandbox", "--output", "json", timeout=timeout, **kw)


def release(sandbox: Any, image: str, *args: str, timeout: float = 90, **kw: Any) -> Any:
    return ops(sandbox, "release", "--image", image, *args, timeout=timeout, **kw)


def start_release(sandbox: Any, image: str, *args: str, **kw: Any) -> str:
    """Create a deployment and return its id without waiting for it."""
    res = release(sandbox, image, "--no-wait", *args, **kw)
    assert res.returncode == 0, res.stderr
    return str(summary(res.stdout)["deployment_id"])


def wait_for(what: str, predicate: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def deployment(sandbox: Any, dep: str) -> dict[str, Any]:
    return dict(sandbox.client("codedeploy").get_deployment(deploymentId=dep)["deploymentInfo"])


def wait_status(sandbox: Any, dep: str, *statuses: str, timeout: float = 60.0) -> dict[str, Any]:
    return dict(
        wait_for(
            f"{dep} to be {'/'.join(statuses)}",
            lambda: (info := deployment(sandbox, dep))["status"] in statuses and info,
            timeout,
        )
    )


def lifecycle(sandbox: Any, dep: str) -> dict[str, str]:
    cd = sandbox.client("codedeploy")
    ids = cd.list_deployment_targets(deploymentId=dep).get("targetIds") or []
    if not ids:
        return {}
    target = cd.get_deployment_target(deploymentId=dep, targetId=ids[0])["deploymentTarget"]["ecsTarget"]
    return {e["lifecycleEventName"]: e["status"] for e in target.get("lifecycleEvents") or []}


def production_weights(sandbox: Any, listener_key: str = "prod_listener_arn") -> dict[str, float]:
    """Target group name → weight of the listener's default forward action."""
    arn = sandbox.service_outputs()[listener_key]
    listener = sandbox.client("elbv2").describe_listeners(ListenerArns=[arn])["Listeners"][0]
    action = listener["DefaultActions"][0]
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups")
    if not groups:
        groups = [{"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}]
    total = sum(g.get("Weight", 1) for g in groups) or 1
    return {
        g["TargetGroupArn"].split(":targetgroup/")[1].split("/")[0]: 100.0 * g.get("Weight", 1) / total for g in groups
    }


def serving_group(sandbox: Any) -> str | None:
    """The target group that receives all production traffic."""
    full = [name for name, weight in production_weights(sandbox).items() if weight == 100.0]
    return full[0] if full else None


def primary_task_definition(sandbox: Any) -> str:
    out = sandbox.service_outputs()
    svc = sandbox.client("ecs").describe_services(cluster=out["cluster_name"], services=[out["service_name"]])
    sets = [ts for ts in svc["services"][0].get("taskSets", []) if ts["status"] == "PRIMARY"]
    return str(sets[0]["taskDefinition"] if sets else svc["services"][0]["taskDefinition"])


def write_outputs(sandbox: Any, path: Path, **changes: Any) -> Path:
    """A copy of the sandbox's outputs with some service values changed (for --outputs-file)."""
    doc = sandbox.outputs()
    doc["services"]["value"]["web"].update(changes)
    path.write_text(json.dumps(doc))
    return path


def custom_group(
    sandbox: Any, path: Path, name: str, *, wait_for_approval: bool = False, termination_minutes: int | None = None
) -> Path:
    """Another deployment group on the same service, and an outputs file pointing at it.

    wait_for_approval: the ready option STOP_DEPLOYMENT (held in Ready until approved);
    termination_minutes: how long the deployment stays InProgress after traffic moved (scaled).
    Both give tests a "during a deployment" that does not race the fast sandbox. (The sandbox has no
    UpdateDeploymentGroup, hence a new group.)"""
    out = sandbox.service_outputs()
    cd = sandbox.client("codedeploy")
    group = cd.get_deployment_group(
        applicationName=out["codedeploy_app_name"], deploymentGroupName=out["codedeploy_deployment_group_name"]
    )["deploymentGroupInfo"]
    blue_green = dict(group["blueGreenDeploymentConfiguration"])
    if wait_for_approval:
        blue_green["deploymentReadyOption"] = {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 60}
    if termination_minutes is not None:
        blue_green["terminateBlueInstancesOnDeploymentSuccess"] = {
            "action": "TERMINATE",
            "terminationWaitTimeInMinutes": termination_minutes,
        }
    cd.create_deployment_group(
        applicationName=out["codedeploy_app_name"],
        deploymentGroupName=name,
        serviceRoleArn=group["serviceRoleArn"],
        deploymentConfigName=group["deploymentConfigName"],
        deploymentStyle=group["deploymentStyle"],
        blueGreenDeploymentConfiguration=blue_green,
        autoRollbackConfiguration=group.get("autoRollbackConfiguration") or {"enabled": False},
        ecsServices=group["ecsServices"],
        loadBalancerInfo=group["loadBalancerInfo"],
    )
    return write_outputs(sandbox, path, codedeploy_deployment_group_name=name)


def approval_group(sandbox: Any, path: Path, name: str = "demo-web-approval") -> Path:
    return custom_group(sandbox, path, name, wait_for_approval=True)


def slow_termination_group(sandbox: Any, path: Path, name: str = "demo-web-slow") -> Path:
    """Blue stays up an hour (scaled: about half a minute) after production traffic moved to green."""
    return custom_group(sandbox, path, name, termination_minutes=60)


def read_events_until(proc: Any, kind: str) -> list[dict[str, Any]]:
    """Read a running command's JSON lines until one of `kind` (the command keeps running)."""
    seen = []
    while True:
        line = proc.stdout.readline()
        assert line, f"the command ended before a {kind!r} event: {seen}"
        if line.startswith("{"):
            seen.append(json.loads(line))
            if seen[-1]["event"] == kind:
                return seen

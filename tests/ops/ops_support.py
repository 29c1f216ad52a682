"""Shortcuts of the operations tests: run a command, read its JSON lines, wait for the sandbox."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.jsonlines import events, of_kind, summary
from support.traffic import production_weights, serving_group

__all__ = ["events", "of_kind", "production_weights", "serving_group", "summary"]

FAST = ("--timeout", "60")


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
    try:
        ids = cd.list_deployment_targets(deploymentId=dep).get("targetIds") or []
    except cd.exceptions.DeploymentNotStartedException:  # as on AWS while the deployment is Created
        return {}
    if not ids:
        return {}
    target = cd.get_deployment_target(deploymentId=dep, targetId=ids[0])["deploymentTarget"]["ecsTarget"]
    return {e["lifecycleEventName"]: e["status"] for e in target.get("lifecycleEvents") or []}


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


def hold_deployments(
    sandbox: Any, *, wait_for_approval: bool = False, termination_minutes: int | None = None, approval_minutes: int = 60
) -> Path:
    """Change the provisioned deployment group so that its next deployment stays in progress; returns
    the outputs file (unchanged: same group, same service).

    wait_for_approval: the ready option STOP_DEPLOYMENT (held in Ready until approved, at most
    approval_minutes);
    termination_minutes: how long the deployment stays InProgress after traffic moved (scaled).
    Both give tests a "during a deployment" that does not race the fast sandbox. On AWS an ECS service
    belongs to one deployment group, so the group is updated in place rather than a second one made."""
    out = sandbox.service_outputs()
    cd = sandbox.client("codedeploy")
    app, name = out["codedeploy_app_name"], out["codedeploy_deployment_group_name"]
    group = cd.get_deployment_group(applicationName=app, deploymentGroupName=name)["deploymentGroupInfo"]
    # The whole blue/green configuration goes at once (parts left out would read as AWS's defaults).
    blue_green = dict(group["blueGreenDeploymentConfiguration"])
    if wait_for_approval:
        blue_green["deploymentReadyOption"] = {
            "actionOnTimeout": "STOP_DEPLOYMENT",
            "waitTimeInMinutes": approval_minutes,
        }
    if termination_minutes is not None:
        blue_green["terminateBlueInstancesOnDeploymentSuccess"] = {
            "action": "TERMINATE",
            "terminationWaitTimeInMinutes": termination_minutes,
        }
    answer = cd.update_deployment_group(
        applicationName=app, currentDeploymentGroupName=name, blueGreenDeploymentConfiguration=blue_green
    )
    assert answer["hooksNotCleanedUp"] == []
    updated = cd.get_deployment_group(applicationName=app, deploymentGroupName=name)["deploymentGroupInfo"]
    assert updated["blueGreenDeploymentConfiguration"] == blue_green
    return Path(sandbox.outputs_path)


def approval_group(sandbox: Any) -> Path:
    """The group holds its next deployment in Ready until approved."""
    return hold_deployments(sandbox, wait_for_approval=True)


def slow_termination_group(sandbox: Any) -> Path:
    """Blue stays up an hour (scaled: about half a minute) after production traffic moved to green."""
    return hold_deployments(sandbox, termination_minutes=60)


def read_events_until(proc: Any, kind: str) -> list[dict[str, Any]]:
    """Read a running command's JSON lines until one of `kind` (the command keeps running)."""
    seen: list[dict[str, Any]] = []
    while True:
        line = proc.stdout.readline()
        assert line, f"the command ended before a {kind!r} event: {seen}"
        if line.startswith("{"):
            seen.append(json.loads(line))
            if seen[-1]["event"] == kind:
                return seen

"""`orchestrator rollback`, `stop` and `approve` end to end through the CLI against the sandbox."""

from __future__ import annotations

import pytest
from ops_support import (
    approval_group,
    deployment,
    hold_deployments,
    lifecycle,
    of_kind,
    ops,
    primary_task_definition,
    release,
    serving_group,
    slow_termination_group,
    summary,
    wait_for,
    wait_status,
)

pytestmark = pytest.mark.e2e


def image(sandbox, tag: str) -> str:
    return sandbox.pushed(tag)


def test_rollback_during_a_deployment_puts_production_back_on_blue(sandbox) -> None:
    out = sandbox.service_outputs()
    blue, green = out["blue_target_group_name"], out["green_target_group_name"]
    initial = primary_task_definition(sandbox)
    # The group keeps blue up for a long termination wait after traffic moved: the deployment is still in progress.
    where = ("--outputs-file", str(slow_termination_group(sandbox)), "--output", "json")
    started = sandbox.cli("release", *where, "--image", image(sandbox, "bad"), "--no-wait")
    assert started.returncode == 0, started.stderr
    dep = summary(started.stdout)["deployment_id"]
    wait_for("production traffic on green", lambda: lifecycle(sandbox, dep).get("AllowTraffic") == "Succeeded")
    assert serving_group(sandbox) == green

    res = sandbox.cli("rollback", *where)
    assert res.returncode == 0, res.stderr
    s = summary(res.stdout)
    assert s["status"] == "RolledBack" and s["deployment_id"] == dep
    info = deployment(sandbox, dep)
    assert info["status"] == "Stopped"
    assert s["rollback_deployment_id"] == info["rollbackInfo"]["rollbackDeploymentId"]
    assert deployment(sandbox, s["rollback_deployment_id"])["status"] == "Succeeded"
    # The listener, not just CodeDeploy's word: production goes to blue, which runs what ran before.
    assert serving_group(sandbox) == blue
    assert s["production"].get(blue) == 100.0
    assert primary_task_definition(sandbox) == initial == s["task_definition"]


def test_rollback_after_a_deployment_redeploys_the_previous_task_definition_through_codedeploy(sandbox) -> None:
    first = release(sandbox, image(sandbox, "one"))
    assert first.returncode == 0, first.stderr
    second = release(sandbox, image(sandbox, "two"))
    assert second.returncode == 0, second.stderr
    good, newer = summary(first.stdout)["task_definition_arn"], summary(second.stdout)["task_definition_arn"]
    assert primary_task_definition(sandbox) == newer
    serving_before = serving_group(sandbox)
    # GetDeployment carries no AppSpec text (as on AWS): rollback reads it through GetApplicationRevision.
    assert "content" not in deployment(sandbox, summary(first.stdout)["deployment_id"])["revision"]["appSpecContent"]

    res = ops(sandbox, "rollback")
    assert res.returncode == 0, res.stderr
    s = summary(res.stdout)
    assert s["status"] == "Succeeded" and s["task_definition"] == good
    assert primary_task_definition(sandbox) == good
    assert serving_group(sandbox) not in (None, serving_before)  # a blue/green swap, on the listener
    info = deployment(sandbox, s["deployment_id"])
    assert info["status"] == "Succeeded" and "rollback" in info["description"]
    assert f"image={image(sandbox, 'one')}" in info["description"]
    # Through CodeDeploy, never the service API.
    counts = sandbox.counts()
    assert counts["codedeploy"]["GetApplicationRevision"] >= 1
    assert counts["codedeploy"]["CreateDeployment"] == 3
    assert "UpdateService" not in counts.get("ecs", {})
    assert counts["ecs"]["RegisterTaskDefinition"] == 2  # the rollback registers nothing

    # `--to` names the target; the running one is refused as a target.
    same = ops(sandbox, "rollback", "--to", good)
    assert same.returncode == 2 and "already runs" in same.stderr


def test_stop_without_rollback_leaves_traffic_where_it_is(sandbox) -> None:
    blue = sandbox.service_outputs()["blue_target_group_name"]
    where = ("--outputs-file", str(approval_group(sandbox)), "--output", "json")
    started = sandbox.cli("release", *where, "--image", image(sandbox, "halt"), "--no-wait")
    assert started.returncode == 0, started.stderr
    dep = summary(started.stdout)["deployment_id"]
    wait_status(sandbox, dep, "Ready")
    res = sandbox.cli("stop", *where, "--no-rollback")
    assert res.returncode == 0, res.stderr
    s = summary(res.stdout)
    info = deployment(sandbox, dep)
    assert info["status"] == "Stopped" == s["status"]
    assert not (info.get("rollbackInfo") or {}).get("rollbackDeploymentId")
    assert s["rollback_deployment_id"] is None
    assert serving_group(sandbox) == blue  # it never moved, and nothing moved it
    assert sandbox.counts()["codedeploy"]["StopDeployment"] == 1


def test_stop_with_rollback_follows_the_rollback(sandbox) -> None:
    blue = sandbox.service_outputs()["blue_target_group_name"]
    # Slower time: the asynchronous stop (StopDeployment answers Pending; the deployment is Stopped some
    # 30 simulated seconds later, as on AWS) lasts about three wall seconds.
    sandbox.control.time_scale(0.1)
    where = ("--outputs-file", str(slow_termination_group(sandbox)), "--output", "json")
    started = sandbox.cli("release", *where, "--image", image(sandbox, "halt"), "--no-wait")
    assert started.returncode == 0, started.stderr
    dep = summary(started.stdout)["deployment_id"]
    wait_for("production traffic on green", lambda: lifecycle(sandbox, dep).get("AllowTraffic") == "Succeeded")
    res = sandbox.cli("stop", *where)
    assert res.returncode == 0, res.stderr
    s = summary(res.stdout)
    assert s["status"] == "RolledBack" and deployment(sandbox, dep)["status"] == "Stopped"
    # The CLI followed the pending stop: it saw the deployment still in progress, then Stopped.
    assert any(m["text"] == "CodeDeploy: Stopping Active deployment" for m in of_kind(res.stdout, "message"))
    seen = [p["status"] for p in of_kind(res.stdout, "deployment_progress") if p["deployment_id"] == dep]
    assert seen[0] == "InProgress" and seen[-1] == "Stopped"
    assert deployment(sandbox, s["rollback_deployment_id"])["status"] == "Succeeded"
    assert serving_group(sandbox) == blue


def test_stop_and_approve_with_nothing_in_progress_fail_clearly_and_write_nothing(sandbox) -> None:
    for command in ("stop", "approve", "rollback"):
        res = ops(sandbox, command, *(("--to", "demo-web:99") if command == "rollback" else ()))
        assert res.returncode == 2, (command, res.stderr)
        assert summary(res.stdout)["ok"] is False
    assert "no deployment is in progress" in ops(sandbox, "stop").stderr
    assert "nothing waits for approval" in ops(sandbox, "approve").stderr
    unknown = ops(sandbox, "stop", "--deployment-id", "d-NOSUCH00")
    assert unknown.returncode == 2 and "d-NOSUCH00" in unknown.stderr
    assert sandbox.mutating_calls() == []


def test_approve_lets_a_waiting_deployment_shift_traffic(sandbox) -> None:
    out = sandbox.service_outputs()
    blue, green = out["blue_target_group_name"], out["green_target_group_name"]
    outputs = approval_group(sandbox)
    where = ("--outputs-file", str(outputs), "--output", "json")

    res = sandbox.cli("release", *where, "--image", image(sandbox, "approved"), "--no-wait")
    assert res.returncode == 0, res.stderr
    dep = summary(res.stdout)["deployment_id"]
    wait_status(sandbox, dep, "Ready")
    assert serving_group(sandbox) == blue  # nothing shifted before the approval

    res = sandbox.cli("approve", *where, timeout=90)
    assert res.returncode == 0, res.stderr
    s = summary(res.stdout)
    assert s["deployment_id"] == dep and s["status"] == "Succeeded"
    assert serving_group(sandbox) == green
    assert deployment(sandbox, dep)["status"] == "Succeeded"

    again = sandbox.cli("approve", *where)
    assert again.returncode == 2 and "nothing waits for approval" in again.stderr


def test_a_release_nobody_approves_in_time_ends_stopped_with_exit_1(sandbox) -> None:
    # User guide, ECS deployment group, "Choose when to reroute traffic": when the wait runs out without
    # a continue, "the deployment status is changed to Stopped"; production never moved.
    blue = sandbox.service_outputs()["blue_target_group_name"]
    where = ("--outputs-file", str(hold_deployments(sandbox, wait_for_approval=True, approval_minutes=1)))
    res = sandbox.cli("release", *where, "--output", "json", "--image", image(sandbox, "unapproved"))
    assert res.returncode == 1, res.stderr
    s = summary(res.stdout)
    assert s["status"] == "Stopped"
    assert "TIMEOUT" in res.stderr
    assert deployment(sandbox, s["deployment_id"])["status"] == "Stopped"
    assert serving_group(sandbox) == blue

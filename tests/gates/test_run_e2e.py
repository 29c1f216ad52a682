"""`orchestrator run -- COMMAND` end to end: the real CLI against the sandbox, which simulates the task."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def run(sandbox: Any, *args: str, output: str = "json") -> subprocess.CompletedProcess[str]:
    return sandbox.cli("run", "--sandbox", "--output", output, *args, timeout=120)


def run_tasks(sandbox: Any) -> list[dict[str, Any]]:
    ecs = sandbox.client("ecs")
    arns = ecs.list_tasks(cluster="demo", startedBy="orchestrator-run")["taskArns"]
    return ecs.describe_tasks(cluster="demo", tasks=arns)["tasks"] if arns else []


LIFECYCLE = ["PROVISIONING", "PENDING", "RUNNING", "STOPPED"]


def test_run_exit_0_streams_the_log_and_follows_the_lifecycle(sandbox: Any) -> None:
    sandbox.control.time_scale(0.05)  # a 1 s task: each status outlives a poll even on a busy machine
    res = run(sandbox, "--live", "--", "python", "manage.py", "migrate")
    assert res.returncode == 0, res.stderr
    evs = events(res.stdout)
    statuses = [e["status"] for e in evs if e["event"] == "task_progress"]
    assert statuses == sorted(set(statuses), key=LIFECYCLE.index)  # in lifecycle order, each once
    assert "RUNNING" in statuses and statuses[-1] == "STOPPED"
    assert [e["line"] for e in evs if e["event"] == "task_log"] == ["python manage.py migrate"]
    s = evs[-1]
    assert s["event"] == "summary" and s["ok"] is True and s["exit_code"] == 0
    assert s["command"] == "run" and s["task_command"] == ["python", "manage.py", "migrate"]
    assert s["task_exit_code"] == 0 and s["registered"] is False
    # The task ran where the service runs, with the live task definition and the command as an override.
    (task,) = run_tasks(sandbox)
    svc = sandbox.client("ecs").describe_services(cluster="demo", services=["web"])["services"][0]
    primary = next(ts for ts in svc["taskSets"] if ts["status"] == "PRIMARY")
    assert task["taskDefinitionArn"] == primary["taskDefinition"]
    assert task["launchType"] == "FARGATE"
    assert task["overrides"]["containerOverrides"] == [{"name": "web", "command": ["python", "manage.py", "migrate"]}]
    subnet = next(d["value"] for d in task["attachments"][0]["details"] if d["name"] == "subnetId")
    assert subnet in svc["networkConfiguration"]["awsvpcConfiguration"]["subnets"]
    # --live writes nothing but the task.
    assert sandbox.mutating_calls() == ["ecs:RunTask"]


def test_run_non_zero_exit_shows_the_logs_and_exits_with_the_same_code(sandbox: Any) -> None:
    sandbox.control.set_task_faults(exit_code=3, log=["applying 0042_add_index", "ERROR: relation exists"])
    res = run(sandbox, "--live", "--", "migrate", output="plain")
    assert res.returncode == 3, res.stderr
    assert "| applying 0042_add_index" in res.stdout and "| ERROR: relation exists" in res.stdout
    assert "exited with code 3" in res.stdout
    assert "RUNNING" in res.stdout and "STOPPED" in res.stdout


def test_run_with_the_rendered_taskdef_registers_a_revision_first(sandbox: Any) -> None:
    image = sandbox.pushed("migrations")
    res = run(sandbox, "--image", image, "--", "migrate")
    assert res.returncode == 0, res.stderr
    evs = events(res.stdout)
    reg = next(e for e in evs if e["event"] == "task_definition_registered")
    assert any(e["event"] == "message" and "registered a new revision" in e["text"] for e in evs)
    (task,) = run_tasks(sandbox)
    assert task["taskDefinitionArn"] == reg["task_definition_arn"]
    assert evs[-1]["registered"] is True
    assert sandbox.mutating_calls() == ["ecs:RegisterTaskDefinition", "ecs:RunTask"]


def test_run_renders_container_env_into_the_registered_revision_without_printing_it(sandbox: Any) -> None:
    res = run(sandbox, "--image", "repo/web:1", "--container-env", "DB_PASSWORD=hunter2-secret", "--", "migrate")
    assert res.returncode == 0, res.stderr
    arn = events(res.stdout)[-1]["task_definition_arn"]
    td = sandbox.client("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
    env = {e["name"]: e["value"] for e in td["containerDefinitions"][0]["environment"]}
    assert env["DB_PASSWORD"] == "hunter2-secret"
    assert "hunter2-secret" not in res.stdout + res.stderr


def test_a_task_that_never_starts_exits_1_with_ecs_stopped_reason(sandbox: Any) -> None:
    sandbox.control.set_task_faults(no_start=True)
    res = run(sandbox, "--live", "--", "migrate")
    assert res.returncode == 1
    s = events(res.stdout)[-1]
    assert s["ok"] is False and s["exit_code"] == 1
    assert "CannotPullContainerError" in s["reason"] and "did not start" in s["reason"]
    assert "CannotPullContainerError" in res.stderr


def test_timeout_stops_the_task_and_exits_3(sandbox: Any) -> None:
    sandbox.control.set_task_faults(run_seconds=86_400)
    res = run(sandbox, "--live", "--timeout", "1", "--", "sleep", "infinity")
    assert res.returncode == 3, res.stderr
    assert sandbox.counts()["ecs"]["StopTask"] == 1
    (task,) = run_tasks(sandbox)
    assert task["desiredStatus"] == "STOPPED"


def test_ctrl_c_stops_the_task_and_exits_130(sandbox: Any) -> None:
    sandbox.control.set_task_faults(run_seconds=86_400)
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "run", "--sandbox", "--output", "json", "--live", "--", "sleep", "1d"],
        env=sandbox.env(),
        cwd=sandbox.repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # wait until the task runs
        if '"status":"RUNNING"' in line:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert json.loads(out.splitlines()[-1])["exit_code"] == 130
    assert sandbox.counts()["ecs"]["StopTask"] == 1
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and run_tasks(sandbox)[0]["lastStatus"] != "STOPPED":
        time.sleep(0.05)
    task = run_tasks(sandbox)[0]
    assert task["lastStatus"] == "STOPPED" and task["stopCode"] == "UserInitiated"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--live"], "no command given"),
        (["--live", "--taskdef", "taskdef.json", "--", "x"], "--live and --taskdef"),
        (["--live", "--image", "repo:x", "--", "x"], "--image needs a rendered task definition"),
        (["--live", "--container-env", "A=1", "--", "x"], "--container-env needs a rendered task definition"),
        (["--taskdef", "missing.json", "--", "x"], "missing.json"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(sandbox: Any, args: list[str], needle: str) -> None:
    res = run(sandbox, *args)
    assert res.returncode == 2, res.stderr
    assert needle in res.stderr
    assert sandbox.mutating_calls() == []


def test_sandbox_fault_cli_sets_how_the_next_task_ends(sandbox: Any) -> None:
    f = sandbox.cli("sandbox", "fault", "--task-exit-code", "7", "--task-log", "first", "--task-log", "second")
    assert f.returncode == 0, f.stderr
    assert "next RunTask: exit_code=7" in f.stdout
    res = run(sandbox, "--live", "--", "migrate", output="plain")
    assert res.returncode == 7
    assert res.stdout.index("| first") < res.stdout.index("| second")
    reason = "ResourceInitializationError: unable to pull secrets or registry auth"
    f = sandbox.cli("sandbox", "fault", "--task-no-start", "--task-stopped-reason", reason)
    assert f.returncode == 0, f.stderr
    res = run(sandbox, "--live", "--", "migrate")
    assert res.returncode == 1
    assert reason in events(res.stdout)[-1]["reason"]
    bad = sandbox.cli("sandbox", "fault", "--task-exit-code", "256")
    assert bad.returncode == 2 and "--task-exit-code" in bad.stderr

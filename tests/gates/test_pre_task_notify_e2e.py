"""`release/deploy --pre-task` and `--notify` end to end: the real CLI against the sandbox."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

SECRET = "T000/B000/very-secret-token"


def events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def release(sandbox: Any, *args: str, env: dict[str, str] | None = None) -> Any:
    image = sandbox.pushed("gates")
    return sandbox.cli("release", "--sandbox", "--output", "json", "--image", image, *args, timeout=120, env=env)


def deployments(sandbox: Any) -> list[str]:
    out = sandbox.service_outputs()
    resp = sandbox.client("codedeploy").list_deployments(
        applicationName=out["codedeploy_app_name"], deploymentGroupName=out["codedeploy_deployment_group_name"]
    )
    return list(resp["deployments"])


def test_failing_pre_task_ends_the_release_with_exit_1_and_no_deployment(sandbox: Any) -> None:
    before = deployments(sandbox)
    sandbox.control.set_task_faults(exit_code=2, log=[f"line {i}" for i in range(1, 9)])
    res = release(sandbox, "--pre-task", "python manage.py migrate --noinput")
    assert res.returncode == 1, res.stderr
    s = events(res.stdout)[-1]
    assert s["event"] == "summary" and s["ok"] is False and s["exit_code"] == 1
    assert s["status"] == "PreTaskFailed"
    # The reason names the pre-task, its exit code and its last few log lines (not all of them).
    assert "pre-task 1 (python manage.py migrate --noinput)" in s["reason"]
    assert "exited with code 2" in s["reason"]
    assert "line 8" in s["reason"] and "line 1 " not in s["reason"] + " "
    assert "no deployment was created" in s["reason"]
    assert s["deployment_id"] is None
    assert deployments(sandbox) == before
    assert "CreateDeployment" not in sandbox.counts().get("codedeploy", {})
    # The task ran the registered (new) task definition, with the command split like a shell.
    ecs = sandbox.client("ecs")
    (arn,) = ecs.list_tasks(cluster="demo", startedBy="orchestrator-pre-task")["taskArns"]
    task = ecs.describe_tasks(cluster="demo", tasks=[arn])["tasks"][0]
    assert task["taskDefinitionArn"] == s["task_definition_arn"]
    assert task["overrides"]["containerOverrides"][0]["command"] == ["python", "manage.py", "migrate", "--noinput"]


def test_pre_tasks_that_succeed_run_in_order_then_the_release_proceeds(sandbox: Any) -> None:
    res = release(sandbox, "--pre-task", "migrate", "--pre-task", "seed --small")
    assert res.returncode == 0, res.stderr
    evs = events(res.stdout)
    kinds = [e["event"] for e in evs]
    logs = [e["line"] for e in evs if e["event"] == "task_log"]
    assert logs == ["migrate", "seed --small"]
    assert kinds.index("task_definition_registered") < kinds.index("task_started")
    assert len([k for k in kinds if k == "task_stopped"]) == 2
    last_task = max(i for i, k in enumerate(kinds) if k == "task_stopped")
    assert last_task < kinds.index("deployment_created")
    s = evs[-1]
    assert s["ok"] is True and s["status"] == "Succeeded"
    assert [(p["index"], p["command"], p["exit_code"]) for p in s["pre_tasks"]] == [
        (1, "migrate", 0),
        (2, "seed --small", 0),
    ]
    assert sandbox.counts()["ecs"]["RunTask"] == 2


def test_pre_task_that_never_starts_fails_with_ecs_reason(sandbox: Any) -> None:
    sandbox.control.set_task_faults(no_start=True)
    res = release(sandbox, "--pre-task", "migrate")
    assert res.returncode == 1
    s = events(res.stdout)[-1]
    assert "did not start" in s["reason"] and "CannotPullContainerError" in s["reason"]
    assert "CreateDeployment" not in sandbox.counts().get("codedeploy", {})


def test_deploy_file_runs_pre_tasks_too(sandbox: Any, tmp_path: Any) -> None:
    rendered = tmp_path / "td.json"
    image = sandbox.pushed("deploy")
    r = sandbox.cli("render", "--sandbox", "--image", image, "--output-file", str(rendered))
    if r.returncode != 0:  # issue 10 renames render's file option; accept either spelling
        r = sandbox.cli("render", "--sandbox", "--image", image, "--out-file", str(rendered))
    assert r.returncode == 0, r.stderr
    sandbox.control.set_task_faults(exit_code=1)
    res = sandbox.cli("deploy", str(rendered), "--sandbox", "--output", "json", "--pre-task", "migrate", timeout=120)
    assert res.returncode == 1
    assert "pre-task 1 (migrate)" in events(res.stdout)[-1]["reason"]
    assert "CreateDeployment" not in sandbox.counts().get("codedeploy", {})


def test_dry_run_lists_the_pre_tasks_and_writes_nothing(sandbox: Any) -> None:
    res = release(sandbox, "--dry-run", "--pre-task", "migrate", "--pre-task", "seed")
    assert res.returncode == 0, res.stderr
    plan = next(e for e in events(res.stdout) if e["event"] == "plan")
    calls = [c["call"] for c in plan["calls"]]
    assert calls[0] == "ecs.RegisterTaskDefinition"
    assert calls[1].startswith("ecs.RunTask") and calls[2].startswith("ecs.RunTask")
    assert calls[3] == "codedeploy.CreateDeployment"
    assert plan["calls"][1]["params"]["overrides"]["containerOverrides"][0]["command"] == ["migrate"]
    assert plan["calls"][1]["params"]["networkConfiguration"]["awsvpcConfiguration"]["subnets"]
    assert sandbox.mutating_calls() == []


def test_bad_pre_task_is_exit_2_before_any_write(sandbox: Any) -> None:
    res = release(sandbox, "--pre-task", "echo 'unbalanced")
    assert res.returncode == 2
    assert "--pre-task" in res.stderr
    assert sandbox.mutating_calls() == []


# ---- notifications -----------------------------------------------------------------------------------
@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local webhook: records each JSON POST body; its URL has a secret path."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            received.append({"path": self.path, "body": json.loads(self.rfile.read(length))})
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/services/{SECRET}", received
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_notification_posts_the_summary_on_success(sandbox: Any, receiver: Any) -> None:
    url, received = receiver
    res = release(sandbox, "--notify", url)
    assert res.returncode == 0, res.stderr
    assert len(received) == 1
    body = received[0]["body"]
    assert received[0]["path"] == f"/services/{SECRET}"
    assert body["command"] == "release" and body["ok"] is True and body["exit_code"] == 0
    assert body["status"] == "Succeeded" and body["deployment_id"].startswith("d-")
    assert body["deployment_id"] in body["text"] and "succeeded" in body["text"]
    assert body["service"] == "web"
    assert SECRET not in res.stdout + res.stderr


def test_notification_on_failure_and_from_the_environment(sandbox: Any, receiver: Any) -> None:
    url, received = receiver
    sandbox.control.set_task_faults(exit_code=4)
    res = release(sandbox, "--pre-task", "migrate", env={"ORCHESTRATOR_NOTIFY_URLS": f" {url} ,"})
    assert res.returncode == 1
    (got,) = received
    assert got["body"]["ok"] is False and got["body"]["exit_code"] == 1
    assert "exited with code 4" in got["body"]["text"]


def test_dead_notification_url_only_warns(sandbox: Any) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}/hooks/{SECRET}?token=also-secret"
    res = release(sandbox, "--notify", dead)
    assert res.returncode == 0, res.stderr
    assert events(res.stdout)[-1]["ok"] is True
    assert f"warning: notification to http://127.0.0.1:{dead.split(':')[2].split('/')[0]}/… failed" in res.stderr
    assert SECRET not in res.stdout + res.stderr and "also-secret" not in res.stdout + res.stderr


def test_rollback_notifies_too(sandbox: Any, receiver: Any) -> None:
    url, received = receiver
    assert release(sandbox).returncode == 0
    res = sandbox.cli("rollback", "--sandbox", "--output", "json", "--notify", url, timeout=120)
    assert res.returncode == 0, res.stderr
    (got,) = received
    assert got["body"]["command"] == "rollback" and got["body"]["ok"] is True


def test_bad_notify_url_is_exit_2_without_echoing_it(sandbox: Any) -> None:
    res = release(sandbox, "--notify", f"ftp://example.com/{SECRET}")
    assert res.returncode == 2
    assert "not an http(s) URL" in res.stderr and SECRET not in res.stderr
    assert sandbox.mutating_calls() == []


def test_ctrl_c_during_a_pre_task_stops_it_and_creates_no_deployment(sandbox: Any) -> None:
    import signal
    import subprocess
    import sys

    sandbox.control.set_task_faults(run_seconds=86_400)
    image = sandbox.pushed("gates")
    argv = ["release", "--sandbox", "--output", "json", "--image", image, "--pre-task", "sleep 1d"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", *argv],
        env=sandbox.env(),
        cwd=sandbox.repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if '"status":"RUNNING"' in line:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    last = json.loads(out.splitlines()[-1])
    assert last["exit_code"] == 130 and last["status"] == "Interrupted" and last["deployment_id"] is None
    assert sandbox.counts()["ecs"]["StopTask"] == 1
    assert "CreateDeployment" not in sandbox.counts().get("codedeploy", {})


def test_pre_task_timeout_stops_it_exit_3_no_deployment(sandbox: Any) -> None:
    sandbox.control.set_task_faults(run_seconds=86_400)
    res = release(sandbox, "--pre-task", "sleep 1d", "--pre-task-timeout", "1")
    assert res.returncode == 3, res.stderr
    assert events(res.stdout)[-1]["status"] == "TimedOut"
    assert sandbox.counts()["ecs"]["StopTask"] == 1
    assert "CreateDeployment" not in sandbox.counts().get("codedeploy", {})

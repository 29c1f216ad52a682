"""`orchestrator tasks` and `logs` end to end against the sandbox's service tasks (the stack's `web`)."""

from __future__ import annotations

import signal
import time

import pytest
from support import cli
from support.jsonlines import of_kind, summary

pytestmark = pytest.mark.e2e


def _tasks(sandbox, *args: str) -> tuple[list[dict], dict]:
    res = sandbox.cli("tasks", "--sandbox", "-o", "json", *args)
    assert res.returncode == 0, res.stdout + res.stderr
    return of_kind(res.stdout, "task"), summary(res.stdout)


def _until_healthy(sandbox, revision: str, count: int, timeout: float = 60) -> tuple[list[dict], dict]:
    deadline = time.monotonic() + timeout
    while True:
        tasks, done = _tasks(sandbox)
        if done["revisions"].get(revision, {}).get("healthy") == count:
            return tasks, done
        assert time.monotonic() < deadline, done
        time.sleep(0.3)


def test_tasks_lists_the_current_revisions_tasks_healthy(sandbox) -> None:
    tasks, done = _until_healthy(sandbox, "demo-web:1", 2)
    running = [t for t in tasks if t["desired_status"] == "RUNNING"]
    assert len(running) == 2
    for t in running:
        assert t["revision"] == "demo-web:1" and t["role"] == "current"
        assert t["last_status"] == "RUNNING" and t["target_health"] == "healthy"
        assert t["started"] and t["exit_code"] is None
    assert done["revisions"]["demo-web:1"] == {"role": "current", "running": 2, "healthy": 2, "last_stopped": None}

    image = sandbox.service_outputs()["ecr_repository_url"] + ":tasks-2"
    rel = sandbox.cli("release", "--sandbox", "--image", image, "-o", "plain")
    assert rel.returncode == 0, rel.stdout + rel.stderr
    tasks, done = _until_healthy(sandbox, "demo-web:2", 2)
    assert done["revisions"]["demo-web:2"]["role"] == "current"
    assert all(t["revision"] == "demo-web:2" for t in tasks if t["desired_status"] == "RUNNING")

    plain = sandbox.cli("tasks", "--sandbox", "-o", "plain")
    assert plain.returncode == 0
    assert "demo-web:2 (current)  RUNNING" in plain.stdout and "target healthy" in plain.stdout


def test_tasks_of_several_services_and_bad_input(sandbox_fleet) -> None:
    res = sandbox_fleet.cli("tasks", "--sandbox", "--all", "-o", "json")
    assert res.returncode == 0, res.stderr
    assert sorted(summary(res.stdout)["services"]) == ["api", "web", "worker"]
    assert {t["service_key"] for t in of_kind(res.stdout, "task")} <= {"api", "web", "worker"}
    bad = sandbox_fleet.cli("tasks", "--sandbox", "-s", "nope")
    assert (
        bad.returncode == 2 and bad.stderr.strip().startswith("error: ") and len(bad.stderr.strip().splitlines()) == 1
    )


def test_logs_shows_the_tasks_lines_prefixed_with_task_and_container(sandbox) -> None:
    tasks, _ = _until_healthy(sandbox, "demo-web:1", 2)
    res = sandbox.cli("logs", "--sandbox", "-o", "json", "--since", "5m")
    assert res.returncode == 0, res.stdout + res.stderr
    lines = of_kind(res.stdout, "log_line")
    ids = {t["task_id"] for t in tasks if t["desired_status"] == "RUNNING"}
    assert {line["task_id"] for line in lines} == ids
    assert all(line["container"] == "web" and "started" in line["message"] for line in lines)
    assert [line["timestamp"] for line in lines] == sorted(line["timestamp"] for line in lines)
    assert summary(res.stdout)["lines"] == len(lines)

    one = next(iter(ids))
    plain = sandbox.cli("logs", "--sandbox", "--task", one, "-o", "plain")
    assert plain.returncode == 0
    (line,) = [x for x in plain.stdout.splitlines() if "|" in x]
    assert line.startswith(f"{one[:8]} web | ")
    bad = sandbox.cli("logs", "--sandbox", "--since", "ten minutes")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: --since 'ten minutes': expected a number and a unit: 30s, 10m, 2h, 1d or 1w"


def test_logs_follow_picks_up_new_tasks_and_stops_on_ctrl_c(sandbox) -> None:
    _until_healthy(sandbox, "demo-web:1", 2)
    proc = cli.start("logs", "--sandbox", "--follow", "-o", "json", env=sandbox.env())
    try:
        assert proc.stdout is not None
        first = [proc.stdout.readline(), proc.stdout.readline()]
        assert all('"event":"log_line"' in line for line in first)
        # A task that starts later is followed too.
        res = sandbox.cli("scale", "--sandbox", "--count", "3")
        assert res.returncode == 0, res.stderr
        third = proc.stdout.readline()
        assert '"event":"log_line"' in third
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert '"status":"Interrupted"' in out
    assert "Traceback" not in err


def test_logs_piped_into_head_ends_cleanly(sandbox) -> None:
    import subprocess
    import sys

    _until_healthy(sandbox, "demo-web:1", 2)
    shell = f"{sys.executable} -m orchestrator logs --sandbox --follow -o plain | head -1"
    res = subprocess.run(["bash", "-c", shell], env=sandbox.env(), capture_output=True, text=True, timeout=60)
    assert res.returncode == 0
    assert len(res.stdout.splitlines()) == 1 and " web | " in res.stdout
    assert "Traceback" not in res.stderr and "BrokenPipe" not in res.stderr


def test_logs_and_tasks_of_a_missing_service_are_one_line(sandbox, tmp_path) -> None:
    import json

    doc = sandbox.outputs()
    doc["services"]["value"]["web"]["service_name"] = "gone"
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(doc))
    for command in ("logs", "tasks", "diff"):
        res = sandbox.cli(command, "--outputs-file", str(outputs), cwd=sandbox.repo_root)
        assert res.returncode == 2, (command, res.stderr)
        assert res.stderr.strip() == "error: service gone in cluster demo: MISSING", command


def test_logs_under_github_actions_cannot_issue_workflow_commands(sandbox, tmp_path) -> None:
    _until_healthy(sandbox, "demo-web:1", 2)
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp_path / "out"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
    }
    res = sandbox.cli("logs", "--sandbox", "-o", "plain", env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    stop = [i for i, line in enumerate(lines) if line.startswith("::stop-commands::")]
    first = next(i for i, line in enumerate(lines) if " web | " in line)
    assert len(stop) == 1 and stop[0] < first


def test_logs_of_several_services_are_tagged_and_interleaved(sandbox_fleet) -> None:
    deadline = time.monotonic() + 60
    while True:
        res = sandbox_fleet.cli("logs", "--sandbox", "--all", "-o", "json")
        assert res.returncode == 0, res.stdout + res.stderr
        lines = of_kind(res.stdout, "log_line")
        if {line["service_key"] for line in lines} == {"api", "web", "worker"}:
            break
        assert time.monotonic() < deadline, res.stdout
        time.sleep(0.3)
    assert [line["timestamp"] for line in lines] == sorted(line["timestamp"] for line in lines)
    plain = sandbox_fleet.cli("logs", "--sandbox", "-s", "web", "-s", "api", "-o", "plain")
    assert plain.returncode == 0
    assert {line.split("]")[0] + "]" for line in plain.stdout.splitlines() if " | " in line} == {"[web]", "[api]"}
    bad = sandbox_fleet.cli("logs", "--sandbox", "--all", "--task", "abc")
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("error: --task abc names one service's task or revision")

"""`orchestrator sandbox up|status|env|fault|down` as users run them: real subprocesses."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator.contract import load_outputs_file
from orchestrator.sandbox.process import free_port, is_launcher, pid_alive

pytestmark = pytest.mark.e2e


def _env(state_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"ORCHESTRATOR_SANDBOX_DIR": str(state_dir), "COLUMNS": "200", "NO_COLOR": "1"}
    return env


def _cli(state_dir: Path, cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        env=_env(state_dir),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.slow
def test_up_status_env_down_lifecycle(tmp_path: Path, repo_root: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    # Left over by a sandbox that died: `up` must notice and clean it, not refuse or trust it.
    stale_port = free_port()
    stale = {"pid": _dead_pid(), "port": stale_port, "endpoint": f"http://127.0.0.1:{stale_port}"}
    (state / "server.json").write_text(json.dumps(stale))

    port = free_port()
    # Two `up`s at once (a double-clicked make target): one starts the server, the other finds it.
    args = [sys.executable, "-m", "orchestrator", "sandbox", "up", "--port", str(port), "--time-scale", "0.01"]
    racers = [
        subprocess.Popen(
            args, env=_env(state), cwd=repo_root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in racers]
    info = json.loads((state / "server.json").read_text()) if (state / "server.json").exists() else {}
    pid = int(info.get("pid", 0))
    try:
        for code, _out, err in results:
            assert code == 0, err
            assert "Traceback" not in err
        started = [out for _code, out, _err in results if "sandbox running (pid" in out]
        found = [out for _code, out, _err in results if "already running" in out]
        assert len(started) == 1 and len(found) == 1, results
        assert f"removed stale sandbox state (pid {stale['pid']}" in started[0]
        assert f"sandbox running (pid {pid}) at http://127.0.0.1:{port}" in started[0]
        assert f"already running (pid {pid}) at http://127.0.0.1:{port}" in found[0]
        assert info["port"] == port and info["endpoint"] == f"http://127.0.0.1:{port}"
        assert info["time_scale"] == 0.01
        assert is_launcher(pid, port), "server.json names the launcher process"
        outputs = load_outputs_file(state / "outputs.json")
        assert outputs.service(None)[0] == "web"
        assert (state / "server.log").exists()

        status = _cli(state, repo_root, "sandbox", "status")
        assert status.returncode == 0, status.stderr
        assert f"running (pid {pid})" in status.stdout
        assert f"http://127.0.0.1:{port}" in status.stdout
        assert "service web: cluster demo, service web; active deployments: none" in status.stdout
        doc = json.loads(_cli(state, repo_root, "sandbox", "status", "--json").stdout)
        assert doc["running"] is True and doc["pid"] == pid and doc["time_scale"] == 0.01
        assert doc["services"] == {"web": {"cluster": "demo", "service": "web"}}

        # The exports make a plain boto3 (nobody's wrapper) reach the sandbox's stack.
        script = (
            'eval "$("$PY" -m orchestrator sandbox env)" && "$PY" -c "import boto3; '
            "print(boto3.client('ecs').describe_services(cluster='demo', services=['web'])"
            "['services'][0]['deploymentController']['type'])\""
        )
        shell = subprocess.run(
            ["bash", "-c", script],
            env=_env(state) | {"PY": sys.executable},
            cwd=repo_root,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert shell.returncode == 0, shell.stderr
        assert shell.stdout.strip() == "CODE_DEPLOY"
    finally:
        down = _cli(state, repo_root, "sandbox", "down")
        if pid and pid_alive(pid) and is_launcher(pid):  # never leak a server, even when asserts failed
            os.kill(pid, signal.SIGKILL)
    assert down.returncode == 0, down.stderr
    assert f"sandbox stopped (pid {pid}" in down.stdout
    assert not pid_alive(pid)
    assert not (state / "server.json").exists()
    assert not (state / "outputs.json").exists()

    again = _cli(state, repo_root, "sandbox", "down")
    _no_traceback(again)
    assert again.returncode == 0
    assert "not running" in again.stdout
    status = _cli(state, repo_root, "sandbox", "status")
    assert status.returncode == 0 and "sandbox: not running" in status.stdout
    env = _cli(state, repo_root, "sandbox", "env")
    _no_traceback(env)
    assert env.returncode == 2
    assert env.stderr.startswith("error: the sandbox is not running")


def test_down_with_a_stale_pid_stops_nothing(tmp_path: Path, repo_root: Path) -> None:
    """server.json naming a live process that is not our launcher (a reused pid): leave it alone."""
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        port = free_port()
        (tmp_path / "server.json").write_text(
            json.dumps({"pid": bystander.pid, "port": port, "endpoint": f"http://127.0.0.1:{port}"})
        )
        (tmp_path / "outputs.json").write_text("{}")
        status = _cli(tmp_path, repo_root, "sandbox", "status")
        assert status.returncode == 0
        assert f"not running (stale state: pid {bystander.pid} is not a running sandbox" in status.stdout
        down = _cli(tmp_path, repo_root, "sandbox", "down")
        _no_traceback(down)
        assert down.returncode == 0
        assert f"removed stale state of pid {bystander.pid}" in down.stdout
        time.sleep(0.1)
        assert bystander.poll() is None, "down must not signal a process that is not its launcher"
        assert not (tmp_path / "server.json").exists()
        assert not (tmp_path / "outputs.json").exists()
    finally:
        bystander.kill()
        bystander.wait()


def test_down_does_not_stop_a_sandbox_it_did_not_start(sandbox) -> None:
    """The in-process test sandbox is recorded with pytest's pid: `down` must refuse, not kill pytest."""
    down = sandbox.cli("sandbox", "down")
    _no_traceback(down)
    assert down.returncode == 1
    assert "was not started by `orchestrator sandbox up`" in down.stdout
    assert sandbox.control.health()
    assert (sandbox.sandbox_dir / "server.json").exists()
    status = sandbox.cli("sandbox", "status")
    assert "sandbox: running" in status.stdout


def test_up_refuses_an_unknown_region_and_bad_ready_waits_before_starting(tmp_path: Path, repo_root: Path) -> None:
    for args, message in (
        (["--region", "xx-fake-9"], "error: --region 'xx-fake-9' is not an AWS region botocore knows"),
        (["--region", "eu-west-9"], "did you mean eu-west-"),
        (["--ready-wait", "sometimes"], "error: --ready-wait 'sometimes': must be continue or manual"),
        (["--ready-wait-minutes", "5"], "error: --ready-wait-minutes goes with --ready-wait manual"),
        (["--ready-wait", "manual", "--ready-wait-minutes", "0"], "--ready-wait-minutes 0: must be a whole number"),
        (["--unmanaged-service", "web"], "--unmanaged-service 'web': the stack's own service has that name"),
        (["--unmanaged-service", "Legacy"], "--unmanaged-service 'Legacy': use lower-case letters"),
    ):
        result = _cli(tmp_path, repo_root, "sandbox", "up", *args)
        if result.returncode == 0:  # a bug started one: never leak it
            _cli(tmp_path, repo_root, "sandbox", "down")
        _no_traceback(result)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) <= 2, result.stderr  # the error and its hint
    assert not (tmp_path / "server.json").exists() and not (tmp_path / "server.log").exists()


def test_up_with_a_manual_ready_wait_makes_groups_wait_for_approval(tmp_path: Path, repo_root: Path) -> None:
    port = free_port()
    up = _cli(
        tmp_path,
        repo_root,
        *("sandbox", "up", "--port", str(port), "--ready-wait", "manual", "--unmanaged-service", "legacy"),
    )
    info = json.loads((tmp_path / "server.json").read_text()) if (tmp_path / "server.json").exists() else {}
    try:
        assert up.returncode == 0, up.stderr
        assert "ready wait: manual (STOP_DEPLOYMENT, 60 min)" in up.stdout
        import boto3

        codedeploy = boto3.client(
            "codedeploy",
            endpoint_url=info["endpoint"],
            region_name=info["region"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        group = codedeploy.get_deployment_group(applicationName="demo-web", deploymentGroupName="demo-web")
        ready = group["deploymentGroupInfo"]["blueGreenDeploymentConfiguration"]["deploymentReadyOption"]
        assert ready == {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 60}
        # The unmanaged service: rolling, beside the stack, not in its outputs.
        assert "unmanaged service: legacy in cluster demo" in up.stdout
        ecs = boto3.client(
            "ecs",
            endpoint_url=info["endpoint"],
            region_name=info["region"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        (legacy,) = ecs.describe_services(cluster="demo", services=["legacy"])["services"]
        assert legacy["deploymentController"]["type"] == "ECS"
        assert "legacy" not in load_outputs_file(tmp_path / "outputs.json").services
    finally:
        down = _cli(tmp_path, repo_root, "sandbox", "down")
        pid = int(info.get("pid", 0))
        if pid and pid_alive(pid) and is_launcher(pid):
            os.kill(pid, signal.SIGKILL)
    assert down.returncode == 0, down.stderr


def test_up_refuses_a_busy_port_and_bad_time_scale(tmp_path: Path, repo_root: Path, sandbox) -> None:
    busy = _cli(tmp_path, repo_root, "sandbox", "up", "--port", str(sandbox.server.port))
    _no_traceback(busy)
    assert busy.returncode == 2
    assert f"port {sandbox.server.port} on 127.0.0.1 is already in use" in busy.stderr
    scale = _cli(tmp_path, repo_root, "sandbox", "up", "--time-scale", "0")
    assert scale.returncode == 2
    assert "--time-scale 0" in scale.stderr
    assert not (tmp_path / "server.json").exists()


def test_fault_sets_shows_and_clears(sandbox) -> None:
    result = sandbox.cli("sandbox", "fault", "--fail-at", "afterallowtraffic", "--message", "hook said no")
    assert result.returncode == 0, result.stderr
    faults = sandbox.control.faults()
    assert faults["fail_at"] == "AfterAllowTraffic"
    assert faults["message"] == "hook said no"

    result = sandbox.cli("sandbox", "fault", "--throttle", "0.25", "--latency-ms", "5", "--error-rate", "0")
    assert result.returncode == 0, result.stderr
    faults = sandbox.control.faults()
    assert (faults["throttle"], faults["latency_ms"], faults["fail_at"]) == (0.25, 5, "AfterAllowTraffic")

    after = sandbox.cli(
        "sandbox",
        "fault",
        "--error-after-rate",
        "0.5",
        "--action",
        "CreateDeployment",
        "--action",
        "RegisterTaskDefinition",
    )
    assert after.returncode == 0, after.stderr
    faults = sandbox.control.faults()
    assert faults["error_after_rate"] == 0.5
    assert faults["error_after_actions"] == ["CreateDeployment", "RegisterTaskDefinition"]

    shown = sandbox.cli("sandbox", "fault")
    assert shown.returncode == 0
    assert "fail_at: AfterAllowTraffic" in shown.stdout
    assert "throttle: 0.25" in shown.stdout

    cleared = sandbox.cli("sandbox", "fault", "--clear")
    assert cleared.returncode == 0 and "faults cleared" in cleared.stdout
    faults = sandbox.control.faults()
    assert not faults["fail_at"] and not faults["throttle"] and not faults["latency_ms"]
    assert not faults["error_after_rate"] and not faults["error_after_actions"]
    assert "no faults set" in sandbox.cli("sandbox", "fault").stdout


BAD_FAULTS = [
    (["--fail-at", "Deploy"], "--fail-at 'Deploy' is not a lifecycle event"),
    (["--fail-at", "AllowTrafic"], "did you mean AllowTraffic?"),
    (["--throttle", "1.5"], "--throttle 1.5: must be a fraction between 0 and 1"),
    (["--error-rate", "-0.1"], "--error-rate -0.1: must be a fraction between 0 and 1"),
    (["--latency-ms", "-5"], "--latency-ms -5: must be 0 or more"),
    (["--message", "why"], "--message goes with --fail-at EVENT"),
    (["--clear", "--unhealthy"], "--clear cannot be combined"),
    (["--hook", "AfterInstall"], "--hook needs --hook-result succeed|fail|silent"),
    (["--hook", "AfterInstall", "--hook-result", "maybe"], "--hook-result 'maybe': must be succeed, fail or silent"),
    (["--hook", "AfterInstall", "--hook-result", "fail", "--hook-delay", "-1"], "--hook-delay -1: must be 0 or more"),
    (["--hook-result", "fail"], "--hook-result and --hook-delay go with --hook EVENT_OR_FUNCTION"),
    (["--clear", "--hook", "x", "--hook-result", "fail"], "--clear cannot be combined"),
    (["--error-after-rate", "2"], "--error-after-rate 2: must be a fraction between 0 and 1"),
    (["--action", "CreateDeployment"], "--action goes with --error-after-rate FRACTION"),
    (["--health-code", "503"], "--health-code and --health-reason go with --unhealthy"),
    (["--unhealthy", "--health-code", "99"], "--health-code 99: must be an HTTP status code (100-599)"),
    (["--unhealthy", "--health-reason", "Target.Sad"], "--health-reason 'Target.Sad': must be one of"),
    (["--crash", "256"], "--crash 256: must be an exit code between 0 and 255"),
    (["--crash-log", "boom"], "--crash-log and --crash-reason go with --crash EXIT_CODE"),
    (["--crash", "1", "--unhealthy"], "--crash and --unhealthy are exclusive"),
]


def test_fault_rejects_bad_settings_and_sets_nothing(sandbox, monkeypatch, capsys) -> None:
    # In-process (orchestrator.cli.run): the same code path as the console script, without a
    # Python start-up per case.
    from orchestrator.cli import run

    monkeypatch.setenv("ORCHESTRATOR_SANDBOX_DIR", str(sandbox.sandbox_dir))
    before = sandbox.control.faults()
    for args, message in BAD_FAULTS:
        code = run(["sandbox", "fault", *args])
        err = capsys.readouterr().err
        assert code == 2, (args, err)
        assert err.startswith("error: "), (args, err)
        assert message in err, (args, err)
    assert sandbox.control.faults() == before
    assert sandbox.control.hook_rules() == {}


def test_fault_arms_health_and_crash_evidence_for_a_group(sandbox) -> None:
    group = sandbox.service_outputs()["codedeploy_deployment_group_name"]
    unhealthy = sandbox.cli("sandbox", "fault", "--unhealthy", "--health-code", "503", "--group", group)
    assert unhealthy.returncode == 0, unhealthy.stderr
    armed = sandbox.control.faults()["groups"][group]
    assert armed["unhealthy"] is True and armed["health_code"] == 503
    crash = sandbox.cli("sandbox", "fault", "--crash", "3", "--crash-log", "panic: no DB_URL", "--crash-reason", "x")
    assert crash.returncode == 0, crash.stderr
    faults = sandbox.control.faults()
    assert (faults["crash_exit_code"], faults["crash_log"], faults["crash_reason"]) == (3, ["panic: no DB_URL"], "x")
    assert "crash_exit_code: 3" in sandbox.cli("sandbox", "fault").stdout


def test_seed_history_adds_finished_deployments_to_a_group(sandbox) -> None:
    group = sandbox.service_outputs()["codedeploy_deployment_group_name"]
    done = sandbox.cli("sandbox", "seed-history", "--group", group, "--count", "500")
    assert done.returncode == 0, done.stderr
    assert f"seeded 500 finished deployments on {group}" in done.stdout
    cd = sandbox.client("codedeploy")
    pages = cd.get_paginator("list_deployments").paginate(applicationName=group, deploymentGroupName=group)
    assert sum(len(page["deployments"]) for page in pages) == 500
    for args, message in (
        (["--group", group, "--count", "0"], "--count 0: must be between 1 and 5000"),
        (["--group", "nope", "--count", "5"], "--group 'nope': no such deployment group in the sandbox"),
    ):
        bad = sandbox.cli("sandbox", "seed-history", *args)
        assert bad.returncode == 2 and message in bad.stderr, bad.stderr


def test_fault_hook_rules_are_set_shown_and_cleared(sandbox) -> None:
    set_event = sandbox.cli("sandbox", "fault", "--hook", "afterallowtesttraffic", "--hook-result", "silent")
    assert set_event.returncode == 0, set_event.stderr
    set_fn = sandbox.cli("sandbox", "fault", "--hook", "smoke-test", "--hook-result", "succeed", "--hook-delay", "30")
    assert set_fn.returncode == 0, set_fn.stderr
    # Event names are matched case-insensitively and stored as AWS spells them; function names as given.
    assert sandbox.control.hook_rules() == {
        "AfterAllowTestTraffic": {"result": "silent", "delay": 8.0},
        "smoke-test": {"result": "succeed", "delay": 30.0},
    }
    shown = sandbox.cli("sandbox", "fault")
    assert "AfterAllowTestTraffic: silent" in shown.stdout
    assert "smoke-test: succeed after 30s" in shown.stdout
    cleared = sandbox.cli("sandbox", "fault", "--clear")
    assert cleared.returncode == 0, cleared.stderr
    assert sandbox.control.hook_rules() == {}


def test_fault_needs_a_running_sandbox(tmp_path: Path, repo_root: Path) -> None:
    result = _cli(tmp_path, repo_root, "sandbox", "fault", "--unhealthy")
    _no_traceback(result)
    assert result.returncode == 2
    assert "the sandbox is not running" in result.stderr


def test_status_and_env_of_the_fixture_sandbox(sandbox) -> None:
    env = sandbox.cli("sandbox", "env")
    assert env.returncode == 0, env.stderr
    exports = dict(
        line.removeprefix("export ").split("=", 1) for line in env.stdout.splitlines() if line.startswith("export ")
    )
    assert exports["AWS_ENDPOINT_URL"] == sandbox.endpoint
    assert exports["AWS_ACCESS_KEY_ID"] == exports["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert exports["AWS_DEFAULT_REGION"] == exports["AWS_REGION"] == sandbox.region
    assert Path(exports["ORCHESTRATOR_SANDBOX_DIR"]) == sandbox.sandbox_dir.resolve()
    assert "unset AWS_PROFILE" in env.stdout


def test_command_module_imports_no_heavy_modules() -> None:
    """`orchestrator sandbox --help` stays fast: the command module pulls in neither boto3 nor moto."""
    code = (
        "import sys, orchestrator.commands.sandbox; "
        "print(sorted(m for m in ('boto3', 'botocore', 'moto', 'rich.live') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


@pytest.fixture(autouse=True)
def _no_leaked_launchers(tmp_path: Path):
    yield
    # A failing `up` test must not leave a server behind.
    for state in (tmp_path / "state", tmp_path):
        with contextlib.suppress(FileNotFoundError, ValueError, KeyError):
            pid = int(json.loads((state / "server.json").read_text())["pid"])
            if is_launcher(pid):
                os.kill(pid, signal.SIGKILL)


def test_up_outside_a_project_says_where_taskdef_is_missing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    result = _cli(state, tmp_path, "sandbox", "up")
    _no_traceback(result)
    assert result.returncode == 2
    assert f"{tmp_path / 'taskdef.json'}: no such file" in result.stderr
    assert not (state / "server.json").exists()

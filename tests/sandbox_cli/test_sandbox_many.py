"""A sandbox of several services: `sandbox up --services N`, each service's first task definition from its
own file, and faults on one deployment group (`sandbox fault --group NAME`) as users run them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.contract import load_outputs_file
from orchestrator.errors import InputError
from orchestrator.sandbox.process import is_launcher, pid_alive

pytestmark = pytest.mark.e2e


def _env(state_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return env | {"ORCHESTRATOR_SANDBOX_DIR": str(state_dir), "COLUMNS": "200", "NO_COLOR": "1"}


def _cli(state_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        env=_env(state_dir),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_up_services_n_provisions_svc01_to_svcnn(tmp_path: Path, repo_root: Path) -> None:
    state = tmp_path / "state"
    up = _cli(state, repo_root, "sandbox", "up", "--services", "3", "--time-scale", "0.01")
    pid = int(json.loads((state / "server.json").read_text())["pid"]) if (state / "server.json").exists() else 0
    try:
        assert up.returncode == 0, up.stderr
        assert "stack: svc01, svc02, svc03 in eu-west-1" in up.stdout
        outputs = load_outputs_file(state / "outputs.json")
        assert list(outputs.services) == ["svc01", "svc02", "svc03"]
        assert outputs.services["svc02"].codedeploy_deployment_group_name == "demo-svc02"
        status = _cli(state, repo_root, "sandbox", "status", "--output", "json")
        doc = json.loads(status.stdout)
        assert list(doc["services"]) == ["svc01", "svc02", "svc03"]
        assert doc["active_deployments"] == {"svc01": [], "svc02": [], "svc03": []}
        assert doc["faults"]["groups"] == {}
    finally:
        down = _cli(state, repo_root, "sandbox", "down")
        if pid and pid_alive(pid) and is_launcher(pid):  # never leak a server
            os.kill(pid, signal.SIGKILL)
    assert down.returncode == 0, down.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--services", "2", "-s", "web"], "--services N and --service KEY are exclusive"),
        (["--services", "0"], "--services 0: must be between 1 and 99"),
        (["--services", "100"], "--services 100: must be between 1 and 99"),
    ],
)
def test_up_refuses_bad_service_counts_before_starting(
    tmp_path: Path, repo_root: Path, args: list[str], message: str
) -> None:
    state = tmp_path / "state"
    result = _cli(state, repo_root, "sandbox", "up", *args)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {message}"), result.stderr
    assert "Traceback" not in result.stderr
    assert not (state / "server.json").exists()


def _project(tmp_path: Path, repo_root: Path) -> Path:
    """The repository's top-level taskdef.json, and services/worker/taskdef.json of a different shape."""
    root = tmp_path / "project"
    (root / "services" / "worker").mkdir(parents=True)
    template = (repo_root / "taskdef.json").read_text()
    (root / "taskdef.json").write_text(template)
    worker = json.loads(template)
    worker["memory"] = "1024"
    worker["containerDefinitions"][0]["name"] = "worker"
    worker["containerDefinitions"][0]["logConfiguration"]["options"]["awslogs-stream-prefix"] = "worker"
    (root / "services" / "worker" / "taskdef.json").write_text(json.dumps(worker, indent=2))
    return root


def test_each_service_gets_its_own_file_else_the_template(sandbox, tmp_path: Path, repo_root: Path) -> None:
    from orchestrator.sandbox.provision import provision

    sandbox.server.reset()
    root = _project(tmp_path, repo_root)
    doc = provision(sandbox.endpoint, sandbox.region, root, services=("web", "worker", "api"))
    values = doc["services"]["value"]
    assert sorted(values) == ["api", "web", "worker"]
    ecs = sandbox.client("ecs")
    first = {}
    for key in values:
        arn = ecs.describe_services(cluster="demo", services=[key])["services"][0]["taskDefinition"]
        first[key] = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    assert first["worker"]["family"] == "demo-worker"
    assert first["worker"]["memory"] == "1024"
    assert [c["name"] for c in first["worker"]["containerDefinitions"]] == ["worker"]
    assert values["worker"]["container_name"] == "worker"
    for key in ("web", "api"):  # the top-level template, filled in per service
        assert first[key]["family"] == f"demo-{key}"
        assert first[key]["memory"] == "512"
        assert values[key]["container_name"] == "web"


def test_a_bad_service_file_is_refused_before_any_write(sandbox, tmp_path: Path, repo_root: Path) -> None:
    from orchestrator.sandbox.provision import provision

    sandbox.server.reset()
    sandbox.control.reset_requests()
    root = _project(tmp_path, repo_root)
    bad = root / "services" / "worker" / "taskdef.json"
    bad.write_text('{"family": "${nope}", "containerDefinitions": [{"name": "w"}]}')
    with pytest.raises(InputError, match=rf"{bad}: unknown placeholders \$\{{nope\}}"):
        provision(sandbox.endpoint, sandbox.region, root, services=("web", "worker"))
    assert sandbox.mutating_calls() == []


def test_fault_group_is_set_shown_consumed_and_cleared(sandbox) -> None:
    sandbox.reprovision(services=("web", "worker"))
    unknown = sandbox.cli("sandbox", "fault", "--group", "demo-nope", "--fail-at", "Install")
    assert unknown.returncode == 2
    assert unknown.stderr == (
        "error: --group 'demo-nope': no such deployment group in the sandbox; groups: demo-web, demo-worker\n"
    )
    per_call = sandbox.cli("sandbox", "fault", "--group", "demo-web", "--throttle", "0.5")
    assert per_call.returncode == 2
    assert "--throttle (every call or task) cannot be limited to one deployment group" in per_call.stderr
    assert sandbox.control.faults()["groups"] == {} and not sandbox.control.faults()["throttle"]

    armed = sandbox.cli(
        "sandbox", "fault", "--group", "demo-worker", "--fail-at", "afterinstall", "--message", "worker smoke 503"
    )
    assert armed.returncode == 0, armed.stderr
    assert "faults set for the next deployment on group demo-worker: fail_at=AfterInstall" in armed.stdout
    shown = sandbox.cli("sandbox", "fault").stdout
    assert "demo-worker: fail_at=AfterInstall, message=worker smoke 503" in shown
    status = sandbox.cli("sandbox", "status").stdout
    assert "service worker: cluster demo, service worker; active deployments: none; faults on group demo-worker" in (
        status
    )
    assert "service web: cluster demo, service web; active deployments: none\n" in status

    # The fault waits for its group: web releases fine, then worker's release fails at AfterInstall.
    web = sandbox.cli(
        "release", "--sandbox", "--service", "web", "--image", sandbox.pushed("w1", "web"), "--output", "json"
    )
    assert web.returncode == 0, web.stderr
    assert "demo-worker" in sandbox.control.faults()["groups"]
    worker = sandbox.cli(
        "release", "--sandbox", "--service", "worker", "--image", sandbox.pushed("w1", "worker"), "--output", "json"
    )
    assert worker.returncode == 1, worker.stderr
    summary = json.loads(worker.stdout.strip().splitlines()[-1])
    assert summary["event"] == "summary" and summary["status"] == "Failed"
    assert "worker smoke 503" in summary["reason"]
    assert sandbox.control.faults()["groups"] == {}

    sandbox.cli("sandbox", "fault", "--group", "demo-web", "--unhealthy", check=True)
    sandbox.cli("sandbox", "fault", "--group", "demo-worker", "--hook", "AfterInstall", "--hook-result", "fail")
    status = sandbox.cli("sandbox", "status").stdout
    assert "faults on group demo-web: unhealthy=True\n" in status
    assert "faults on group demo-worker: hook AfterInstall=fail\n" in status
    cleared = sandbox.cli("sandbox", "fault", "--clear", "--group", "demo-web")
    assert cleared.returncode == 0 and "faults cleared for group demo-web" in cleared.stdout
    assert sandbox.control.faults()["groups"] == {}
    assert list(sandbox.control.hook_rules()) == ["demo-worker/AfterInstall"]

"""`orchestrator render` for several services: `--service` repeated or `--all` writes DIR/<key>.json per
service (`--out-dir`), each from the service's own files (services/<key>/) or the top-level templates;
everything renders before the first file is written; one service behaves as before."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from services_support import WORKER_CPU, files_under, project, write

pytestmark = pytest.mark.e2e


@pytest.fixture
def folder(sandbox_fleet: Any, tmp_path: Path) -> Path:
    return project(sandbox_fleet.repo_root, tmp_path / "project")


def render(sandbox: Any, folder: Path, *args: str) -> Any:
    image = () if "--image" in args else ("--image", "repo/app:v1")
    return sandbox.cli("render", "--sandbox", *image, *args, cwd=folder)


def test_all_writes_one_file_per_service_from_its_own_files(sandbox_fleet: Any, folder: Path) -> None:
    out = folder / "rendered"
    res = render(sandbox_fleet, folder, "--all", "--out-dir", str(out), "--image", "repo/app:v7")
    assert res.returncode == 0, res.stderr
    assert res.stdout == ""
    assert files_under(out) == ["api.json", "web.json", "worker.json"]
    docs = {key: json.loads((out / f"{key}.json").read_text()) for key in ("api", "web", "worker")}
    # Each service's placeholders come from its own outputs.
    assert {k: d["family"] for k, d in docs.items()} == {"api": "demo-api", "web": "demo-web", "worker": "demo-worker"}
    for key, doc in docs.items():
        svc = sandbox_fleet.service_outputs(key)
        assert doc["executionRoleArn"] == svc["task_execution_role_arn"]
        assert doc["containerDefinitions"][0]["logConfiguration"]["options"]["awslogs-group"] == svc["log_group_name"]
        assert doc["containerDefinitions"][0]["image"] == "repo/app:v7"
    # worker's own file; the others the top-level template.
    assert docs["worker"]["cpu"] == WORKER_CPU and docs["web"]["cpu"] == docs["api"]["cpu"] == "256"
    env = {e["name"]: e["value"] for e in docs["worker"]["containerDefinitions"][0]["environment"]}
    assert env["QUEUE"] == "jobs-secret-name"  # the file deploy registers holds the real values
    lines = res.stderr.strip().splitlines()
    assert [line.split(" (")[0] for line in lines] == [f"wrote {out / k}.json" for k in ("api", "web", "worker")]
    assert "2 container environment value(s) in clear" in lines[2]  # worker: PORT and QUEUE
    assert "jobs-secret-name" not in res.stderr


def test_repeated_service_renders_those_in_the_order_given(sandbox_fleet: Any, folder: Path) -> None:
    out = folder / "out"
    res = render(sandbox_fleet, folder, "-s", "worker", "--service", "web", "--out-dir", str(out))
    assert res.returncode == 0, res.stderr
    assert files_under(out) == ["web.json", "worker.json"]
    assert [line.split(" (")[0] for line in res.stderr.strip().splitlines()] == [
        f"wrote {out / 'worker.json'}",
        f"wrote {out / 'web.json'}",
    ]


def test_a_rendered_file_is_what_deploy_registers(sandbox_fleet: Any, folder: Path) -> None:
    out = folder / "out"
    image = sandbox_fleet.pushed("v2", "worker")
    res = render(sandbox_fleet, folder, "--all", "--out-dir", str(out), "--image", image)
    assert res.returncode == 0, res.stderr
    dry = sandbox_fleet.cli(
        "deploy", str(out / "worker.json"), "--sandbox", "-s", "worker", "--dry-run", "--output", "json", cwd=folder
    )
    assert dry.returncode == 0, dry.stderr
    assert sandbox_fleet.mutating_calls() == []


@pytest.mark.parametrize(
    "args",
    [
        ("--all",),  # stdout
        ("-s", "web", "-s", "worker"),
        ("--all", "--out-file", "one.json"),
    ],
)
def test_several_services_to_one_stream_or_file_are_refused(sandbox_fleet: Any, folder: Path, args: tuple) -> None:
    before = files_under(folder)
    res = render(sandbox_fleet, folder, *args)
    assert res.returncode == 2
    assert res.stdout == ""
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith("error: render of ") and "--out-dir DIR" in line
    assert files_under(folder) == before


def test_a_broken_task_definition_of_one_service_writes_no_file(sandbox_fleet: Any, folder: Path) -> None:
    broken = json.loads((folder / "taskdef.json").read_text())
    broken["containerDefinitions"][0]["portMappings"][0]["containerPort"] = "eighty"
    write(folder / "services" / "worker" / "taskdef.json", broken)
    out = folder / "out"
    res = render(sandbox_fleet, folder, "--all", "--out-dir", str(out))
    assert res.returncode == 2
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith("error: services/worker/taskdef.json") and "containerPort" in line
    assert not out.exists()  # not even api.json, rendered before worker's failed


def test_taskdef_names_one_service_file(sandbox_fleet: Any, folder: Path) -> None:
    res = render(sandbox_fleet, folder, "--all", "--out-dir", "out", "--taskdef", "taskdef.json")
    assert res.returncode == 2
    assert "--taskdef taskdef.json names one service's file" in res.stderr
    assert not (folder / "out").exists()


def test_unknown_or_conflicting_selection(sandbox_fleet: Any, folder: Path) -> None:
    res = render(sandbox_fleet, folder, "-s", "web", "-s", "nope", "--out-dir", "out")
    assert res.returncode == 2 and "no service 'nope'" in res.stderr
    res = render(sandbox_fleet, folder, "-s", "web", "--all", "--out-dir", "out")
    assert res.returncode == 2 and "--all and --service exclude each other" in res.stderr
    res = render(sandbox_fleet, folder, "--out-dir", "out", "--out-file", "x.json", "-s", "web")
    assert res.returncode == 2 and "--out-file and --out-dir exclude each other" in res.stderr
    assert not (folder / "out").exists()


def test_one_service_keeps_stdout_and_out_file(sandbox_fleet: Any, folder: Path) -> None:
    res = render(sandbox_fleet, folder, "-s", "worker")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["family"] == "demo-worker" and doc["cpu"] == WORKER_CPU  # its own file, by the convention
    assert "jobs-secret-name" not in res.stdout  # redacted on stdout as before
    res = render(sandbox_fleet, folder, "-s", "worker", "--taskdef", "taskdef.json", "--out-file", "w.json")
    assert res.returncode == 0, res.stderr
    assert json.loads((folder / "w.json").read_text())["cpu"] == "256"  # --taskdef wins over the convention
    assert res.stderr.startswith("wrote w.json (image ")
    res = render(sandbox_fleet, folder, "-s", "api", "--out-dir", "one")
    assert res.returncode == 0, res.stderr
    assert files_under(folder / "one") == ["api.json"]

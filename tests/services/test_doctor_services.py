"""`orchestrator doctor` for several services: each service's file and wiring checks in turn, from its
own files (services/<key>/), every row tagged with the service; exit 2 when any service fails."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from services_support import outputs_with, project, sections, write
from support.jsonlines import of_kind, summary

pytestmark = pytest.mark.e2e

ROWS = 16  # outputs, documents, 13 AWS wiring rows, revisions never deployed (tests/ops/test_doctor.py)


@pytest.fixture
def folder(sandbox_fleet: Any, tmp_path: Path) -> Path:
    return project(sandbox_fleet.repo_root, tmp_path / "project")


def doctor(sandbox: Any, folder: Path, *args: str) -> tuple[Any, list[dict[str, Any]]]:
    res = sandbox.cli("doctor", "--output", "json", *args, cwd=folder)
    return res, of_kind(res.stdout, "doctor_check")


def failing(rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(r["service_key"], r["check"]) for r in rows if r["status"] == "fail"}


def test_all_checks_every_service_and_says_whose_each_row_is(sandbox_fleet: Any, folder: Path) -> None:
    res, rows = doctor(sandbox_fleet, folder, "--sandbox", "--all")
    assert res.returncode == 0, res.stderr
    assert Counter(r["service_key"] for r in rows) == {"api": ROWS, "web": ROWS, "worker": ROWS}
    # One service's table after the other, in the order of --all (sorted).
    assert list(dict.fromkeys(r["service_key"] for r in rows)) == ["api", "web", "worker"]
    assert failing(rows) == set()
    outputs_rows = {r["service_key"]: r["detail"] for r in rows if r["check"] == "outputs readable"}
    assert all(f"service {key} in" in detail for key, detail in outputs_rows.items())
    s = summary(res.stdout)
    assert s["ok"] is True and s["failed"] == 0 and s["skipped"] == 3  # the simulator, once per service
    assert list(s["services"]) == ["api", "web", "worker"]
    assert {k: (v["status"], v["passed"], v["failed"]) for k, v in s["services"].items()} == {
        k: ("Succeeded", ROWS - 1, 0) for k in ("api", "web", "worker")
    }
    assert s["services"]["web"]["checks"]["deployment group targets the service"] == "pass"
    assert sandbox_fleet.mutating_calls() == []


def test_one_service_own_appspec_is_checked_and_only_it_fails(sandbox_fleet: Any, folder: Path) -> None:
    doc = json.loads((folder / "appspec.json").read_text())
    doc["Resources"][0]["TargetService"]["Properties"]["LoadBalancerInfo"]["ContainerPort"] = 9090
    write(folder / "services" / "worker" / "appspec.json", doc)
    res, rows = doctor(sandbox_fleet, folder, "--sandbox", "-s", "web", "-s", "worker")
    assert res.returncode == 2
    assert {r["service_key"] for r in rows} == {"web", "worker"}
    assert failing(rows) == {("worker", "task definition and AppSpec agree")}
    s = summary(res.stdout)
    assert s["services"]["worker"]["status"] == "Failed" and s["services"]["web"]["status"] == "Succeeded"
    (line,) = res.stderr.strip().splitlines()
    assert line == ("error: doctor: 1 check(s) failed in 1 of 2 services: worker: task definition and AppSpec agree")


def test_a_miswired_service_fails_its_own_rows(sandbox_fleet: Any, folder: Path, tmp_path: Path) -> None:
    outputs = outputs_with(sandbox_fleet, tmp_path / "o.json", "api", codedeploy_deployment_group_name="nope")
    res, rows = doctor(sandbox_fleet, folder, "--outputs-file", str(outputs), "--all")
    assert res.returncode == 2
    assert {key for key, _ in failing(rows)} == {"api"}
    assert ("api", "deployment group exists") in failing(rows)
    s = summary(res.stdout)
    assert [k for k, v in s["services"].items() if v["status"] == "Failed"] == ["api"]


def test_plain_output_has_a_section_per_service(sandbox_fleet: Any, folder: Path) -> None:
    res = sandbox_fleet.cli("doctor", "--sandbox", "--all", "--output", "plain", cwd=folder)
    assert res.returncode == 0, res.stderr
    opened = re.compile(r"PASS +outputs readable: .*: service (\w+) in ")
    found = sections(res.stdout.splitlines(), lambda text: (m := opened.match(text)) and m.group(1))
    assert [key for key, _ in found] == ["api", "web", "worker"]
    for _, lines in found:
        assert len([line for line in lines if line.split(" ", 1)[0] in ("PASS", "FAIL", "SKIPPED")]) == ROWS
    assert any(line.startswith("PASS    deployment group targets the service") for line in found[1][1])


def test_explicit_files_with_several_services_are_refused(sandbox_fleet: Any, folder: Path) -> None:
    res, rows = doctor(sandbox_fleet, folder, "--sandbox", "--all", "--appspec", "appspec.json")
    assert res.returncode == 2 and rows == []
    assert "--appspec appspec.json names one service's file" in res.stderr


def test_one_service_uses_its_own_files_too(sandbox_fleet: Any, folder: Path) -> None:
    doc = json.loads((folder / "appspec.json").read_text())
    doc["Resources"][0]["TargetService"]["Properties"]["LoadBalancerInfo"]["ContainerPort"] = 9090
    write(folder / "services" / "worker" / "appspec.json", doc)
    res, rows = doctor(sandbox_fleet, folder, "--sandbox", "-s", "worker")
    assert res.returncode == 2
    assert all("service_key" not in r for r in rows)  # one service: the rows as before
    assert {r["check"] for r in rows if r["status"] == "fail"} == {"task definition and AppSpec agree"}
    assert "services" not in summary(res.stdout)
    res, _ = doctor(sandbox_fleet, folder, "--sandbox", "-s", "web")
    assert res.returncode == 0, res.stderr


def test_rich_output_keeps_each_services_rows_together(sandbox_fleet: Any, folder: Path) -> None:
    res = sandbox_fleet.cli("doctor", "--sandbox", "-s", "worker", "-s", "api", "--output", "rich", cwd=folder)
    assert res.returncode == 0, res.stderr
    assert re.findall(r"service (\w+) in eu-west-1", res.stdout) == ["worker", "api"]

"""`orchestrator status` and `history` for several services (--all, --service repeated): a section per
service, every event tagged with its service, the summary's `services: {KEY: {...}}`, and the exit code
the worst of the services'; one service as before."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from services_support import outputs_with, sections
from support.jsonlines import of_kind, summary

pytestmark = pytest.mark.e2e

KEYS = ["api", "web", "worker"]


@pytest.fixture
def released(sandbox_fleet: Any) -> str:
    """web released once (on its own, as before); api and worker never."""
    image = sandbox_fleet.pushed("v2", "web")
    res = sandbox_fleet.cli(
        "release", "--sandbox", "-s", "web", "--image", image, "--output", "json", "--timeout", "60"
    )
    assert res.returncode == 0, res.stderr
    return str(summary(res.stdout)["deployment_id"])


def cli(sandbox: Any, *args: str) -> Any:
    return sandbox.cli(*args, "--output", "json")


def test_status_all_reports_each_service(sandbox_fleet: Any, released: str) -> None:
    writes = sandbox_fleet.mutating_calls()  # the release's
    res = cli(sandbox_fleet, "status", "--sandbox", "--all")
    assert res.returncode == 0, res.stderr
    reports = of_kind(res.stdout, "status")
    assert [r["service_key"] for r in reports] == KEYS
    assert [r["service"] for r in reports] == [sandbox_fleet.service_outputs(k)["service_name"] for k in KEYS]
    by_key = {r["service_key"]: r for r in reports}
    assert by_key["web"]["last_deployment"]["deployment_id"] == released
    assert by_key["web"]["image"].endswith(":v2")
    assert by_key["api"]["last_deployment"] is None and by_key["worker"]["last_deployment"] is None
    s = summary(res.stdout)
    assert s["ok"] is True and s["status"] == "Succeeded" and "service" not in s
    assert list(s["services"]) == KEYS
    assert s["services"]["web"]["last_deployment_id"] == released
    assert s["services"]["web"]["last_status"] == "Succeeded"
    assert s["services"]["api"] == s["services"]["api"] | {"status": "Succeeded", "last_deployment_id": None}
    assert s["services"]["api"]["task_definition"] == by_key["api"]["task_definition"]
    assert sandbox_fleet.mutating_calls() == writes


def test_history_of_two_services(sandbox_fleet: Any, released: str) -> None:
    res = cli(sandbox_fleet, "history", "--sandbox", "-s", "web", "-s", "api")
    assert res.returncode == 0, res.stderr
    entries = of_kind(res.stdout, "history_entry")
    assert [(e["service_key"], e["deployment_id"]) for e in entries] == [("web", released)]
    (empty,) = of_kind(res.stdout, "message")
    assert empty["service_key"] == "api" and "no deployments yet in demo-api/" in empty["text"]
    s = summary(res.stdout)
    assert s["services"] == {
        "web": {"status": "Succeeded", "count": 1, "deployments": [released]},
        "api": {"status": "Succeeded", "count": 0, "deployments": []},
    }


def test_one_unreadable_service_does_not_hide_the_others(sandbox_fleet: Any, tmp_path: Path) -> None:
    # (history shares this path, _for_each_service; the sandbox's ListDeployments, moto's, answers an
    # unknown application with an empty list where AWS documents ApplicationDoesNotExistException.)
    outputs = outputs_with(sandbox_fleet, tmp_path / "o.json", "api", cluster_name="nope")
    res = cli(sandbox_fleet, "status", "--outputs-file", str(outputs), "--all")
    assert res.returncode == 2, res.stdout
    assert [e["service_key"] for e in of_kind(res.stdout, "status")] == ["web", "worker"]
    (said,) = of_kind(res.stdout, "message")
    assert said["service_key"] == "api" and said["level"] == "error"
    s = summary(res.stdout)
    assert s["ok"] is False and s["exit_code"] == 2 and s["status"] == "BadInput"
    assert [k for k, v in s["services"].items() if v["status"] != "Succeeded"] == ["api"]
    api = s["services"]["api"]
    assert api["status"] == "BadInput" and "ClusterNotFoundException" in api["reason"]
    assert s["services"]["web"]["running"] > 0
    (line,) = res.stderr.strip().splitlines()
    assert line == f"error: status: 1 of 3 services failed: api: {api['reason']}"
    assert s["reason"] == line.removeprefix("error: ")


def test_plain_and_rich_have_a_section_per_service(sandbox_fleet: Any, released: str) -> None:
    plain = sandbox_fleet.cli("status", "--sandbox", "--all", "--output", "plain")
    assert plain.returncode == 0, plain.stderr
    opened = re.compile(r"(\w+) \(cluster demo, CODE_DEPLOY controller\)")
    found = sections(plain.stdout.splitlines(), lambda text: (m := opened.match(text)) and m.group(1))
    assert [key for key, _ in found] == KEYS  # the sandbox's ECS services are named by their keys
    for key, lines in found:
        assert lines[1].startswith(f"  serving: demo-{key}:")
    assert any(f"last deployment {released} Succeeded" in line for line in found[1][1])
    for output in ("plain", "rich"):
        history = sandbox_fleet.cli("history", "--sandbox", "--all", "--output", output)
        assert history.returncode == 0, history.stderr
        text = history.stdout
        said = [
            text.index("no deployments yet in demo-api/"),
            text.index(released),
            text.index("no deployments yet in demo-worker/"),
        ]
        if output == "plain":  # in order: api, web, worker (rich prints the table when the command ends)
            assert said == sorted(said)


def test_watch_is_for_one_service(sandbox_fleet: Any) -> None:
    res = cli(sandbox_fleet, "status", "--sandbox", "--all", "--watch")
    assert res.returncode == 2
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith("error: --watch follows one service's deployment") and "--service KEY" in line
    assert of_kind(res.stdout, "status") == []


def test_one_service_as_before(sandbox_fleet: Any, released: str) -> None:
    res = cli(sandbox_fleet, "status", "--sandbox", "-s", "web")
    assert res.returncode == 0, res.stderr
    (report,) = of_kind(res.stdout, "status")
    assert "service_key" not in report
    s = summary(res.stdout)
    assert s["service"] == "web" and "services" not in s and s["last_deployment_id"] == released
    res = cli(sandbox_fleet, "history", "--sandbox", "-s", "web")
    assert [e.get("service_key") for e in of_kind(res.stdout, "history_entry")] == [None]
    assert summary(res.stdout)["deployments"] == [released]
    res = cli(sandbox_fleet, "status", "--sandbox")  # three services, none chosen
    assert res.returncode == 2 and "--all" in res.stderr

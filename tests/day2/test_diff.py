"""`orchestrator diff` end to end against the sandbox: the release's task definition against what runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support.jsonlines import of_kind, summary

pytestmark = pytest.mark.e2e


def _project(tmp_path: Path, repo_root: Path) -> Path:
    for name in ("taskdef.json", "appspec.json"):
        shutil.copy(repo_root / name, tmp_path / name)
    return tmp_path


def test_diff_is_0_when_equal_and_1_after_a_local_edit(sandbox, tmp_path) -> None:
    root = _project(tmp_path, sandbox.repo_root)
    res = sandbox.cli("diff", "--sandbox", "-o", "json", cwd=root)
    assert res.returncode == 0, res.stdout + res.stderr
    (found,) = of_kind(res.stdout, "diff")
    assert found["equal"] is True and found["taskdef_diff"] == ""
    assert found["live_task_definition_arn"].endswith(":task-definition/demo-web:1")

    doc = json.loads((root / "taskdef.json").read_text())
    doc["memory"] = "1024"
    doc["containerDefinitions"][0]["environment"].append({"name": "API_TOKEN", "value": "s3cr3t-value"})
    (root / "taskdef.json").write_text(json.dumps(doc))
    res = sandbox.cli("diff", "--sandbox", "-o", "plain", cwd=root)
    assert res.returncode == 1, res.stdout + res.stderr
    assert '+  "memory": "1024"' in res.stdout and '-  "memory": "512"' in res.stdout
    assert "API_TOKEN" in res.stdout and "s3cr3t-value" not in res.stdout + res.stderr
    assert sandbox.mutating_calls() == []


def test_diff_after_a_release_keeps_the_live_image_and_compares_the_appspec(sandbox, tmp_path) -> None:
    root = _project(tmp_path, sandbox.repo_root)
    image = sandbox.service_outputs()["ecr_repository_url"] + ":v2"
    rel = sandbox.cli("release", "--sandbox", "--image", image, "-o", "plain", cwd=root)
    assert rel.returncode == 0, rel.stdout + rel.stderr

    res = sandbox.cli("diff", "--sandbox", "-o", "json", cwd=root)
    assert res.returncode == 0, res.stdout + res.stderr
    assert summary(res.stdout)["equal"] is True
    assert of_kind(res.stdout, "diff")[0]["live_task_definition_arn"].endswith(":2")

    other = sandbox.cli("diff", "--sandbox", "-o", "json", "--image", image + "-next", cwd=root)
    assert other.returncode == 1
    assert f'+      "image": "{image}-next"' in of_kind(other.stdout, "diff")[0]["taskdef_diff"]
    assert summary(other.stdout)["status"] == "Different"

    spec = json.loads((root / "appspec.json").read_text())
    spec["Resources"][0]["TargetService"]["Properties"]["PlatformVersion"] = "1.4.0"
    (root / "appspec.json").write_text(json.dumps(spec))
    res = sandbox.cli("diff", "--sandbox", "-o", "json", cwd=root)
    assert res.returncode == 1
    (found,) = of_kind(res.stdout, "diff")
    assert found["taskdef_diff"] == "" and '+          "PlatformVersion": "1.4.0"' in found["appspec_diff"]

    config = sandbox.cli(
        "diff",
        "--sandbox",
        "-o",
        "json",
        "--appspec",
        str(sandbox.repo_root / "appspec.json"),
        "--deployment-config",
        "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
        cwd=root,
    )
    assert config.returncode == 1
    assert "ECSAllAtOnce" in of_kind(config.stdout, "diff")[0]["deployment_config_diff"]


def test_diff_all_services_names_each_and_bad_input_is_one_line(sandbox_fleet, tmp_path) -> None:
    root = _project(tmp_path, sandbox_fleet.repo_root)
    res = sandbox_fleet.cli("diff", "--sandbox", "--all", "-o", "json", cwd=root)
    assert res.returncode == 0, res.stdout + res.stderr
    assert sorted(summary(res.stdout)["services"]) == ["api", "web", "worker"]
    assert sorted(e["service_key"] for e in of_kind(res.stdout, "diff")) == ["api", "web", "worker"]

    bad = sandbox_fleet.cli("diff", "--sandbox", "--all", "--taskdef", "x.json", cwd=root)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1].startswith("error: --taskdef x.json names one service's file")
    missing = sandbox_fleet.cli("diff", "--sandbox", "-s", "nope", cwd=root)
    assert missing.returncode == 2 and "no service 'nope'" in missing.stderr

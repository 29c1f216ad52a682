"""`orchestrator migrate --to ecs` through the real CLI against the sandbox over HTTP."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from migrate_support import release, tg_arn, wait, wiring

from orchestrator.contract import load_outputs_file


def _prepared(sandbox: Any, tmp_path: Path, weights: str = "live") -> tuple[Any, Path, str]:
    """One CodeDeploy release (green live), the rules and role, and the migration file; (svc, file, deployment)."""
    svc = load_outputs_file(sandbox.outputs_path).services["web"]
    deployment_id = release(sandbox, svc)
    wait(sandbox, deployment_id, svc)
    blue, green = tg_arn(sandbox, svc.blue_target_group_name), tg_arn(sandbox, svc.green_target_group_name)
    settings = wiring(sandbox, svc, live=green, weights={blue: 100, green: 0} if weights == "blind" else None)
    raw = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(settings).items()}
    path = tmp_path / "migration.json"
    path.write_text(json.dumps({"migration": {"sensitive": False, "type": "object", "value": {"web": raw}}}))
    return svc, path, deployment_id


def test_dry_run_shows_the_checks_and_plan_and_writes_nothing(sandbox: Any, tmp_path: Path) -> None:
    svc, path, _ = _prepared(sandbox, tmp_path)
    before = list(sandbox.mutating_calls())
    proc = sandbox.cli("migrate", "--to", "ecs", "--sandbox", "--migration-file", str(path), "--dry-run", "-o", "plain")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert list(sandbox.mutating_calls()) == before, "--dry-run wrote to AWS"
    assert "PASS    one PRIMARY task set" in proc.stdout
    assert f"plan: UpdateService web: controller ECS, primary {svc.green_target_group_name}" in proc.stdout
    assert 'module.ecs_native_service["web"].aws_ecs_service.this is imported' in proc.stdout


def test_a_refused_precondition_is_one_line_exit_2_and_no_write(sandbox: Any, tmp_path: Path) -> None:
    _, path, _ = _prepared(sandbox, tmp_path, weights="blind")
    before = list(sandbox.mutating_calls())
    proc = sandbox.cli("migrate", "--to", "ecs", "--sandbox", "--migration-file", str(path), "-o", "plain")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert list(sandbox.mutating_calls()) == before
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
    assert "web: production rule: forwards 0% to the live demo-web-green" in line and "nothing was changed" in line


def test_migrate_switches_in_place_and_history_keeps_the_codedeploy_past(sandbox: Any, tmp_path: Path) -> None:
    svc, path, deployment_id = _prepared(sandbox, tmp_path)
    proc = sandbox.cli("migrate", "--to", "ecs", "--sandbox", "--migration-file", str(path), "-o", "plain")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "verified: ECS controller, no task set, production 100% on" in proc.stdout
    assert "next, Terraform 2: terraform/ecs-native: terraform plan" in proc.stdout
    service = sandbox.client("ecs").describe_services(cluster=svc.cluster_name, services=[svc.service_name])
    assert service["services"][0]["deploymentController"] == {"type": "ECS"}
    history = sandbox.cli("history", "--sandbox", "-o", "plain")
    assert history.returncode == 0, history.stderr
    assert deployment_id in history.stdout
    again = sandbox.cli("migrate", "--to", "ecs", "--sandbox", "--migration-file", str(path), "-o", "plain")
    assert again.returncode == 0 and "already uses the ECS deployment controller" in again.stdout


def test_there_is_no_in_place_way_back(sandbox: Any, tmp_path: Path) -> None:
    proc = sandbox.cli("migrate", "--to", "codedeploy", "--sandbox", "--migration-file", str(tmp_path / "x.json"))
    assert proc.returncode == 2
    assert "only `--to ecs` is supported" in proc.stderr and "The way back" in proc.stderr


def test_all_checks_every_service_before_writing_to_any(sandbox_fleet: Any, tmp_path: Path) -> None:
    """--all: web is ready, worker has no wiring: nothing is written, not even to web."""
    sandbox = sandbox_fleet
    _, path, _ = _prepared(sandbox, tmp_path)
    before = list(sandbox.mutating_calls())
    proc = sandbox.cli("migrate", "--to", "ecs", "--sandbox", "--migration-file", str(path), "--all", "-o", "plain")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert list(sandbox.mutating_calls()) == before
    assert "[web] PASS    live target group" in proc.stdout
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
    assert "api: terraform/ecs-native's migration output has no entry for it" in line
    assert "refused too: worker" in line
    service = sandbox.client("ecs").describe_services(cluster="demo", services=["web"])["services"][0]
    assert service["deploymentController"] == {"type": "CODE_DEPLOY"}

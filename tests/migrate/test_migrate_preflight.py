"""`migrate --to ecs`'s preflight and plan (orchestrator/migrate.py) against the sandbox's CodeDeploy
stack over HTTP: every precondition read without a write, each refusal one line naming what to fix, and
an UpdateService request that botocore accepts, with the live target group primary."""

from __future__ import annotations

import time
from typing import Any

import pytest
from migrate_support import release, sandbox_target, tg_arn, validate, wait, wiring

from orchestrator.contract import load_outputs_file
from orchestrator.migrate import (
    MigrationSettings,
    build_plan,
    deployment_configuration,
    parse_migration,
    preflight,
    read_snapshot,
)


def _checks(sandbox: Any, settings: MigrationSettings) -> dict[str, Any]:
    target = sandbox_target(sandbox)
    before = list(sandbox.mutating_calls())
    snap = read_snapshot(target.aws, target.service, settings)
    checks = preflight(snap, target.service, settings)
    assert list(sandbox.mutating_calls()) == before, "the preflight wrote to AWS"
    return {"snap": snap, "checks": {c.name: c for c in checks}, "target": target}


def test_after_an_odd_number_of_releases_green_is_planned_primary(sandbox: Any) -> None:
    svc = load_outputs_file(sandbox.outputs_path).services["web"]
    wait(sandbox, release(sandbox, svc), svc)
    green = tg_arn(sandbox, svc.green_target_group_name)
    settings = wiring(sandbox, svc, live=green)
    found = _checks(sandbox, settings)
    failed = [f"{c.name}: {c.line}" for c in found["checks"].values() if not c.ok]
    assert not failed, failed
    assert found["checks"]["live target group"].line.startswith(svc.green_target_group_name)
    plan = build_plan("web", found["snap"], svc, settings)
    (balancer,) = plan.update_service["loadBalancers"]
    assert balancer["targetGroupArn"] == green, "the live (green) target group must be primary"
    advanced = balancer["advancedConfiguration"]
    assert advanced["alternateTargetGroupArn"] == tg_arn(sandbox, svc.blue_target_group_name)
    assert (advanced["productionListenerRule"], advanced["roleArn"]) == (
        settings.prod_listener_rule_arn,
        settings.infrastructure_role_arn,
    )
    service = sandbox.client("ecs").describe_services(cluster=svc.cluster_name, services=[svc.service_name])
    (task_set,) = service["services"][0]["taskSets"]
    assert plan.update_service["taskDefinition"] == task_set["taskDefinition"], "the serving revision is kept"
    assert plan.update_service["deploymentController"] == {"type": "ECS"}
    validate("UpdateService", plan.update_service)
    assert 'module.ecs_native_service["web"].aws_ecs_service.this' in " ".join(plan.terraform_steps)


def test_a_production_rule_weighted_to_the_other_side_is_refused(sandbox: Any) -> None:
    svc = load_outputs_file(sandbox.outputs_path).services["web"]
    wait(sandbox, release(sandbox, svc), svc)  # green is live
    blue, green = tg_arn(sandbox, svc.blue_target_group_name), tg_arn(sandbox, svc.green_target_group_name)
    settings = wiring(sandbox, svc, live=green, weights={blue: 100, green: 0})  # what a blind copy would do
    check = _checks(sandbox, settings)["checks"]["production rule"]
    assert not check.ok
    assert f"forwards 0% to the live {svc.green_target_group_name}" in check.line
    assert "#2853" in check.line and "\n" not in check.line


def test_a_deployment_in_progress_and_two_task_sets_are_refused(sandbox: Any) -> None:
    svc = load_outputs_file(sandbox.outputs_path).services["web"]
    settings = wiring(sandbox, svc, live=tg_arn(sandbox, svc.blue_target_group_name))
    deployment_id = release(sandbox, svc)
    ecs = sandbox.client("ecs")
    deadline = time.monotonic() + 30
    while (
        len(ecs.describe_services(cluster=svc.cluster_name, services=[svc.service_name])["services"][0]["taskSets"]) < 2
    ):
        assert time.monotonic() < deadline, "the replacement task set never appeared"
        time.sleep(0.02)
    checks = _checks(sandbox, settings)["checks"]
    assert not checks["no deployment in progress"].ok
    assert deployment_id in checks["no deployment in progress"].line
    assert not checks["one PRIMARY task set"].ok
    assert "Updating the deployment controller is not supported" in checks["one PRIMARY task set"].line


def test_missing_rules_and_role_are_refused_by_name(sandbox: Any) -> None:
    svc = load_outputs_file(sandbox.outputs_path).services["web"]
    rule = svc.prod_listener_arn.replace(":listener/", ":listener-rule/") + "/0123456789abcdef"
    settings = MigrationSettings(
        prod_listener_rule_arn=rule,
        test_listener_rule_arn="",
        infrastructure_role_arn="arn:aws:iam::123456789012:role/nobody",
    )
    checks = _checks(sandbox, settings)["checks"]
    assert checks["live target group"].ok and checks["one PRIMARY task set"].ok
    assert not checks["production rule"].ok and "does not exist" in checks["production rule"].line
    assert not checks["test rule"].ok
    assert not checks["infrastructure role"].ok and "role/nobody does not exist" in checks["infrastructure role"].line


@pytest.mark.parametrize(
    "strategy,extra,expected",
    [
        ("LINEAR", {"linear": {"step_percent": 20, "step_bake_time_minutes": 2}}, "linearConfiguration"),
        ("CANARY", {"canary": {"percent": 10, "bake_time_minutes": 3}}, "canaryConfiguration"),
        ("ROLLING", {}, "deploymentCircuitBreaker"),
    ],
)
def test_each_strategy_is_sent_as_botocore_models_it(strategy: str, extra: dict[str, Any], expected: str) -> None:
    raw = {
        "prod_listener_rule_arn": "r1",
        "test_listener_rule_arn": "r2",
        "infrastructure_role_arn": "arn:aws:iam::123456789012:role/x",
        "hook_role_arn": "arn:aws:iam::123456789012:role/hooks",
        "strategy": strategy,
        "lifecycle_hooks": [
            {
                "function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:f",
                "stages": ["POST_TEST_TRAFFIC_SHIFT"],
                "details": '{"path": "/health"}',
            }
        ],
        "alarm_names": ["demo-web-5xx"],
        **extra,
    }
    settings = parse_migration({"web": raw}, "test")["web"]
    config = deployment_configuration(settings)
    assert config["strategy"] == strategy and expected in config
    assert ("lifecycleHooks" in config) == (strategy != "ROLLING")
    validate(
        "UpdateService",
        {
            "cluster": "demo",
            "service": "web",
            "deploymentController": {"type": "ECS"},
            "deploymentConfiguration": config,
        },
    )


def test_a_bad_migration_output_is_one_line_naming_the_field() -> None:
    from orchestrator.errors import InputError

    with pytest.raises(InputError, match=r"migration.web is missing test_listener_rule_arn, infrastructure_role_arn"):
        parse_migration({"web": {"prod_listener_rule_arn": "x"}}, "outputs.json")
    with pytest.raises(InputError, match=r"migration.web.strategy is 'BLUE'"):
        parse_migration(
            {
                "web": {
                    "prod_listener_rule_arn": "",
                    "test_listener_rule_arn": "",
                    "infrastructure_role_arn": "",
                    "strategy": "BLUE",
                }
            },
            "outputs.json",
        )

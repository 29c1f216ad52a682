"""`migrate --to ecs`'s preflight and plan (orchestrator/migrate.py) against the sandbox's CodeDeploy
stack over HTTP: every precondition read without a write, each refusal one line naming what to fix, and
an UpdateService request that botocore accepts, with the live target group primary."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import pytest

from orchestrator.contract import load_outputs_file
from orchestrator.migrate import (
    MigrationSettings,
    build_plan,
    deployment_configuration,
    parse_migration,
    preflight,
    read_snapshot,
)
from orchestrator.target import resolve_target

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _target(sandbox: Any) -> Any:
    from orchestrator.aws import Aws

    target = resolve_target(sandbox.repo_root / "terraform", None, sandbox.outputs_path, False, "web")
    target.aws = Aws(sandbox.region, endpoint_url=sandbox.endpoint, sandbox=True, time_scale=sandbox.time_scale)
    return target


def _validate(operation: str, params: dict[str, Any]) -> None:
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("ecs").operation_model(operation)
    report = ParamValidator().validate(params, model.input_shape)
    assert not report.has_errors(), report.generate_report()


def _release(sandbox: Any, svc: Any) -> str:
    """One CodeDeploy release of a new revision, to the end (the live target group alternates)."""
    ecs, cd = sandbox.client("ecs"), sandbox.client("codedeploy")
    current = ecs.describe_services(cluster=svc.cluster_name, services=[svc.service_name])["services"][0]
    taskdef = ecs.describe_task_definition(taskDefinition=current["taskDefinition"])["taskDefinition"]
    keep = ("family", "containerDefinitions", "cpu", "memory", "networkMode", "requiresCompatibilities")
    keep += ("executionRoleArn", "taskRoleArn")
    arn = ecs.register_task_definition(**{k: taskdef[k] for k in keep if k in taskdef})["taskDefinition"]
    spec = {
        "version": 0.0,
        "Resources": [
            {
                "TargetService": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {
                        "TaskDefinition": arn["taskDefinitionArn"],
                        "LoadBalancerInfo": {"ContainerName": svc.container_name, "ContainerPort": svc.container_port},
                    },
                }
            }
        ],
    }
    content = json.dumps(spec)
    revision = {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()}
    return str(
        cd.create_deployment(
            applicationName=svc.codedeploy_app_name,
            deploymentGroupName=svc.codedeploy_deployment_group_name,
            revision={"revisionType": "AppSpecContent", "appSpecContent": revision},
        )["deploymentId"]
    )


def _wait(sandbox: Any, deployment_id: str, svc: Any, timeout: float = 60.0) -> None:
    """Until the deployment succeeded and the replaced task set is gone."""
    cd, ecs = sandbox.client("codedeploy"), sandbox.client("ecs")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = cd.get_deployment(deploymentId=deployment_id)["deploymentInfo"]["status"]
        sets = ecs.describe_services(cluster=svc.cluster_name, services=[svc.service_name])["services"][0]["taskSets"]
        if status == "Succeeded" and len(sets) == 1:
            return
        assert status not in ("Failed", "Stopped"), status
        time.sleep(0.05)
    raise AssertionError(f"{deployment_id} did not finish")


def _arn(sandbox: Any, name: str) -> str:
    groups = sandbox.client("elbv2").describe_target_groups(Names=[name])["TargetGroups"]
    return str(groups[0]["TargetGroupArn"])


def _wiring(sandbox: Any, svc: Any, live: str, weights: dict[str, int] | None = None) -> MigrationSettings:
    """What terraform/ecs-native's targeted apply makes (docs/migration.md step 2): a `/*` rule on each
    listener forwarding all to the live target group, and the infrastructure role."""
    elb, iam = sandbox.client("elbv2"), sandbox.client("iam")
    blue, green = _arn(sandbox, svc.blue_target_group_name), _arn(sandbox, svc.green_target_group_name)
    weights = weights or {live: 100, (green if live == blue else blue): 0}
    rules = []
    for listener in (svc.prod_listener_arn, svc.test_listener_arn):
        rule = elb.create_rule(
            ListenerArn=listener,
            Priority=1,
            Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}],
            Actions=[
                {
                    "Type": "forward",
                    "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": a, "Weight": w} for a, w in weights.items()]},
                }
            ],
        )
        rules.append(rule["Rules"][0]["RuleArn"])
    role = iam.create_role(RoleName="demo-ecs-infrastructure", AssumeRolePolicyDocument=json.dumps(TRUST))
    raw = {
        "web": {
            "prod_listener_rule_arn": rules[0],
            "test_listener_rule_arn": rules[1],
            "infrastructure_role_arn": role["Role"]["Arn"],
            "hook_role_arn": "",
            "strategy": "BLUE_GREEN",
            "bake_time_minutes": 5,
        }
    }
    return parse_migration({"migration": {"sensitive": False, "type": "object", "value": raw}}, "test")["web"]


def _checks(sandbox: Any, settings: MigrationSettings) -> dict[str, Any]:
    target = _target(sandbox)
    before = list(sandbox.mutating_calls())
    snap = read_snapshot(target.aws, target.service, settings)
    checks = preflight(snap, target.service, settings)
    assert list(sandbox.mutating_calls()) == before, "the preflight wrote to AWS"
    return {"snap": snap, "checks": {c.name: c for c in checks}, "target": target}


def test_after_an_odd_number_of_releases_green_is_planned_primary(sandbox: Any) -> None:
    svc = load_outputs_file(sandbox.outputs_path).services["web"]
    _wait(sandbox, _release(sandbox, svc), svc)
    green = _arn(sandbox, svc.green_target_group_name)
    settings = _wiring(sandbox, svc, live=green)
    found = _checks(sandbox, settings)
    failed = [f"{c.name}: {c.line}" for c in found["checks"].values() if not c.ok]
    assert not failed, failed
    assert found["checks"]["live target group"].line.startswith(svc.green_target_group_name)
    plan = build_plan("web", found["snap"], svc, settings)
    (balancer,) = plan.update_service["loadBalancers"]
    assert balancer["targetGroupArn"] == green, "the live (green) target group must be primary"
    advanced = balancer["advancedConfiguration"]
    assert advanced["alternateTargetGroupArn"] == _arn(sandbox, svc.blue_target_group_name)
    assert (advanced["productionListenerRule"], advanced["roleArn"]) == (
        settings.prod_listener_rule_arn,
        settings.infrastructure_role_arn,
    )
    service = sandbox.client("ecs").describe_services(cluster=svc.cluster_name, services=[svc.service_name])
    (task_set,) = service["services"][0]["taskSets"]
    assert plan.update_service["taskDefinition"] == task_set["taskDefinition"], "the serving revision is kept"
    assert plan.update_service["deploymentController"] == {"type": "ECS"}
    _validate("UpdateService", plan.update_service)
    assert 'module.ecs_native_service["web"].aws_ecs_service.this' in " ".join(plan.terraform_steps)


def test_a_production_rule_weighted_to_the_other_side_is_refused(sandbox: Any) -> None:
    svc = load_outputs_file(sandbox.outputs_path).services["web"]
    _wait(sandbox, _release(sandbox, svc), svc)  # green is live
    blue, green = _arn(sandbox, svc.blue_target_group_name), _arn(sandbox, svc.green_target_group_name)
    settings = _wiring(sandbox, svc, live=green, weights={blue: 100, green: 0})  # what a blind copy would do
    check = _checks(sandbox, settings)["checks"]["production rule"]
    assert not check.ok
    assert f"forwards 0% to the live {svc.green_target_group_name}" in check.line
    assert "#2853" in check.line and "\n" not in check.line


def test_a_deployment_in_progress_and_two_task_sets_are_refused(sandbox: Any) -> None:
    svc = load_outputs_file(sandbox.outputs_path).services["web"]
    settings = _wiring(sandbox, svc, live=_arn(sandbox, svc.blue_target_group_name))
    deployment_id = _release(sandbox, svc)
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
    _validate(
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

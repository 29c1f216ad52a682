"""Shared by the migrate tests: a CodeDeploy release to the end, the wiring terraform/ecs-native's
targeted apply makes (docs/migration.md step 2), a target on the sandbox."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from orchestrator.migrate import MigrationSettings, parse_migration
from orchestrator.target import resolve_target

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def sandbox_target(sandbox: Any) -> Any:
    from orchestrator.aws import Aws

    target = resolve_target(sandbox.repo_root / "terraform", None, sandbox.outputs_path, False, "web")
    target.aws = Aws(sandbox.region, endpoint_url=sandbox.endpoint, sandbox=True, time_scale=sandbox.time_scale)
    return target


def validate(operation: str, params: dict[str, Any]) -> None:
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("ecs").operation_model(operation)
    report = ParamValidator().validate(params, model.input_shape)
    assert not report.has_errors(), report.generate_report()


def release(sandbox: Any, svc: Any) -> str:
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


def wait(sandbox: Any, deployment_id: str, svc: Any, timeout: float = 60.0) -> None:
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


def tg_arn(sandbox: Any, name: str) -> str:
    groups = sandbox.client("elbv2").describe_target_groups(Names=[name])["TargetGroups"]
    return str(groups[0]["TargetGroupArn"])


def wiring(sandbox: Any, svc: Any, live: str, weights: dict[str, int] | None = None) -> MigrationSettings:
    """What terraform/ecs-native's targeted apply makes (docs/migration.md step 2): a `/*` rule on each
    listener forwarding all to the live target group, and the infrastructure role."""
    elb, iam = sandbox.client("elbv2"), sandbox.client("iam")
    blue, green = tg_arn(sandbox, svc.blue_target_group_name), tg_arn(sandbox, svc.green_target_group_name)
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


def wait_for_task_sets(sandbox: Any, svc: Any, count: int, timeout: float = 30.0) -> None:
    """Until the service has `count` task sets (a CodeDeploy deployment past Install has two)."""
    ecs = sandbox.client("ecs")
    deadline = time.monotonic() + timeout
    while True:
        service = ecs.describe_services(cluster=svc.cluster_name, services=[svc.service_name])["services"][0]
        if len(service["taskSets"]) >= count:
            return
        assert time.monotonic() < deadline, f"the service never had {count} task sets"
        time.sleep(0.02)

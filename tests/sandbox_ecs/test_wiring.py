"""orchestrator/engines/ecs/wiring.py against the sandbox: the ECS-native wiring checked before any write."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from support.stack import make_stack

from orchestrator.contract import ServiceOutputs
from orchestrator.engines.ecs.wiring import problems
from sandbox_ecs.conftest import EcsStack


def _check(stack: Any, outputs: dict[str, Any]) -> list[str]:
    return problems(stack.c, "web", ServiceOutputs(**outputs))


def test_a_provisioned_ecs_native_service_is_wired(ecs_stack: EcsStack) -> None:
    assert _check(ecs_stack, ecs_stack.outputs) == []


def test_outputs_naming_another_rule_are_refused(ecs_stack: EcsStack) -> None:
    wrong = {**ecs_stack.outputs, "prod_listener_rule_arn": ecs_stack.test_rule}
    found = _check(ecs_stack, wrong)
    assert len(found) == 1 and found[0].startswith("services.web.prod_listener_rule_arn is ")


def test_rules_that_miss_a_target_group_are_found(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    for rule in (s.prod_rule, s.test_rule):
        s.c("elbv2").modify_rule(RuleArn=rule, Actions=[{"Type": "forward", "TargetGroupArn": s.blue_tg}])
    found = _check(s, s.outputs)
    assert any("do not forward to both target groups" in p for p in found), found


def test_a_role_ecs_cannot_assume_is_found(ecs_stack: EcsStack) -> None:
    s = ecs_stack
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = s.c("iam").create_role(RoleName=f"{s.project}-not-ecs", AssumeRolePolicyDocument=json.dumps(trust))
    lb = s.describe_service()["loadBalancers"][0]
    lb["advancedConfiguration"]["roleArn"] = role["Role"]["Arn"]
    s.c("ecs").update_service(cluster=s.cluster, service=s.service, loadBalancers=[lb], forceNewDeployment=False)
    found = _check(s, {**s.outputs, "ecs_infrastructure_role_arn": ""})
    assert any("does not trust ecs.amazonaws.com" in p for p in found), found


def test_a_code_deploy_service_said_to_be_ecs_is_refused(sandbox_server: Any) -> None:
    stack = make_stack(str(sandbox_server.endpoint))
    svc = {f.name: "" for f in dataclasses.fields(ServiceOutputs)} | {
        "cluster_name": stack.cluster,
        "service_name": stack.service,
        "container_port": 8080,
        "deployment_engine": "ecs",
    }
    found = problems(stack.c, "web", ServiceOutputs(**svc))
    assert found == [
        "services.web.deployment_engine is ecs, but the service's deployment controller is CODE_DEPLOY: "
        "migrate it (UpdateService deploymentController ECS) or set deployment_engine to codedeploy"
    ]

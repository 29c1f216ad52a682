"""The first service deployment after UpdateService(deploymentController=ECS) of a CODE_DEPLOY service
(controller_switch.py; tests/migrate/ covers the switch itself): listener rules that miss a target group
roll it back with the developer guide's "invalid networking configuration" text."""

from __future__ import annotations

import time
from typing import Any

from support.stack import Stack, make_stack

from orchestrator.sandbox.ecs_deployments.provision import infrastructure_role, weighted_rule
from orchestrator.sandbox.ecs_deployments.traffic import INVALID_NETWORKING


def _migrate(stack: Stack, live: str, other: str, rules: tuple[str, str] | None = None) -> dict[str, Any]:
    elbv2, iam = stack.c("elbv2"), stack.c("iam")
    prod, test = rules or (
        weighted_rule(elbv2, stack.prod_listener, live, other),
        weighted_rule(elbv2, stack.test_listener, live, other),
    )
    role = infrastructure_role(iam, stack.name)
    return dict(
        stack.c("ecs").update_service(
            cluster=stack.cluster,
            service=stack.service,
            deploymentController={"type": "ECS"},
            deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1},
            loadBalancers=[
                {
                    "targetGroupArn": live,
                    "containerName": "web",
                    "containerPort": 8080,
                    "advancedConfiguration": {
                        "alternateTargetGroupArn": other,
                        "productionListenerRule": prod,
                        "testListenerRule": test,
                        "roleArn": role,
                    },
                }
            ],
        )["service"]
    )


def _finished(stack: Stack, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        dep = stack.c("ecs").describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]
        if dep["status"] in ("SUCCESSFUL", "ROLLBACK_SUCCESSFUL", "STOPPED") or time.monotonic() > deadline:
            return dict(dep)
        time.sleep(0.05)


def _rule_weights(stack: Stack, rule: str) -> dict[str, int]:
    groups = stack.c("elbv2").describe_rules(RuleArns=[rule])["Rules"][0]["Actions"][0]["ForwardConfig"]
    return {g["TargetGroupArn"]: g["Weight"] for g in groups["TargetGroups"]}


def test_rules_that_miss_a_target_group_roll_the_first_deployment_back(sandbox_server: Any) -> None:
    stack = make_stack(str(sandbox_server.endpoint))
    elbv2 = stack.c("elbv2")
    only_blue = {"Type": "forward", "TargetGroupArn": stack.blue_tg}
    rules = tuple(
        elbv2.create_rule(
            ListenerArn=listener,
            Priority=1,
            Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}],
            Actions=[only_blue],
        )["Rules"][0]["RuleArn"]
        for listener in (stack.prod_listener, stack.test_listener)
    )
    service = _migrate(stack, stack.blue_tg, stack.green_tg, rules)  # type: ignore[arg-type]
    dep = _finished(stack, service["currentServiceDeployment"])
    assert dep["status"] == "ROLLBACK_SUCCESSFUL"
    assert dep["rollback"]["reason"] == INVALID_NETWORKING

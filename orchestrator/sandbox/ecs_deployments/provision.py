"""The ECS-native variant of a service in the example stack (`sandbox up --engine ecs`, `-s web:ecs`).

Instead of the CODE_DEPLOY service and the CodeDeploy application and group, as the developer guide's
"Required resources for Amazon ECS blue/green deployments" lists them:
- a listener rule on the production listener and one on the test listener (path `/*`, priority 1), each
  a weighted forward: blue 100, green 0 — the rules ECS moves weights on;
- the infrastructure role `<project>-<svc>-ecs-infrastructure`, trusted by ecs.amazonaws.com, with the
  AWS managed policy AmazonECSInfrastructureRolePolicyForLoadBalancers;
- the service with deploymentController ECS and deploymentConfiguration strategy BLUE_GREEN (bake time
  BAKE_MINUTES), its load balancer on blue with advancedConfiguration (green as the alternate target
  group, both rules, the role).
The outputs say deployment_engine "ecs", the two rule ARNs and the role; codedeploy_* are "". The
smoke-test Lambda (modules/smoke-test-hook) answers CodeDeploy's hook protocol, not ECS's hookStatus, so an
ECS-native service gets none (smoke_test_function_name "").
"""

from __future__ import annotations

import json
from typing import Any

ENGINES = ("codedeploy", "ecs")
BAKE_MINUTES = 5
INFRASTRUCTURE_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"


def split_engines(keys: list[str] | tuple[str, ...], default: str = "codedeploy") -> dict[str, str]:
    """`web:ecs`-style service specs -> {key: engine}; ValueError names the bad one."""
    if default not in ENGINES:
        raise ValueError(f"--engine {default!r}: must be one of {', '.join(ENGINES)}")
    out: dict[str, str] = {}
    for spec in keys:
        key, _, engine = spec.partition(":")
        engine = engine or default
        if engine not in ENGINES:
            raise ValueError(f"--service {spec!r}: the engine after ':' must be one of {', '.join(ENGINES)}")
        out.setdefault(key, engine)
    return out


def _rule(elbv2: Any, listener: str, blue: str, green: str) -> str:
    return str(
        elbv2.create_rule(
            ListenerArn=listener,
            Priority=1,
            Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}],
            Actions=[
                {
                    "Type": "forward",
                    "ForwardConfig": {
                        "TargetGroups": [
                            {"TargetGroupArn": blue, "Weight": 100},
                            {"TargetGroupArn": green, "Weight": 0},
                        ]
                    },
                }
            ],
        )["Rules"][0]["RuleArn"]
    )


def ecs_native_service(aws: Any, prefix: str, service: dict[str, Any], wiring: dict[str, Any]) -> dict[str, str]:
    """Create the rules, the role and the ECS-controller service; the outputs' ECS-engine values.

    `service`: create_service arguments of the CodeDeploy variant (cluster, name, task definition, count,
    network, the load balancer on blue); `wiring`: listeners {"prod", "test"} and target groups {"blue", "green"}.
    """
    elbv2, iam, ecs = aws.client("elbv2"), aws.client("iam"), aws.client("ecs")
    blue, green = wiring["target_groups"]["blue"], wiring["target_groups"]["green"]
    prod_rule = _rule(elbv2, wiring["listeners"]["prod"], blue, green)
    test_rule = _rule(elbv2, wiring["listeners"]["test"], blue, green)
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    role = iam.create_role(RoleName=f"{prefix}-ecs-infrastructure", AssumeRolePolicyDocument=json.dumps(trust))
    iam.attach_role_policy(RoleName=f"{prefix}-ecs-infrastructure", PolicyArn=INFRASTRUCTURE_POLICY_ARN)
    role_arn = str(role["Role"]["Arn"])
    lb = dict(service["loadBalancers"][0])
    lb["advancedConfiguration"] = {
        "alternateTargetGroupArn": green,
        "productionListenerRule": prod_rule,
        "testListenerRule": test_rule,
        "roleArn": role_arn,
    }
    ecs.create_service(
        **{k: v for k, v in service.items() if k not in ("deploymentController", "loadBalancers")},
        deploymentController={"type": "ECS"},
        loadBalancers=[lb],
        deploymentConfiguration={
            "strategy": "BLUE_GREEN",
            "bakeTimeInMinutes": BAKE_MINUTES,
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        },
    )
    return {
        "deployment_engine": "ecs",
        "prod_listener_rule_arn": prod_rule,
        "test_listener_rule_arn": test_rule,
        "ecs_infrastructure_role_arn": role_arn,
        "codedeploy_app_name": "",
        "codedeploy_deployment_group_name": "",
        "smoke_test_function_name": "",
    }


def active_deployments(ecs: Any, cluster: str, service: str) -> list[str]:
    """The service's unfinished service deployments (`sandbox status`)."""
    running = ["PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"]
    found = ecs.list_service_deployments(cluster=cluster, service=service, status=running)
    return [str(d["serviceDeploymentArn"]) for d in found.get("serviceDeployments", [])]

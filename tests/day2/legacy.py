"""A service the stack did not create: `legacy`, a rolling (ECS deployment controller) FARGATE service made
directly through the AWS API in the sandbox, next to the stack's `web` (the snippet of docs/adopt.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

LEGACY_IMAGE = "public.ecr.aws/nginx/nginx-unprivileged:1.25-alpine"


@dataclass
class Legacy:
    cluster: str
    service: str
    task_definition_arn: str
    target_group_arn: str
    rule_arn: str
    execution_role_arn: str
    task_role_arn: str
    log_group: str


def _role(iam: Any, name: str) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])


def create_legacy(sandbox: Any, *, environment: list[dict[str, str]] | None = None, desired: int = 2) -> Legacy:
    """What a team made by hand: its roles, log group, task definition, target group, listener rule and
    a rolling service on the stack's cluster, VPC and load balancer."""
    web = sandbox.service_outputs("web")
    ecs, elb, iam, logs = (sandbox.client(s) for s in ("ecs", "elbv2", "iam", "logs"))
    live = ecs.describe_services(cluster=web["cluster_name"], services=[web["service_name"]])["services"][0]
    execution = _role(iam, "legacy-execution")
    task_role = _role(iam, "legacy-task")
    logs.create_log_group(logGroupName="/legacy/app")
    td = ecs.register_task_definition(
        family="legacy-app",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        executionRoleArn=execution,
        taskRoleArn=task_role,
        containerDefinitions=[
            {
                "name": "app",
                "image": LEGACY_IMAGE,
                "essential": True,
                "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                "environment": environment
                or [{"name": "PORT", "value": "8080"}, {"name": "LOG_LEVEL", "value": "info"}],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": "/legacy/app",
                        "awslogs-region": sandbox.region,
                        "awslogs-stream-prefix": "app",
                    },
                },
            }
        ],
    )["taskDefinition"]
    listener = elb.describe_listeners(ListenerArns=[web["prod_listener_arn"]])["Listeners"][0]
    lb = elb.describe_load_balancers(LoadBalancerArns=[listener["LoadBalancerArn"]])["LoadBalancers"][0]
    tg = elb.create_target_group(
        Name="legacy-app", Protocol="HTTP", Port=8080, VpcId=lb["VpcId"], TargetType="ip", HealthCheckPath="/"
    )["TargetGroups"][0]["TargetGroupArn"]
    rule = elb.create_rule(
        ListenerArn=web["prod_listener_arn"],
        Priority=10,
        Conditions=[{"Field": "path-pattern", "Values": ["/legacy/*"]}],
        Actions=[{"Type": "forward", "TargetGroupArn": tg}],
    )["Rules"][0]["RuleArn"]
    ecs.create_service(
        cluster=web["cluster_name"],
        serviceName="legacy",
        taskDefinition=td["taskDefinitionArn"],
        desiredCount=desired,
        launchType="FARGATE",
        deploymentController={"type": "ECS"},
        deploymentConfiguration={
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        },
        networkConfiguration=live["networkConfiguration"],
        loadBalancers=[{"targetGroupArn": tg, "containerName": "app", "containerPort": 8080}],
    )
    return Legacy(web["cluster_name"], "legacy", td["taskDefinitionArn"], tg, rule, execution, task_role, "/legacy/app")

"""A service the stack did not create: a rolling (ECS deployment controller) Fargate service made directly
through the AWS API, as a team's hand-made or other-tool service would be (`sandbox up --unmanaged-service`).

For name N in project P: the log group `/ecs/P/N`, the execution role `P-N-execution`, the security group
`P-N-service`, the task definition family `P-N` (one container N, the bootstrap image, port
8080, awslogs with stream prefix N), and the service N in cluster P: FARGATE, the ECS controller (rolling,
minimumHealthyPercent 100, maximumPercent 200, the deployment circuit breaker with rollback), 2 tasks in
the private subnets, no load balancer and no CodeDeploy. It is not in the outputs: it is what `adopt`
starts from. Its tasks run and log as every service's do (service_tasks.py).
"""

from __future__ import annotations

from typing import Any

from orchestrator.sandbox.provision_network import CONTAINER_PORT, Network

DESIRED_COUNT = 2

_TRUST = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
    '"Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}'
)


def unmanaged_service(
    aws: Any, region: str, project: str, name: str, net: Network, image: str, execution_policy: str
) -> dict[str, str]:
    """Create the rolling service `name` in cluster `project` (provision.py passes the bootstrap image and
    the execution role's policy); returns its cluster, service and task definition ARN."""
    ec2, ecs, iam, logs = aws.client("ec2"), aws.client("ecs"), aws.client("iam"), aws.client("logs")
    prefix = f"{project}-{name}"
    log_group = f"/ecs/{project}/{name}"
    logs.create_log_group(logGroupName=log_group)
    role = iam.create_role(RoleName=f"{prefix}-execution", AssumeRolePolicyDocument=_TRUST)["Role"]["Arn"]
    iam.attach_role_policy(RoleName=f"{prefix}-execution", PolicyArn=execution_policy)
    group = ec2.create_security_group(
        GroupName=f"{prefix}-service", Description=f"Tasks of {name} (not made by the stack)", VpcId=net.vpc_id
    )["GroupId"]
    taskdef = ecs.register_task_definition(
        family=prefix,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        executionRoleArn=role,
        containerDefinitions=[
            {
                "name": name,
                "image": image,
                "essential": True,
                "portMappings": [{"containerPort": CONTAINER_PORT, "protocol": "tcp"}],
                "environment": [{"name": "PORT", "value": str(CONTAINER_PORT)}],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {"awslogs-group": log_group, "awslogs-region": region, "awslogs-stream-prefix": name},
                },
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster=project,
        serviceName=name,
        taskDefinition=taskdef,
        desiredCount=DESIRED_COUNT,
        launchType="FARGATE",
        deploymentController={"type": "ECS"},
        deploymentConfiguration={
            "minimumHealthyPercent": 100,
            "maximumPercent": 200,
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        },
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": net.private, "securityGroups": [group], "assignPublicIp": "DISABLED"}
        },
    )
    return {"cluster": project, "service": name, "task_definition": taskdef}

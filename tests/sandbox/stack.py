"""A minimal ECS blue/green stack made with boto3 against a running sandbox (test helper)."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

REGION = "eu-west-1"


_CLIENTS: dict[tuple[str, str], Any] = {}


def client(endpoint: str, service: str) -> Any:
    """A boto3 client without retries (faults must surface), cached: creating one costs ~50 ms."""
    key = (endpoint, service)
    if key not in _CLIENTS:
        _CLIENTS[key] = boto3.session.Session().client(
            service,
            region_name=REGION,
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"mode": "standard", "max_attempts": 1}),
        )
    return _CLIENTS[key]


@dataclass
class Stack:
    endpoint: str
    name: str
    cluster: str
    service: str
    app: str
    group: str
    prod_listener: str
    test_listener: str
    blue_tg: str
    green_tg: str
    blue_tg_name: str
    green_tg_name: str
    family: str
    initial_task_definition: str
    clients: dict[str, Any] = field(default_factory=dict)

    def c(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = client(self.endpoint, service)
        return self.clients[service]

    def register_revision(self, image: str = "nginx:2") -> str:
        return str(
            self.c("ecs").register_task_definition(**task_definition(self.family, image))["taskDefinition"][
                "taskDefinitionArn"
            ]
        )

    def appspec(self, task_definition_arn: str, hooks: list[dict[str, str]] | None = None) -> str:
        spec: dict[str, Any] = {
            "version": 0.0,
            "Resources": [
                {
                    "TargetService": {
                        "Type": "AWS::ECS::Service",
                        "Properties": {
                            "TaskDefinition": task_definition_arn,
                            "LoadBalancerInfo": {"ContainerName": "web", "ContainerPort": 8080},
                        },
                    }
                }
            ],
        }
        if hooks:
            spec["Hooks"] = hooks
        return json.dumps(spec)

    def deploy(self, config: str | None = None, **kwargs: Any) -> str:
        content = self.appspec(self.register_revision())
        params: dict[str, Any] = {
            "applicationName": self.app,
            "deploymentGroupName": self.group,
            "revision": {
                "revisionType": "AppSpecContent",
                "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()},
            },
        }
        if config:
            params["deploymentConfigName"] = config
        params.update(kwargs)
        return str(self.c("codedeploy").create_deployment(**params)["deploymentId"])

    def deployment(self, deployment_id: str) -> dict[str, Any]:
        return dict(self.c("codedeploy").get_deployment(deploymentId=deployment_id)["deploymentInfo"])

    def target(self, deployment_id: str) -> dict[str, Any]:
        cd = self.c("codedeploy")
        return dict(
            cd.get_deployment_target(deploymentId=deployment_id, targetId=f"{self.cluster}:{self.service}")[
                "deploymentTarget"
            ]["ecsTarget"]
        )

    def wait(self, deployment_id: str, statuses: tuple[str, ...], timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            info = self.deployment(deployment_id)
            if info["status"] in statuses:
                return info
            if time.monotonic() > deadline:
                raise AssertionError(f"deployment {deployment_id} still {info['status']}, wanted {statuses}")
            time.sleep(0.05)

    def prod_weights(self) -> dict[str, int]:
        return listener_weights(self.c("elbv2"), self.prod_listener)

    def test_weights(self) -> dict[str, int]:
        return listener_weights(self.c("elbv2"), self.test_listener)

    def ecs_service(self) -> dict[str, Any]:
        return dict(self.c("ecs").describe_services(cluster=self.cluster, services=[self.service])["services"][0])

    def drained_service(self, timeout: float = 10.0) -> dict[str, Any]:
        """The service once no replaced task set is DRAINING any more (ECS deletes them after draining)."""
        deadline = time.monotonic() + timeout
        while True:
            service = self.ecs_service()
            if all(ts["status"] != "DRAINING" for ts in service["taskSets"]):
                return service
            if time.monotonic() > deadline:
                raise AssertionError(f"task sets still draining: {service['taskSets']}")
            time.sleep(0.05)


def listener_weights(elbv2: Any, listener_arn: str) -> dict[str, int]:
    action = elbv2.describe_listeners(ListenerArns=[listener_arn])["Listeners"][0]["DefaultActions"][0]
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups")
    if groups:
        return {g["TargetGroupArn"]: int(g.get("Weight", 1)) for g in groups}
    return {action["TargetGroupArn"]: 1}


def task_definition(family: str, image: str) -> dict[str, Any]:
    return {
        "family": family,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [
            {
                "name": "web",
                "image": image,
                "essential": True,
                "cpu": 256,
                "memory": 512,
                "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
            }
        ],
    }


def make_stack(
    endpoint: str,
    *,
    ready_option: dict[str, Any] | None = None,
    termination_wait: int = 0,
    auto_rollback: bool = False,
    config: str | None = None,
    desired: int = 2,
    test_listener: bool = True,
) -> Stack:
    name = "s" + uuid.uuid4().hex[:8]
    ec2, elbv2, ecs, cd = (client(endpoint, s) for s in ("ec2", "elbv2", "ecs", "codedeploy"))
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"]["SubnetId"]
        for i, az in ((1, "a"), (2, "b"))
    ]
    sg = ec2.create_security_group(GroupName=f"{name}-sg", Description="sandbox test", VpcId=vpc)["GroupId"]
    lb = elbv2.create_load_balancer(Name=f"{name}-alb", Subnets=subnets, SecurityGroups=[sg])["LoadBalancers"][0]
    tgs = [
        elbv2.create_target_group(Name=f"{name}-{color}", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip")[
            "TargetGroups"
        ][0]
        for color in ("blue", "green")
    ]
    blue, green = tgs[0]["TargetGroupArn"], tgs[1]["TargetGroupArn"]
    listeners = [
        elbv2.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"],
            Protocol="HTTP",
            Port=port,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": blue}],
        )["Listeners"][0]["ListenerArn"]
        for port in (80, 8080)
    ]
    cluster = f"{name}-cluster"
    ecs.create_cluster(clusterName=cluster)
    family = f"{name}-web"
    td = ecs.register_task_definition(**task_definition(family, "nginx:1"))["taskDefinition"]["taskDefinitionArn"]
    service = f"{name}-svc"
    ecs.create_service(
        cluster=cluster,
        serviceName=service,
        taskDefinition=td,
        desiredCount=desired,
        launchType="FARGATE",
        deploymentController={"type": "CODE_DEPLOY"},
        loadBalancers=[{"targetGroupArn": blue, "containerName": "web", "containerPort": 8080}],
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}},
    )
    app = f"{name}-app"
    cd.create_application(applicationName=app, computePlatform="ECS")
    bg: dict[str, Any] = {
        "terminateBlueInstancesOnDeploymentSuccess": {
            "action": "TERMINATE",
            "terminationWaitTimeInMinutes": termination_wait,
        },
        "deploymentReadyOption": ready_option or {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
    }
    group_params: dict[str, Any] = {
        "applicationName": app,
        "deploymentGroupName": f"{name}-dg",
        "serviceRoleArn": "arn:aws:iam::123456789012:role/codedeploy",
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        "blueGreenDeploymentConfiguration": bg,
        "ecsServices": [{"serviceName": service, "clusterName": cluster}],
        "loadBalancerInfo": {
            "targetGroupPairInfoList": [
                {
                    "targetGroups": [{"name": f"{name}-blue"}, {"name": f"{name}-green"}],
                    "prodTrafficRoute": {"listenerArns": [listeners[0]]},
                    **({"testTrafficRoute": {"listenerArns": [listeners[1]]}} if test_listener else {}),
                }
            ]
        },
        "autoRollbackConfiguration": {
            "enabled": auto_rollback,
            "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST"] if auto_rollback else [],
        },
    }
    if config:
        group_params["deploymentConfigName"] = config
    cd.create_deployment_group(**group_params)
    return Stack(
        endpoint=endpoint,
        name=name,
        cluster=cluster,
        service=service,
        app=app,
        group=f"{name}-dg",
        prod_listener=listeners[0],
        test_listener=listeners[1],
        blue_tg=blue,
        green_tg=green,
        blue_tg_name=f"{name}-blue",
        green_tg_name=f"{name}-green",
        family=family,
        initial_task_definition=td,
    )

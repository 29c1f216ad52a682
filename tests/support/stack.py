"""A stack per test on the shared sandbox server, made by the product's own provisioning
(orchestrator/sandbox/provision.py) under a unique project name, with the group settings a test
varies; and the calls tests make on it."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support.clients import REGION, client

REPO_ROOT = Path(__file__).resolve().parents[2]


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
    """provision() of project `s<8 hex>`, service `web`: the Terraform root's stack with these group
    settings (no automatic rollback, no termination wait and CodeDeploy's default config unless asked)."""
    from orchestrator.sandbox.provision import GroupSettings, provision

    name = "s" + uuid.uuid4().hex[:8]
    settings = GroupSettings(
        desired_count=desired,
        deployment_config=config,
        ready_option=ready_option or {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
        termination_wait_minutes=termination_wait,
        rollback_events=("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST") if auto_rollback else (),
        test_traffic_route=test_listener,
    )
    outputs = provision(endpoint, REGION, REPO_ROOT, project=name, services=("web",), settings=settings)
    svc = outputs["services"]["value"]["web"]
    elbv2, ecs = client(endpoint, "elbv2"), client(endpoint, "ecs")
    blue, green = (
        elbv2.describe_target_groups(Names=[svc[key]])["TargetGroups"][0]["TargetGroupArn"]
        for key in ("blue_target_group_name", "green_target_group_name")
    )
    service = ecs.describe_services(cluster=svc["cluster_name"], services=[svc["service_name"]])["services"][0]
    td = str(service["taskDefinition"])
    family = ecs.describe_task_definition(taskDefinition=td)["taskDefinition"]["family"]
    return Stack(
        endpoint=endpoint,
        name=name,
        cluster=svc["cluster_name"],
        service=svc["service_name"],
        app=svc["codedeploy_app_name"],
        group=svc["codedeploy_deployment_group_name"],
        prod_listener=svc["prod_listener_arn"],
        test_listener=svc["test_listener_arn"],
        blue_tg=blue,
        green_tg=green,
        blue_tg_name=svc["blue_target_group_name"],
        green_tg_name=svc["green_target_group_name"],
        family=family,
        initial_task_definition=td,
    )

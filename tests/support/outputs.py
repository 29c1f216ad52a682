"""One service's Terraform outputs with values of the contract's forms (ARNs where it wants ARNs), for
tests that need valid outputs without a stack."""

from __future__ import annotations

from typing import Any

ACCOUNT = "111122223333"
REGION = "eu-west-1"


def service_values(key: str = "web", **overrides: Any) -> dict[str, Any]:
    """`services.<key>` of `terraform output -json`, as terraform/outputs.tf gives it (codedeploy engine)."""
    listener = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener/app/demo/0123456789abcdef"
    values: dict[str, Any] = {
        "cluster_name": "demo",
        "service_name": key,
        "container_name": key,
        "container_port": 8080,
        "codedeploy_app_name": f"demo-{key}",
        "codedeploy_deployment_group_name": f"demo-{key}",
        "ecr_repository_url": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/demo/{key}",
        "task_execution_role_arn": f"arn:aws:iam::{ACCOUNT}:role/demo-{key}-execution",
        "task_role_arn": f"arn:aws:iam::{ACCOUNT}:role/demo-{key}-task",
        "log_group_name": f"/ecs/demo/{key}",
        "prod_listener_arn": f"{listener}/0000000000000080",
        "test_listener_arn": f"{listener}/0000000000009000",
        "blue_target_group_name": f"demo-{key}-blue",
        "green_target_group_name": f"demo-{key}-green",
        "alb_dns_name": f"demo-1234567890.{REGION}.elb.amazonaws.com",
        "smoke_test_function_name": "",
        "deployment_engine": "codedeploy",
        "prod_listener_rule_arn": "",
        "test_listener_rule_arn": "",
        "ecs_infrastructure_role_arn": "",
    }
    return values | overrides

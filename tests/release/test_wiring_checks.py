"""Each wiring check of validate.py reports a broken wiring once, through both paths: the release's
preflight (stops at the first failure, InputError) and doctor's table (one failed row).

AWS's answers come from a small in-memory account (no sandbox): each case breaks one thing."""

from __future__ import annotations

import copy
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from orchestrator import doctor, validate
from orchestrator.contract import ServiceOutputs
from orchestrator.errors import InputError

ACCOUNT = "123456789012"
TG = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup"
LISTENER = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/app/demo/1"

SVC = ServiceOutputs(
    cluster_name="demo",
    service_name="web",
    container_name="web",
    container_port=8080,
    codedeploy_app_name="demo-web",
    codedeploy_deployment_group_name="demo-web",
    ecr_repository_url=f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/web",
    task_execution_role_arn=f"arn:aws:iam::{ACCOUNT}:role/exec",
    task_role_arn=f"arn:aws:iam::{ACCOUNT}:role/task",
    log_group_name="/ecs/web",
    prod_listener_arn=f"{LISTENER}/prod",
    test_listener_arn=f"{LISTENER}/test",
    blue_target_group_name="demo-web-blue",
    green_target_group_name="demo-web-green",
    alb_dns_name="demo.example",
)


def healthy() -> dict[str, Any]:
    return {
        "clusters": {"demo": "ACTIVE"},
        "service": {
            "serviceName": "web",
            "status": "ACTIVE",
            "runningCount": 1,
            "deploymentController": {"type": "CODE_DEPLOY"},
            "loadBalancers": [
                {"targetGroupArn": f"{TG}/demo-web-blue/1", "containerName": "web", "containerPort": 8080}
            ],
        },
        "group": {
            "computePlatform": "ECS",
            "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
            "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
            "ecsServices": [{"clusterName": "demo", "serviceName": "web"}],
            "loadBalancerInfo": {
                "targetGroupPairInfoList": [
                    {
                        "targetGroups": [{"name": "demo-web-blue"}, {"name": "demo-web-green"}],
                        "prodTrafficRoute": {"listenerArns": [SVC.prod_listener_arn]},
                        "testTrafficRoute": {"listenerArns": [SVC.test_listener_arn]},
                    }
                ]
            },
        },
        "configs": {"CodeDeployDefault.ECSAllAtOnce": {"computePlatform": "ECS"}},
        "target_groups": {"demo-web-blue": f"{TG}/demo-web-blue/1", "demo-web-green": f"{TG}/demo-web-green/2"},
        "listeners": {
            SVC.prod_listener_arn: f"{TG}/demo-web-blue/1",
            SVC.test_listener_arn: f"{TG}/demo-web-blue/1",
        },
    }


def _error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "Op")


class FakeAws:
    """The read-only calls the checks make, answered from `world` as AWS would."""

    def __init__(self, world: dict[str, Any]) -> None:
        self.world = world
        self.cache: dict[str, Any] = {}  # as orchestrator.aws.Aws: per-command memo of immutable reads

    def client(self, name: str) -> Any:
        w = self.world

        def services(cluster: str, services: list[str]) -> dict[str, Any]:
            if cluster not in w["clusters"]:
                raise _error("ClusterNotFoundException")
            return {"services": [w["service"]] if w["service"] else [], "failures": []}

        def group(applicationName: str, deploymentGroupName: str) -> dict[str, Any]:
            if w["group"] is None:
                raise _error("DeploymentGroupDoesNotExistException")
            return {"deploymentGroupInfo": w["group"]}

        def config(deploymentConfigName: str) -> dict[str, Any]:
            if deploymentConfigName not in w["configs"]:
                raise _error("DeploymentConfigDoesNotExistException")
            return {"deploymentConfigInfo": w["configs"][deploymentConfigName]}

        def target_groups(Names: list[str]) -> dict[str, Any]:
            if Names[0] not in w["target_groups"]:
                raise _error("TargetGroupNotFound")
            return {"TargetGroups": [{"TargetGroupArn": w["target_groups"][Names[0]]}]}

        def listeners(ListenerArns: list[str]) -> dict[str, Any]:
            if ListenerArns[0] not in w["listeners"]:
                raise _error("ListenerNotFound")
            action = {"Type": "forward", "TargetGroupArn": w["listeners"][ListenerArns[0]]}
            return {"Listeners": [{"ListenerArn": ListenerArns[0], "DefaultActions": [action]}]}

        return SimpleNamespace(
            get_caller_identity=lambda: {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:root"},
            describe_clusters=lambda clusters: {
                "clusters": [{"status": w["clusters"][c]} for c in clusters if c in w["clusters"]]
            },
            describe_services=services,
            get_deployment_group=group,
            get_deployment_config=config,
            describe_target_groups=target_groups,
            describe_listeners=listeners,
        )


def run_doctor_table(world: dict[str, Any]) -> dict[str, doctor.CheckResult]:
    checks = doctor.Checks(SimpleNamespace(emit=lambda event: None))  # type: ignore[arg-type]
    target = SimpleNamespace(aws=FakeAws(world), service=SVC)
    doctor._aws_checks(checks, target, None, list(doctor.AWS_CHECKS))  # type: ignore[arg-type]
    return {r.check: r for r in checks.results}


DELETE = object()


def _set(path: str | tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    """Set (or DELETE) the value at a dotted path, or a tuple path where keys hold dots."""

    def apply(world: dict[str, Any]) -> None:
        *parents, last = path.split(".") if isinstance(path, str) else path
        node = world
        for key in parents:
            node = node[key]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value

    return apply


# (broken wiring, the check that must report it, its doctor row, the message, in the preflight too)
CASES = [
    (
        _set("group", None),
        validate.deployment_group_is_blue_green,
        "deployment group exists",
        "deployment group 'demo-web' does not exist in 'demo-web'",
        True,
    ),
    (
        _set("group.deploymentStyle.deploymentType", "IN_PLACE"),
        validate.deployment_group_is_blue_green,
        "deployment group exists",
        "deploymentStyle is IN_PLACE/WITH_TRAFFIC_CONTROL",
        True,
    ),
    (
        _set("group.ecsServices", [{"clusterName": "demo", "serviceName": "api"}]),
        validate.group_targets_service,
        "deployment group targets the service",
        "targets demo/api, not demo/web",
        True,
    ),
    (
        _set("group.deploymentConfigName", "Nope"),
        validate.deployment_config_is_ecs,
        "deployment config exists",
        "deployment group's deploymentConfigName: deployment config 'Nope' does not exist",
        True,
    ),
    (
        _set(("configs", "CodeDeployDefault.ECSAllAtOnce"), {"computePlatform": "Lambda"}),
        validate.deployment_config_is_ecs,
        "deployment config exists",
        "is for Lambda, not ECS",
        True,
    ),
    (
        _set("service", None),
        validate.service_exists,
        "service exists",
        "ECS service 'web' not found in cluster 'demo'",
        True,
    ),
    (
        _set("service.deploymentController", {"type": "ECS"}),
        validate.service_uses_code_deploy,
        "service uses the CODE_DEPLOY controller",
        "uses the ECS deployment controller, not CODE_DEPLOY",
        True,
    ),
    (_set("clusters", {"demo": "INACTIVE"}), validate.cluster_exists, "cluster exists", "demo INACTIVE", False),
    (
        _set("target_groups.demo-web-green", DELETE),
        validate.target_groups_exist,
        "target groups exist",
        "missing target group demo-web-green",
        False,
    ),
    (
        _set("group.loadBalancerInfo.targetGroupPairInfoList", []),
        validate.group_uses_target_groups,
        "deployment group uses both target groups",
        "the group has no target group pair",
        False,
    ),
    (
        _set("listeners", {SVC.prod_listener_arn: f"{TG}/demo-web-blue/1"}),
        validate.listener_for_tests,
        "test listener",
        "does not exist",
        False,
    ),
    (
        _set(("listeners", SVC.prod_listener_arn), f"{TG}/stray/3"),
        validate.listener_for_production,
        "production listener",
        "forwards to stray",
        False,
    ),
    (
        _set("service.loadBalancers", []),
        validate.service_load_balancer,
        "service load balancer",
        "web has no load balancer",
        False,
    ),
]


def test_a_healthy_wiring_passes_both_paths() -> None:
    pre = validate.preflight(FakeAws(healthy()), SVC, None)  # type: ignore[arg-type]
    assert pre.config_name == "CodeDeployDefault.ECSAllAtOnce"
    table = run_doctor_table(healthy())
    assert list(table) == list(doctor.AWS_CHECKS)
    # The fake world's service runs no task definition: nothing to compare revisions with.
    assert {n: r.status for n, r in table.items() if r.status != "pass"} == {
        "permissions": "skipped",
        "revisions never deployed": "skipped",
    }


@pytest.mark.parametrize(("breakage", "check", "row", "message", "in_preflight"), CASES)
def test_each_check_reports_its_broken_wiring_once(breakage, check, row, message, in_preflight) -> None:
    world = healthy()
    breakage(world)
    # The check function alone.
    with pytest.raises(InputError) as direct:
        check(validate.Wiring(FakeAws(world), SVC))  # type: ignore[arg-type]
    assert message in str(direct.value)
    # Doctor: that one row fails, with the same message; no other row repeats it.
    table = run_doctor_table(copy.deepcopy(world))
    assert table[row].status == "fail" and table[row].detail == str(direct.value)
    assert [r.check for r in table.values() if message in r.detail] == [row]
    # The release's preflight: the same message, once, as the bad input that ends it (exit 2).
    if in_preflight:
        assert check in validate.PREFLIGHT_CHECKS
        with pytest.raises(InputError) as pre:
            validate.preflight(FakeAws(copy.deepcopy(world)), SVC, None)  # type: ignore[arg-type]
        assert str(pre.value) == str(direct.value)
        assert str(pre.value).count(message) == 1
    else:
        assert check not in validate.PREFLIGHT_CHECKS
        validate.preflight(FakeAws(copy.deepcopy(world)), SVC, None)  # type: ignore[arg-type]

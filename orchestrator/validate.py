"""Checks against AWS before the first write: the CodeDeploy wiring and the ECS service, read-only.

The deployment group must exist, be ECS blue/green with traffic control and target this cluster and
service; the deployment config (the flag's or the group's) must exist for ECS; the service must exist
and use the CODE_DEPLOY controller. Any mismatch is bad configuration: InputError, exit 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orchestrator.ecs_read import serving_task_definition
from orchestrator.errors import InputError

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.contract import ServiceOutputs


@dataclass(frozen=True)
class Preflight:
    group: dict[str, Any]  # deploymentGroupInfo
    config: dict[str, Any]  # deploymentConfigInfo
    config_name: str
    service: dict[str, Any]  # the ECS service as described
    checks: tuple[str, ...]

    @property
    def live_task_definition_arn(self) -> str | None:
        return serving_task_definition(self.service)


def _code(exc: BaseException) -> str:
    from orchestrator.aws import error_code

    return error_code(exc)


def check_group(aws: Aws, svc: ServiceOutputs) -> dict[str, Any]:
    app, name = svc.codedeploy_app_name, svc.codedeploy_deployment_group_name
    try:
        group = aws.client("codedeploy").get_deployment_group(applicationName=app, deploymentGroupName=name)
    except Exception as exc:
        code = _code(exc)
        if code == "ApplicationDoesNotExistException":
            raise InputError(f"outputs: codedeploy_app_name: CodeDeploy application {app!r} does not exist") from None
        if code == "DeploymentGroupDoesNotExistException":
            raise InputError(
                f"outputs: codedeploy_deployment_group_name: deployment group {name!r} does not exist in {app!r}"
            ) from None
        raise
    info = dict(group["deploymentGroupInfo"])
    where = f"deployment group {app}/{name}"
    if info.get("computePlatform") not in (None, "ECS"):
        raise InputError(f"{where}: computePlatform is {info.get('computePlatform')}, not ECS")
    style = info.get("deploymentStyle") or {}
    if style.get("deploymentType") != "BLUE_GREEN" or style.get("deploymentOption") != "WITH_TRAFFIC_CONTROL":
        raise InputError(
            f"{where}: deploymentStyle is {style.get('deploymentType')}/{style.get('deploymentOption')}, "
            "not BLUE_GREEN/WITH_TRAFFIC_CONTROL"
        )
    targets = [(s.get("clusterName"), s.get("serviceName")) for s in info.get("ecsServices") or []]
    if (svc.cluster_name, svc.service_name) not in targets:
        shown = ", ".join(f"{c}/{s}" for c, s in targets) or "no ECS service"
        raise InputError(f"{where}: targets {shown}, not {svc.cluster_name}/{svc.service_name}")
    return info


def check_config(aws: Aws, name: str, flag: bool) -> dict[str, Any]:
    where = "--deployment-config" if flag else "deployment group's deploymentConfigName"
    try:
        resp = aws.client("codedeploy").get_deployment_config(deploymentConfigName=name)
    except Exception as exc:
        if _code(exc) in ("DeploymentConfigDoesNotExistException", "InvalidDeploymentConfigNameException"):
            raise InputError(f"{where}: deployment config {name!r} does not exist") from None
        raise
    info = dict(resp["deploymentConfigInfo"])
    if info.get("computePlatform") not in (None, "ECS"):
        raise InputError(f"{where}: deployment config {name!r} is for {info.get('computePlatform')}, not ECS")
    return info


def check_service(aws: Aws, svc: ServiceOutputs) -> dict[str, Any]:
    try:
        resp = aws.client("ecs").describe_services(cluster=svc.cluster_name, services=[svc.service_name])
    except Exception as exc:
        if _code(exc) == "ClusterNotFoundException":
            raise InputError(f"outputs: cluster_name: ECS cluster {svc.cluster_name!r} does not exist") from None
        raise
    found = [s for s in resp.get("services") or [] if s.get("status") != "INACTIVE"]
    if not found:
        raise InputError(
            f"outputs: service_name: ECS service {svc.service_name!r} not found in cluster {svc.cluster_name!r}"
        )
    service = dict(found[0])
    controller = (service.get("deploymentController") or {}).get("type", "ECS")
    if controller != "CODE_DEPLOY":
        raise InputError(
            f"ECS service {svc.cluster_name}/{svc.service_name} uses the {controller} deployment controller, "
            "not CODE_DEPLOY"
        )
    return service


def preflight(aws: Aws, svc: ServiceOutputs, deployment_config: str | None) -> Preflight:
    """All the read-only AWS checks of a release, in the order a user would fix them."""
    from orchestrator.aws import refusals

    with refusals():
        group = check_group(aws, svc)
        name = deployment_config or str(group.get("deploymentConfigName") or "CodeDeployDefault.ECSAllAtOnce")
        config = check_config(aws, name, flag=deployment_config is not None)
        service = check_service(aws, svc)
    return Preflight(
        group=group,
        config=config,
        config_name=name,
        service=service,
        checks=("task definition", "appspec", "deployment group", "deployment config", "ecs service"),
    )

"""The sandbox's CodeDeploy wire layer on top of moto's CodeDeployResponse (moto's responses.py seam):
request parameters in, AWS-shaped answers out. The state and the rules are codedeploy_backend.py's;
the engine arrives as an argument (moto_ext.install binds it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from moto.codedeploy import responses as cd_responses
from moto.codedeploy.models import DeploymentInfo
from moto.codedeploy.responses import CodeDeployResponse
from moto.core.responses import ActionResult, EmptyResult

from orchestrator.sandbox import codedeploy_backend as backend_rules
from orchestrator.sandbox.deployment_configs import BUILTIN

if TYPE_CHECKING:
    from orchestrator.sandbox.engine import Engine

# ---- serialising: moto's deployment and group answers with what AWS also reports -------------------------
_original_deployment_info = cd_responses._deployment_info
_original_deployment_group_info = cd_responses._deployment_group_info


def _deployment_info(deployment: DeploymentInfo) -> dict[str, Any]:
    info = _original_deployment_info(deployment)
    group = deployment.deployment_group
    info["errorInformation"] = getattr(deployment, "error_information", None)
    info["rollbackInfo"] = getattr(deployment, "rollback_info", None)
    info["deploymentConfigName"] = str(deployment.deployment_config_name)
    # AWS: GetDeployment's revision.appSpecContent.content "is always null"; GetApplicationRevision
    # (with the sha256) returns it. The engine keeps the content for itself.
    info["revision"] = backend_rules.without_content(deployment.revision)
    info["previousRevision"] = backend_rules.without_content(getattr(deployment, "previous_revision", None))
    info["completeTime"] = deployment.complete_time
    info["startTime"] = deployment.start_time
    info["deploymentStyle"] = group.deployment_style or None
    info["blueGreenDeploymentConfiguration"] = blue_green_configuration(group)
    info["loadBalancerInfo"] = group.load_balancer_info or None
    info["targetInstances"] = None
    info["additionalDeploymentStatusInfo"] = None
    info["externalId"] = None
    info["relatedDeployments"] = None
    info["overrideAlarmConfiguration"] = None
    info["fileExistsBehavior"] = None
    return info


def blue_green_configuration(group: Any) -> dict[str, Any] | None:
    """The group's blue/green settings with the defaults AWS reports (clients index these keys)."""
    config = group.blue_green_deployment_configuration
    if group.application.compute_platform != "ECS":
        return config or None
    config = {key: dict(value) for key, value in (config or {}).items()}
    ready = config.setdefault("deploymentReadyOption", {})
    ready.setdefault("actionOnTimeout", "CONTINUE_DEPLOYMENT")
    ready.setdefault("waitTimeInMinutes", 0)
    terminate = config.setdefault("terminateBlueInstancesOnDeploymentSuccess", {})
    terminate.setdefault("action", "TERMINATE")
    terminate.setdefault("terminationWaitTimeInMinutes", 0)
    return config


def _deployment_group_info(group: Any) -> dict[str, Any]:
    info = _original_deployment_group_info(group)
    info["blueGreenDeploymentConfiguration"] = blue_green_configuration(group)
    from moto.codedeploy.models import codedeploy_backends

    backend: Any = None
    mine: list[DeploymentInfo] = []
    if hasattr(group, "_sandbox_region"):
        backend = codedeploy_backends[group._sandbox_account][group._sandbox_region]
        mine = backend_rules.group_deployments(backend, group)
    if mine:
        last = max(mine, key=lambda d: d.create_time)
        info["lastAttemptedDeployment"] = _last_info(last)
        ok = backend_rules.last_successful(backend, group)
        info["lastSuccessfulDeployment"] = _last_info(ok) if ok else None
        info["targetRevision"] = (ok or last).revision
    else:
        info["lastAttemptedDeployment"] = None
        info["lastSuccessfulDeployment"] = None
        info["targetRevision"] = None
    info["alarmConfiguration"] = group.alarm_configuration if isinstance(group.alarm_configuration, dict) else None
    return info


def _last_info(d: DeploymentInfo) -> dict[str, Any]:
    return {
        "deploymentId": d.deployment_id,
        "status": d.status,
        "endTime": d.complete_time,
        "createTime": d.create_time,
    }


# ---- the actions moto lacks: parse the request, ask codedeploy_backend, serialise the answer ---------------
# Each takes the engine as its second argument; moto_ext.install() binds it.
def get_deployment_config(self: CodeDeployResponse, engine: Engine) -> ActionResult:
    config = backend_rules.find_config(self.codedeploy_backend, self._get_param("deploymentConfigName"))
    return ActionResult({"deploymentConfigInfo": config.info()})


def list_deployment_configs(self: CodeDeployResponse, engine: Engine) -> ActionResult:
    names = sorted([*BUILTIN, *backend_rules.custom_configs(self.codedeploy_backend)])
    return ActionResult({"deploymentConfigsList": names})


def create_deployment_config(self: CodeDeployResponse, engine: Engine) -> ActionResult:
    config = backend_rules.add_deployment_config(
        engine,
        self.codedeploy_backend,
        self._get_param("deploymentConfigName"),
        self._get_param("computePlatform") or "Server",
        self._get_param("trafficRoutingConfig"),
        self._get_param("minimumHealthyHosts"),
    )
    return ActionResult({"deploymentConfigId": config.config_id})


def delete_deployment_config(self: CodeDeployResponse, engine: Engine) -> EmptyResult:
    backend_rules.delete_deployment_config(engine, self.codedeploy_backend, self._get_param("deploymentConfigName"))
    return EmptyResult()


def list_deployment_targets(self: CodeDeployResponse, engine: Engine) -> ActionResult:
    filters = self._get_param("targetFilters") or {}
    statuses = set(filters["TargetStatus"]) if "TargetStatus" in filters else None
    ids = backend_rules.target_ids(engine, self.codedeploy_backend, self._get_param("deploymentId"), statuses)
    return ActionResult({"targetIds": ids})


def get_deployment_target(self: CodeDeployResponse, engine: Engine) -> ActionResult:
    found = backend_rules.targets(
        engine, self.codedeploy_backend, self._get_param("deploymentId"), [self._get_param("targetId")]
    )
    return ActionResult({"deploymentTarget": found[0]})


def batch_get_deployments(self: CodeDeployResponse, engine: Engine) -> ActionResult:
    found = backend_rules.batch_deployments(self.codedeploy_backend, self._get_param("deploymentIds"))
    return ActionResult({"deploymentsInfo": [_deployment_info(d) for d in found]})


def batch_get_deployment_targets(self: CodeDeployResponse, engine: Engine) -> ActionResult:
    found = backend_rules.targets(
        engine, self.codedeploy_backend, self._get_param("deploymentId"), self._get_param("targetIds") or []
    )
    return ActionResult({"deploymentTargets": found})


def stop_deployment(self: CodeDeployResponse, engine: Engine) -> ActionResult:
    auto = self._get_param("autoRollbackEnabled")
    backend_rules.stop_deployment(
        engine, self.codedeploy_backend, self._get_param("deploymentId"), None if auto is None else bool(auto)
    )
    return ActionResult({"status": "Pending", "statusMessage": "Stopping Active deployment"})


def continue_deployment(self: CodeDeployResponse, engine: Engine) -> EmptyResult:
    backend_rules.continue_deployment(
        engine,
        self.codedeploy_backend,
        self._get_param("deploymentId"),
        self._get_param("deploymentWaitType") or "READY_WAIT",
    )
    return EmptyResult()


def get_application_revision(self: CodeDeployResponse, engine: Engine) -> ActionResult:
    """GetApplicationRevision (API reference): the revision with its content, and revisionInfo."""
    app_name = self._get_param("applicationName")
    revision, info = backend_rules.application_revision(
        engine, self.codedeploy_backend, app_name, self._get_param("revision")
    )
    return ActionResult({"applicationName": app_name, "revision": revision, "revisionInfo": info})


# UpdateDeploymentGroup's request keys -> moto's DeploymentGroup attributes (ec2DeploymentOptions: not kept).
_GROUP_SETTINGS = {
    "deploymentConfigName": "deployment_config_name",
    "ec2TagFilters": "ec2_tag_filters",
    "onPremisesInstanceTagFilters": "on_premises_instance_tag_filters",
    "autoScalingGroups": "auto_scaling_groups",
    "serviceRoleArn": "service_role_arn",
    "triggerConfigurations": "trigger_configurations",
    "alarmConfiguration": "alarm_configuration",
    "autoRollbackConfiguration": "auto_rollback_configuration",
    "outdatedInstancesStrategy": "outdated_instances_strategy",
    "deploymentStyle": "deployment_style",
    "blueGreenDeploymentConfiguration": "blue_green_deployment_configuration",
    "loadBalancerInfo": "load_balancer_info",
    "ec2TagSet": "ec2_tag_set",
    "ecsServices": "ecs_services",
    "onPremisesTagSet": "on_premises_tag_set",
    "terminationHookEnabled": "termination_hook_enabled",
}


def update_deployment_group(self: CodeDeployResponse, engine: Engine) -> ActionResult:
    current = self._get_param("currentDeploymentGroupName")
    settings = {
        attribute: value for key, attribute in _GROUP_SETTINGS.items() if (value := self._get_param(key)) is not None
    }
    backend_rules.update_deployment_group(
        engine,
        self.codedeploy_backend,
        self._get_param("applicationName"),
        current,
        self._get_param("newDeploymentGroupName") or current,
        settings,
    )
    return ActionResult({"hooksNotCleanedUp": []})

"""Our extensions of moto 5.2.5's CodeDeploy and ECS backends and response classes.

moto has no plug-in point, so `install()` wraps or adds methods on moto's classes (not instances:
moto's reset re-creates backend instances from the same classes, and the patches stay).
Every moto internal we touch is listed in INTERNALS, MODEL_ATTRIBUTES and ADDED_ACTIONS;
tests/sandbox/test_moto_internals.py fails loudly when one of them changes in a new moto.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import math
import secrets
import string
from typing import Any

from moto.codedeploy import responses as cd_responses
from moto.codedeploy.exceptions import CodeDeployException, DeploymentGroupAlreadyExistsException
from moto.codedeploy.models import CodeDeployBackend, DeploymentInfo
from moto.codedeploy.responses import CodeDeployResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.ecs.exceptions import InvalidParameterException
from moto.ecs.models import EC2ContainerServiceBackend, Service, TaskSet

from orchestrator.sandbox.deployment_configs import BUILTIN, ECS_DEFAULT, DeploymentConfig
from orchestrator.sandbox.engine import ACTIVE_STATUSES, ENGINE, LOCK
from orchestrator.sandbox.engine_ecs import set_task_set_counts, utcnow
from orchestrator.sandbox.faults import FAULTS
from orchestrator.sandbox.hooks_api import put_lifecycle_event_hook_execution_status  # noqa: F401 (ADDED_ACTIONS)

MOTO_VERSION = "5.2.5"

# moto internals we wrap, replace or call: dotted name -> the parameters we rely on (None: must exist).
# tests/sandbox/test_moto_internals.py checks them against an unpatched moto.
INTERNALS: dict[str, tuple[str, ...] | None] = {
    "moto.codedeploy.models.CodeDeployBackend.create_deployment": (
        "self",
        "application_name",
        "deployment_group_name",
        "revision",
        "deployment_config_name",
        "description",
        "ignore_application_stop_failures",
        "target_instances",
        "auto_rollback_configuration",
        "update_outdated_instances_only",
        "file_exists_behavior",
        "override_alarm_configuration",
    ),
    "moto.codedeploy.models.CodeDeployBackend.create_deployment_group": None,
    "moto.codedeploy.models.CodeDeployBackend._deployment_group_arn": (
        "self",
        "application_name",
        "deployment_group_name",
    ),
    "moto.utilities.tagging_service.TaggingService.copy_tags": ("self", "from_arn", "to_arn"),
    "moto.utilities.tagging_service.TaggingService.delete_all_tags_for_resource": ("self", "arn"),
    "moto.codedeploy.models.CodeDeployBackend.get_deployment_group": (
        "self",
        "application_name",
        "deployment_group_name",
    ),
    "moto.codedeploy.responses._deployment_info": ("deployment",),
    "moto.codedeploy.responses._deployment_group_info": ("deployment_group",),
    "moto.codedeploy.responses.CodeDeployResponse.codedeploy_backend": None,
    "moto.codedeploy.responses.CodeDeployResponse._get_param": None,
    "moto.ecs.models.EC2ContainerServiceBackend.create_service": None,
    "moto.ecs.models.EC2ContainerServiceBackend.update_service": ("self", "service_properties"),
    "moto.ecs.models.EC2ContainerServiceBackend.create_task_set": (
        "self",
        "service",
        "cluster_str",
        "task_definition",
        "external_id",
        "network_configuration",
        "load_balancers",
        "service_registries",
        "launch_type",
        "capacity_provider_strategy",
        "platform_version",
        "scale",
        "client_token",
        "tags",
    ),
    "moto.ecs.models.EC2ContainerServiceBackend.delete_task_set": ("self", "cluster", "service", "task_set"),
    "moto.ecs.models.EC2ContainerServiceBackend.update_service_primary_task_set": (
        "self",
        "cluster",
        "service",
        "primary_task_set",
    ),
    "moto.ecs.models.EC2ContainerServiceBackend._get_service": ("self", "cluster_str", "service_str"),
    "moto.ecs.models.EC2ContainerServiceBackend.describe_task_definition": ("self", "task_definition_str"),
    "moto.ecs.models.EC2ContainerServiceBackend._get_cluster": ("self", "name"),
    "moto.ecs.models.Service._validate_network": ("self", "nc"),
    "moto.ecs.models.Task.__init__": (
        "self",
        "cluster",
        "task_definition",
        "container_instance_arn",
        "resource_requirements",
        "backend",
        "group",
        "launch_type",
        "overrides",
        "started_by",
        "tags",
        "networking_configuration",
        "platform_version",
        "capacity_provider_name",
    ),
    "moto.elbv2.models.ELBv2Backend.modify_listener": (
        "self",
        "arn",
        "port",
        "protocol",
        "ssl_policy",
        "certificates",
        "actions",
    ),
    "moto.elbv2.models.ELBv2Backend.describe_listeners": ("self", "load_balancer_arn", "listener_arns"),
    "moto.elbv2.models.ELBv2Backend.describe_target_groups": (
        "self",
        "load_balancer_arn",
        "target_group_arns",
        "names",
    ),
    "moto.awslambda.models.LambdaBackend.get_function": ("self", "function_name_or_arn", "qualifier"),  # hooks.py
    "moto.cloudwatch.models.CloudWatchBackend.put_metric_alarm": None,  # alarms.py reads its `alarms`
    "moto.moto_server.threaded_moto_server.ThreadedMotoServer._server_entry": ("self",),
    "moto.moto_server.threaded_moto_server.ThreadedMotoServer.get_host_and_port": ("self",),
    "moto.moto_server.werkzeug_app.DomainDispatcherApplication.__init__": ("self", "create_app"),
    "moto.moto_server.werkzeug_app.create_backend_app": ("service",),
    "moto.moto_api._internal.models.moto_api_backend.reset": (),
}
# Attributes of moto's model objects the engine reads or writes, checked on real instances.
MODEL_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "DeploymentInfo": (
        "deployment_id",
        "application_name",
        "deployment_group_name",
        "deployment_group",
        "revision",
        "status",
        "create_time",
        "start_time",
        "complete_time",
        "deployment_overview",
        "creator",
        "deployment_status_messages",
        "instance_termination_wait_time_started",
        "auto_rollback_configuration",
        "deployment_config_name",
    ),
    "DeploymentGroup": (
        "application",
        "deployment_group_id",
        "deployment_group_name",
        "deployment_config_name",
        "ecs_services",
        "load_balancer_info",
        "blue_green_deployment_configuration",
        "auto_rollback_configuration",
        "deployment_style",
        "alarm_configuration",
        # UpdateDeploymentGroup sets these too (_GROUP_SETTINGS).
        "ec2_tag_filters",
        "on_premises_instance_tag_filters",
        "auto_scaling_groups",
        "service_role_arn",
        "trigger_configurations",
        "outdated_instances_strategy",
        "ec2_tag_set",
        "on_premises_tag_set",
        "termination_hook_enabled",
    ),
    "Service": (
        "name",
        "cluster_name",
        "arn",
        "task_sets",
        "events",
        "desired_count",
        "running_count",
        "pending_count",
        "deployment_controller",
        "load_balancers",
        "network_configuration",
        "platform_version",
        "launch_type",
        "task_definition",
    ),
    "TaskSet": (
        "id",
        "task_set_arn",
        "status",
        "load_balancers",
        "scale",
        "stabilityStatus",
        "stabilityStatusAt",
        "updatedAt",
        "task_definition",
    ),
    "FakeListener": ("arn", "default_actions"),
    "EC2ContainerServiceBackend": ("tasks", "services"),
    "CodeDeployBackend": ("deployment_groups", "tagger", "applications", "deployments"),
    "FakeAction": ("data",),
}
# CodeDeploy actions we add; moto must not have its own (ours would silently shadow it).
ADDED_ACTIONS = (
    "get_deployment_config",
    "list_deployment_configs",
    "create_deployment_config",
    "delete_deployment_config",
    "list_deployment_targets",
    "get_deployment_target",
    "batch_get_deployment_targets",
    "stop_deployment",
    "continue_deployment",
    "update_deployment_group",
    "put_lifecycle_event_hook_execution_status",  # hooks_api.py
    "get_application_revision",
)


# ---- exceptions with AWS's codes -------------------------------------------------------------------
class _CodeDeployError(CodeDeployException):
    """An error whose AWS code is the class name."""

    code = 400

    def __init__(self, message: str) -> None:
        super().__init__(type(self).__name__, message)


class DeploymentLimitExceededException(_CodeDeployError):
    pass


class DeploymentConfigDoesNotExistException(_CodeDeployError):
    pass


class DeploymentConfigAlreadyExistsException(_CodeDeployError):
    pass


class DeploymentConfigInUseException(_CodeDeployError):
    pass


class InvalidOperationException(_CodeDeployError):
    pass


class DeploymentAlreadyCompletedException(_CodeDeployError):
    pass


class DeploymentIsNotInReadyStateException(_CodeDeployError):
    pass


class DeploymentTargetDoesNotExistException(_CodeDeployError):
    pass


class DeploymentDoesNotExistException(_CodeDeployError):
    pass


class DeploymentIdRequiredException(_CodeDeployError):
    pass


class InvalidDeploymentWaitTypeException(_CodeDeployError):
    pass


class InvalidDeploymentConfigNameException(_CodeDeployError):
    pass


class InvalidTrafficRoutingConfigurationException(_CodeDeployError):
    pass


class InvalidComputePlatformException(_CodeDeployError):
    pass


class DeploymentNotStartedException(_CodeDeployError):
    pass


class ApplicationNameRequiredException(_CodeDeployError):
    pass


class ApplicationDoesNotExistException(_CodeDeployError):
    pass


class RevisionRequiredException(_CodeDeployError):
    pass


class RevisionDoesNotExistException(_CodeDeployError):
    pass


class InvalidRevisionException(_CodeDeployError):
    pass


# ---- helpers the engine calls ------------------------------------------------------------------------
def _custom_configs(backend: Any) -> dict[str, DeploymentConfig]:
    configs = getattr(backend, "_sandbox_deployment_configs", None)
    if configs is None:
        configs = {}
        backend._sandbox_deployment_configs = configs
    return configs


def find_config(backend: Any, name: str) -> DeploymentConfig:
    config = BUILTIN.get(name) or _custom_configs(backend).get(name)
    if config is None:
        raise DeploymentConfigDoesNotExistException(f"No deployment configuration found for name: {name}")
    return config


def _deployment_id() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "d-" + "".join(secrets.choice(alphabet) for _ in range(9))


def _rekey(backend: Any, old_id: str) -> DeploymentInfo:
    """moto names deployments with a UUID; AWS uses d-XXXXXXXXX."""
    deployment = backend.deployments.pop(old_id)
    deployment.deployment_id = _deployment_id()
    backend.deployments[deployment.deployment_id] = deployment
    return deployment


def create_rollback_deployment(backend: Any, failed: DeploymentInfo) -> DeploymentInfo:
    group = failed.deployment_group
    previous = _last_successful(backend, group, before=failed)
    revision = previous.revision if previous is not None else failed.revision
    old_id = _original_create_deployment(
        backend,
        application_name=failed.application_name,
        deployment_group_name=failed.deployment_group_name,
        revision=revision,
        # AWS reports ECSAllAtOnce for ECS rollbacks whatever the original's config (observed; the user
        # guide's "Redeploy and roll back a deployment" does not say).
        deployment_config_name=ECS_DEFAULT,
        description=f"Rollback of deployment {failed.deployment_id}",
    )
    rollback = _rekey(backend, old_id)
    rollback.creator = "codeDeployRollback"
    note_revision_used(backend, failed.application_name, revision)
    return rollback


def _group_deployments(backend: Any, group: Any) -> list[DeploymentInfo]:
    # By id: UpdateDeploymentGroup replaces the group object and may rename it; the id stays, as on AWS.
    return [
        d for d in backend.deployments.values() if d.deployment_group.deployment_group_id == group.deployment_group_id
    ]


def _last_successful(backend: Any, group: Any, before: DeploymentInfo | None = None) -> DeploymentInfo | None:
    done = [
        d
        for d in _group_deployments(backend, group)
        if d.status == "Succeeded" and (before is None or d.create_time < before.create_time)
    ]
    return max(done, key=lambda d: d.create_time) if done else None


# ---- application revisions ---------------------------------------------------------------------------
# CreateDeployment registers its revision with the application (RegisterApplicationRevision's API reference:
# "Registers with CodeDeploy a revision for the specified application"; a deployment of an unregistered
# revision registers it). Kept per backend: (application, revision key) -> record.
def without_content(revision: dict[str, Any] | None) -> dict[str, Any] | None:
    """A revision as GetDeployment reports it: appSpecContent.content null (API reference, RevisionLocation)."""
    if not revision:
        return revision
    out = copy.deepcopy(revision)
    if isinstance(out.get("appSpecContent"), dict):
        out["appSpecContent"]["content"] = None
    return out


def revision_key(revision: dict[str, Any] | None) -> str | None:
    """What identifies a revision: the sha256 of an AppSpecContent/String, else its location."""
    if not isinstance(revision, dict):
        return None
    kind = revision.get("revisionType")
    if kind in ("AppSpecContent", "String"):
        body = revision.get("appSpecContent" if kind == "AppSpecContent" else "string") or {}
        sha = body.get("sha256")
        if not sha and body.get("content") is not None:
            sha = hashlib.sha256(str(body["content"]).encode()).hexdigest()
        return f"{kind}:{sha}" if sha else None
    if kind == "S3":
        s3 = revision.get("s3Location") or {}
        return "S3:" + "/".join(str(s3.get(k) or "") for k in ("bucket", "key", "bundleType", "version", "eTag"))
    if kind == "GitHub":
        gh = revision.get("gitHubLocation") or {}
        return f"GitHub:{gh.get('repository')}@{gh.get('commitId')}"
    return None


def _revisions(backend: Any) -> dict[tuple[str, str], dict[str, Any]]:
    store = getattr(backend, "_sandbox_revisions", None)
    if store is None:
        store = {}
        backend._sandbox_revisions = store
    return store


def note_revision_used(backend: Any, application_name: str, revision: dict[str, Any] | None) -> None:
    key = revision_key(revision)
    if key is None or revision is None:
        return
    now = utcnow()
    record = _revisions(backend).setdefault(
        (application_name, key),
        {"revision": copy.deepcopy(revision), "registerTime": now, "firstUsedTime": now, "description": None},
    )
    record["lastUsedTime"] = now


# ---- CodeDeploy backend --------------------------------------------------------------------------------
_original_create_deployment = CodeDeployBackend.create_deployment
_original_create_deployment_group = CodeDeployBackend.create_deployment_group


@functools.wraps(_original_create_deployment)
def create_deployment(self: CodeDeployBackend, *args: Any, **kwargs: Any) -> str:
    bound = _bind(_original_create_deployment, self, *args, **kwargs)
    app_name, group_name = bound["application_name"], bound["deployment_group_name"]
    with LOCK:
        group = self.get_deployment_group(app_name, group_name) if app_name and group_name else None
        if group is None or group.application.compute_platform != "ECS":
            return str(_original_create_deployment(self, *args, **kwargs))
        for other in _group_deployments(self, group):
            if other.status in ACTIVE_STATUSES:
                raise DeploymentLimitExceededException(
                    f"The Deployment Group '{group_name}' already has an active Deployment '{other.deployment_id}'"
                )
        config_name = bound.get("deployment_config_name") or str(group.deployment_config_name)
        config = find_config(self, config_name)
        if config.compute_platform != "ECS":
            raise InvalidDeploymentConfigNameException(
                f"Deployment configuration {config_name} is not valid for the ECS compute platform."
            )
        previous = _last_successful(self, group)
        deployment = _rekey(self, _original_create_deployment(self, *args, **kwargs))
        deployment.deployment_config_name = config_name
        deployment.previous_revision = previous.revision if previous is not None else None  # type: ignore[attr-defined]
        note_revision_used(self, app_name, deployment.revision)
        ENGINE.begin(self, deployment, FAULTS.take_deployment_faults())
        return deployment.deployment_id


@functools.wraps(_original_create_deployment_group)
def create_deployment_group(self: CodeDeployBackend, *args: Any, **kwargs: Any) -> str:
    bound = _bind(_original_create_deployment_group, self, *args, **kwargs)
    app = self.applications.get(bound["application_name"])
    if app is not None and app.compute_platform == "ECS" and not bound.get("deployment_config_name"):
        bound["deployment_config_name"] = ECS_DEFAULT
    return str(_original_create_deployment_group(self, **bound))


def _bind(func: Any, self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    import inspect

    bound = inspect.signature(func).bind(self, *args, **kwargs)
    bound.apply_defaults()
    out = dict(bound.arguments)
    out.pop("self", None)
    return out


# ---- CodeDeploy responses ------------------------------------------------------------------------------
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
    info["revision"] = without_content(deployment.revision)
    info["previousRevision"] = without_content(getattr(deployment, "previous_revision", None))
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
        mine = _group_deployments(backend, group)
    if mine:
        last = max(mine, key=lambda d: d.create_time)
        info["lastAttemptedDeployment"] = _last_info(last)
        ok = _last_successful(backend, group)
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


def _get_deployment_or_raise(backend: Any, deployment_id: str | None) -> DeploymentInfo:
    if not deployment_id:
        raise DeploymentIdRequiredException("Deployment ID is required.")
    deployment = backend.deployments.get(deployment_id)
    if deployment is None:
        raise DeploymentDoesNotExistException(f"The deployment {deployment_id} could not be found.")
    return deployment


def get_deployment_config(self: CodeDeployResponse) -> ActionResult:
    name = self._get_param("deploymentConfigName")
    config = find_config(self.codedeploy_backend, name)
    return ActionResult({"deploymentConfigInfo": config.info()})


def list_deployment_configs(self: CodeDeployResponse) -> ActionResult:
    names = sorted([*BUILTIN, *_custom_configs(self.codedeploy_backend)])
    return ActionResult({"deploymentConfigsList": names})


def create_deployment_config(self: CodeDeployResponse) -> ActionResult:
    backend = self.codedeploy_backend
    name = self._get_param("deploymentConfigName")
    platform = self._get_param("computePlatform") or "Server"
    routing = self._get_param("trafficRoutingConfig")
    hosts = self._get_param("minimumHealthyHosts")
    if not name:
        raise InvalidDeploymentConfigNameException("Deployment config name is required.")
    if name in BUILTIN or name in _custom_configs(backend):
        raise DeploymentConfigAlreadyExistsException(f"A deployment configuration named {name} already exists.")
    if platform == "ECS":
        kind = (routing or {}).get("type", "AllAtOnce")
        body = (routing or {}).get(
            {"TimeBasedCanary": "timeBasedCanary", "TimeBasedLinear": "timeBasedLinear"}.get(kind, "")
        )
        if kind not in ("AllAtOnce", "TimeBasedCanary", "TimeBasedLinear") or (kind != "AllAtOnce" and not body):
            raise InvalidTrafficRoutingConfigurationException(
                "The traffic routing configuration is invalid for the ECS compute platform."
            )
        if hosts:
            raise InvalidComputePlatformException("minimumHealthyHosts cannot be set for the ECS compute platform.")
    with LOCK:
        config = DeploymentConfig(
            name=name, compute_platform=platform, traffic_routing=routing, minimum_healthy_hosts=hosts
        )
        _custom_configs(backend)[name] = config
    return ActionResult({"deploymentConfigId": config.config_id})


def delete_deployment_config(self: CodeDeployResponse) -> EmptyResult:
    backend = self.codedeploy_backend
    name = self._get_param("deploymentConfigName")
    if name in BUILTIN:
        raise InvalidOperationException("The default deployment configurations cannot be deleted.")
    with LOCK:
        _custom_configs(backend).pop(name, None)
    return EmptyResult()


def _started_or_raise(deployment: DeploymentInfo) -> None:
    # botocore model: Get/BatchGet/ListDeploymentTargets raise DeploymentNotStartedException
    # ("The specified deployment has not started") while the deployment is Created or Queued.
    if deployment.status in ("Created", "Queued"):
        raise DeploymentNotStartedException(f"The deployment {deployment.deployment_id} has not started.")


def list_deployment_targets(self: CodeDeployResponse) -> ActionResult:
    deployment = _get_deployment_or_raise(self.codedeploy_backend, self._get_param("deploymentId"))
    _started_or_raise(deployment)
    target = ENGINE.target_of(deployment.deployment_id)
    ids = [target["ecsTarget"]["targetId"]] if target else []
    wanted = {}
    for f in self._get_param("targetFilters") or {}:
        wanted[f] = set((self._get_param("targetFilters") or {})[f])
    if target and "TargetStatus" in wanted and target["ecsTarget"]["status"] not in wanted["TargetStatus"]:
        ids = []
    return ActionResult({"targetIds": ids})


def _targets(self: CodeDeployResponse, deployment_id: str | None, target_ids: list[str]) -> list[dict[str, Any]]:
    deployment = _get_deployment_or_raise(self.codedeploy_backend, deployment_id)
    _started_or_raise(deployment)
    target = ENGINE.target_of(deployment.deployment_id)
    out = []
    for target_id in target_ids:
        if target is None or target["ecsTarget"]["targetId"] != target_id:
            raise DeploymentTargetDoesNotExistException(
                f"The deployment target {target_id} does not exist in deployment {deployment.deployment_id}."
            )
        out.append(target)
    return out


def get_deployment_target(self: CodeDeployResponse) -> ActionResult:
    targets = _targets(self, self._get_param("deploymentId"), [self._get_param("targetId")])
    return ActionResult({"deploymentTarget": targets[0]})


def batch_get_deployment_targets(self: CodeDeployResponse) -> ActionResult:
    targets = _targets(self, self._get_param("deploymentId"), self._get_param("targetIds") or [])
    return ActionResult({"deploymentTargets": targets})


def stop_deployment(self: CodeDeployResponse) -> ActionResult:
    deployment = _get_deployment_or_raise(self.codedeploy_backend, self._get_param("deploymentId"))
    auto = self._get_param("autoRollbackEnabled")
    with LOCK:
        if deployment.status not in ACTIVE_STATUSES or deployment.deployment_id not in ENGINE.runs:
            raise DeploymentAlreadyCompletedException(f"Deployment {deployment.deployment_id} has already completed.")
        ENGINE.request_stop(deployment.deployment_id, None if auto is None else bool(auto))
    return ActionResult({"status": "Pending", "statusMessage": "Stopping Active deployment"})


def continue_deployment(self: CodeDeployResponse) -> EmptyResult:
    deployment = _get_deployment_or_raise(self.codedeploy_backend, self._get_param("deploymentId"))
    wait_type = self._get_param("deploymentWaitType") or "READY_WAIT"
    if wait_type not in ("READY_WAIT", "TERMINATION_WAIT"):
        raise InvalidDeploymentWaitTypeException(f"The wait type {wait_type} is invalid.")
    with LOCK:
        if deployment.status not in ACTIVE_STATUSES:
            raise DeploymentAlreadyCompletedException(f"Deployment {deployment.deployment_id} has already completed.")
        run = ENGINE.runs.get(deployment.deployment_id)
        if run is None or run.hold is None or run.hold.wait_type != wait_type:
            raise DeploymentIsNotInReadyStateException(
                f"The deployment {deployment.deployment_id} is not in a ready state for {wait_type}."
            )
        ENGINE.request_continue(deployment.deployment_id)
    return EmptyResult()


def get_application_revision(self: CodeDeployResponse) -> ActionResult:
    """GetApplicationRevision (API reference): the revision with its content, and revisionInfo."""
    backend = self.codedeploy_backend
    app_name = self._get_param("applicationName")
    revision = self._get_param("revision")
    if not app_name:
        raise ApplicationNameRequiredException("The name of the application is required.")
    if app_name not in backend.applications:
        raise ApplicationDoesNotExistException(f"No application found for name: {app_name}")
    if not revision:
        raise RevisionRequiredException("The revision is required.")
    key = revision_key(revision)
    if key is None:
        raise InvalidRevisionException("The revision is missing or its type is not valid.")
    with LOCK:
        record = _revisions(backend).get((app_name, key))
        if record is None:
            raise RevisionDoesNotExistException(f"No application revision found for name: {app_name}")
        groups = sorted(
            name
            for name, group in (backend.deployment_groups.get(app_name) or {}).items()
            if revision_key(_target_revision(backend, group)) == key
        )
        info = {
            "description": record["description"],
            "deploymentGroups": groups,
            "firstUsedTime": record["firstUsedTime"],
            "lastUsedTime": record["lastUsedTime"],
            "registerTime": record["registerTime"],
        }
        return ActionResult(
            {"applicationName": app_name, "revision": copy.deepcopy(record["revision"]), "revisionInfo": info}
        )


def _target_revision(backend: Any, group: Any) -> dict[str, Any] | None:
    """The group's current target revision, as GetDeploymentGroup's targetRevision reports it."""
    mine = _group_deployments(backend, group)
    if not mine:
        return None
    ok = _last_successful(backend, group)
    return (ok or max(mine, key=lambda d: d.create_time)).revision


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


def update_deployment_group(self: CodeDeployResponse) -> ActionResult:
    backend = self.codedeploy_backend
    app_name = self._get_param("applicationName")
    current = self._get_param("currentDeploymentGroupName")
    new_name = self._get_param("newDeploymentGroupName") or current
    with LOCK:
        group = backend.get_deployment_group(app_name, current)  # Application/DeploymentGroupDoesNotExist
        groups = backend.deployment_groups[app_name]
        if new_name != current and new_name in groups:
            raise DeploymentGroupAlreadyExistsException(f"Deployment group {new_name} already exists.")
        config_name = self._get_param("deploymentConfigName")
        if config_name is not None:
            config = find_config(backend, config_name)
            if config.compute_platform != group.application.compute_platform:
                raise InvalidDeploymentConfigNameException(
                    f"Deployment configuration {config_name} is not valid for the "
                    f"{group.application.compute_platform} compute platform."
                )
        # A new object, so deployments already running keep the settings they started with (as on AWS);
        # the next CreateDeployment finds this one. Omitted settings keep their value.
        updated = copy.copy(group)
        for key, attribute in _GROUP_SETTINGS.items():
            value = self._get_param(key)
            if value is not None:
                setattr(updated, attribute, value)
        updated.deployment_group_name = new_name
        # Same place in the listing, under the new name.
        backend.deployment_groups[app_name] = {
            (new_name if name == current else name): (updated if name == current else other)
            for name, other in groups.items()
        }
        if new_name != current:
            for deployment in _group_deployments(backend, group):
                deployment.deployment_group_name = new_name  # ListDeployments & co. follow the group
            old_arn = backend._deployment_group_arn(app_name, current)
            backend.tagger.copy_tags(old_arn, backend._deployment_group_arn(app_name, new_name))
            backend.tagger.delete_all_tags_for_resource(old_arn)
    return ActionResult({"hooksNotCleanedUp": []})


_original_get_deployment_group = CodeDeployBackend.get_deployment_group


def get_deployment_group(self: CodeDeployBackend, application_name: str, deployment_group_name: str) -> Any:
    group = _original_get_deployment_group(self, application_name, deployment_group_name)
    # Lets _deployment_group_info find the backend for lastAttemptedDeployment & co.
    group._sandbox_account, group._sandbox_region = self.account_id, self.region_name  # type: ignore[attr-defined]
    return group


# ---- ECS -----------------------------------------------------------------------------------------------
_original_create_service = EC2ContainerServiceBackend.create_service
_original_update_service = EC2ContainerServiceBackend.update_service


@functools.wraps(_original_create_service)
def create_service(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Any:
    service = _original_create_service(self, *args, **kwargs)
    if (service.deployment_controller or {}).get("type") == "CODE_DEPLOY" and service.task_definition:
        # AWS gives a CODE_DEPLOY service its first task set (PRIMARY, on the service's target group).
        task_set = self.create_task_set(
            service.name,
            service.cluster_name,
            service.task_definition,
            network_configuration=service.network_configuration or None,
            load_balancers=service.load_balancers,
            launch_type=service.launch_type,
            platform_version=service.platform_version,
            scale=None,
        )
        task_set.scale = {"value": 100.0, "unit": "PERCENT"}
        task_set.status = "PRIMARY"
        set_task_set_counts(task_set, service.desired_count, service.desired_count, stable=True)
        service.running_count = service.desired_count
        service.pending_count = 0
    return service


# What UpdateService refuses on a CODE_DEPLOY service ("create a new CodeDeploy deployment" instead).
_CODE_DEPLOY_REFUSED = {
    "task_definition": "Unable to update task definition",
    "network_configuration": "Unable to update network parameters",
    "platform_version": "Unable to update platform version",
    "load_balancers": "Unable to update load balancers",
    "force_new_deployment": "Unable to force a new deployment",
}


@functools.wraps(_original_update_service)
def update_service(self: EC2ContainerServiceBackend, service_properties: dict[str, Any]) -> Any:
    asked = [key for key in _CODE_DEPLOY_REFUSED if service_properties.get(key)]
    if asked:
        service = self._get_service(service_properties.get("cluster", "default"), service_properties["service"])
        if (service.deployment_controller or {}).get("type") == "CODE_DEPLOY":
            raise InvalidParameterException(
                f"{_CODE_DEPLOY_REFUSED[asked[0]]} on services with a CODE_DEPLOY deployment controller. "
                "Use AWS CodeDeploy to trigger a new deployment."
            )
    service = _original_update_service(self, service_properties)
    if service_properties.get("desired_count") is not None:
        # A task set's computedDesiredCount is the service's desiredCount times its scale (ECS API
        # reference, TaskSet.computedDesiredCount); the sandbox's tasks start at once.
        with LOCK:
            for task_set in service.task_sets:
                scale = float((task_set.scale or {}).get("value", 100.0)) if task_set.status != "DRAINING" else 0.0
                count = math.ceil(service.desired_count * scale / 100.0)
                set_task_set_counts(task_set, count, count, stable=True)
            service.running_count, service.pending_count = service.desired_count, 0
    return service


_original_validate_network = Service._validate_network


def _validate_network(self: Service, nc: dict[str, Any]) -> Any:
    awsvpc = nc.get("awsvpcConfiguration") or {}
    if "securityGroups" in awsvpc:
        return _original_validate_network(self, nc)
    # AWS falls back to the VPC's default security group; moto's check needs the key (KeyError otherwise).
    _original_validate_network(self, {**nc, "awsvpcConfiguration": {**awsvpc, "securityGroups": []}})
    return nc


_installed = False


def install() -> None:
    """Apply the patches once per process."""
    global _installed
    if _installed:
        return
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(f"the sandbox engine extends moto {MOTO_VERSION}, found moto {moto.__version__}")
    CodeDeployBackend.create_deployment = create_deployment  # type: ignore[method-assign]
    CodeDeployBackend.create_deployment_group = create_deployment_group  # type: ignore[method-assign]
    CodeDeployBackend.get_deployment_group = get_deployment_group  # type: ignore[method-assign]
    cd_responses._deployment_info = _deployment_info
    cd_responses._deployment_group_info = _deployment_group_info  # type: ignore[assignment]
    for name in ADDED_ACTIONS:
        setattr(CodeDeployResponse, name, globals()[name])
    EC2ContainerServiceBackend.create_service = create_service  # type: ignore[method-assign]
    EC2ContainerServiceBackend.update_service = update_service  # type: ignore[method-assign]
    Service._validate_network = _validate_network  # type: ignore[method-assign]
    # Task sets report their counts (AWS fills these; moto does not).
    TaskSet.computed_desired_count = 0  # type: ignore[attr-defined]
    TaskSet.running_count = 0  # type: ignore[attr-defined]
    TaskSet.pending_count = 0  # type: ignore[attr-defined]
    _installed = True

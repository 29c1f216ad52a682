"""Our extensions of moto 5.2.5's CodeDeploy and ECS backends and response classes.

moto has no plug-in point, so `install(engine)` wraps or adds methods on moto's classes (not instances:
moto's reset re-creates backend instances from the same classes, and the patches stay). This module
only patches: the state and rules are in codedeploy_backend.py and ecs_backend.py, the wire format in
codedeploy_responses.py and hooks_api.py; the engine is handed to them here, as an argument.
Every moto internal we touch is listed in INTERNALS, MODEL_ATTRIBUTES and ADDED_ACTIONS;
tests/sandbox/test_moto_internals.py fails loudly when one of them changes in a new moto.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from moto.codedeploy import responses as cd_responses
from moto.codedeploy.models import CodeDeployBackend
from moto.codedeploy.responses import CodeDeployResponse
from moto.ecs.models import EC2ContainerServiceBackend, Service, TaskSet

from orchestrator.sandbox import codedeploy_backend, codedeploy_responses, ecs_backend, hooks_api

if TYPE_CHECKING:
    from orchestrator.sandbox.engine import Engine

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


def _with_engine(func: Callable[..., Any], engine: Engine) -> Callable[..., Any]:
    """A method for moto's class that calls `func(self, engine, ...)`."""

    @functools.wraps(func)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return func(self, engine, *args, **kwargs)

    return method


_installed = False


def install(engine: Engine) -> None:
    """Apply the patches once per process, bound to `engine` (the process's one engine)."""
    global _installed
    if _installed:
        return
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(f"the sandbox engine extends moto {MOTO_VERSION}, found moto {moto.__version__}")
    CodeDeployBackend.create_deployment = _with_engine(codedeploy_backend.create_deployment, engine)  # type: ignore[method-assign]
    CodeDeployBackend.create_deployment_group = codedeploy_backend.create_deployment_group  # type: ignore[method-assign]
    CodeDeployBackend.get_deployment_group = codedeploy_backend.get_deployment_group  # type: ignore[method-assign]
    # moto's BatchGetDeployments has no limits or required ids: ours has the API reference's.
    CodeDeployResponse.batch_get_deployments = _with_engine(codedeploy_responses.batch_get_deployments, engine)  # type: ignore[method-assign]
    cd_responses._deployment_info = codedeploy_responses._deployment_info
    cd_responses._deployment_group_info = codedeploy_responses._deployment_group_info  # type: ignore[assignment]
    for name in ADDED_ACTIONS:
        module = hooks_api if name == "put_lifecycle_event_hook_execution_status" else codedeploy_responses
        setattr(CodeDeployResponse, name, _with_engine(getattr(module, name), engine))
    EC2ContainerServiceBackend.create_service = ecs_backend.create_service  # type: ignore[method-assign]
    EC2ContainerServiceBackend.update_service = _with_engine(ecs_backend.update_service, engine)  # type: ignore[method-assign]
    Service._validate_network = ecs_backend._validate_network  # type: ignore[method-assign]
    # Task sets report their counts (AWS fills these; moto does not).
    TaskSet.computed_desired_count = 0  # type: ignore[attr-defined]
    TaskSet.running_count = 0  # type: ignore[attr-defined]
    TaskSet.pending_count = 0  # type: ignore[attr-defined]
    _installed = True

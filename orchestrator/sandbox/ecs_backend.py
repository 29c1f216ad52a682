"""The sandbox's ECS rules on top of moto's EC2ContainerServiceBackend: a CODE_DEPLOY service's first task
set, what UpdateService refuses on it, task set counts, and AWS's default security group.
moto_ext.install() binds these (update_service with the engine, for its lock)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from moto.ecs.exceptions import InvalidParameterException
from moto.ecs.models import EC2ContainerServiceBackend, Service

from orchestrator.sandbox import service_tasks
from orchestrator.sandbox.engine_ecs import set_task_set_counts

if TYPE_CHECKING:
    from orchestrator.sandbox.engine import Engine

# moto's own methods, taken before moto_ext.install() replaces them.
_original_create_service = EC2ContainerServiceBackend.create_service
_original_update_service = EC2ContainerServiceBackend.update_service
_original_validate_network = Service._validate_network


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
        service_tasks.launch(self, service_tasks.placement_of(service, task_set), service.desired_count)
    elif (service.deployment_controller or {}).get("type", "ECS") == "ECS":
        # A rolling service: the scheduler starts desiredCount tasks of its primary deployment.
        placement = service_tasks.placement_of_service(service)
        if placement is not None:
            service_tasks.launch(self, placement, service.desired_count)
    return service


# What UpdateService refuses on a CODE_DEPLOY service ("create a new CodeDeploy deployment" instead).
_CODE_DEPLOY_REFUSED = {
    "task_definition": "Unable to update task definition",
    "network_configuration": "Unable to update network parameters",
    "platform_version": "Unable to update platform version",
    "load_balancers": "Unable to update load balancers",
    "force_new_deployment": "Unable to force a new deployment",
}


def update_service(self: EC2ContainerServiceBackend, engine: Engine, service_properties: dict[str, Any]) -> Any:
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
        with engine.lock:
            for task_set in service.task_sets:
                scale = float((task_set.scale or {}).get("value", 100.0)) if task_set.status != "DRAINING" else 0.0
                count = math.ceil(service.desired_count * scale / 100.0)
                set_task_set_counts(task_set, count, count, stable=True)
                placement = service_tasks.placement_of(service, task_set)
                service_tasks.scale(self, placement, count, service_tasks.SCALED_IN.format(deployment=task_set.id))
            service.running_count, service.pending_count = service.desired_count, 0
            rolling = service_tasks.placement_of_service(service) if not service.task_sets else None
            if rolling is not None:  # a rolling service's tasks follow its desired count
                reason = service_tasks.SCALED_IN.format(deployment=rolling.started_by)
                service_tasks.scale(self, rolling, service.desired_count, reason)
    return service


def _validate_network(self: Service, nc: dict[str, Any]) -> Any:
    awsvpc = nc.get("awsvpcConfiguration") or {}
    if "securityGroups" in awsvpc:
        return _original_validate_network(self, nc)
    # AWS falls back to the VPC's default security group; moto's check needs the key (KeyError otherwise).
    _original_validate_network(self, {**nc, "awsvpcConfiguration": {**awsvpc, "securityGroups": []}})
    return nc

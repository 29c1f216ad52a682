"""UpdateService that changes a service's deployment controller in place: CODE_DEPLOY (or EXTERNAL) -> ECS.

What AWS documents and the sandbox does (ECS developer guide, "Migrating from a CodeDeploy blue/green to
an Amazon ECS blue/green service deployment" and "Troubleshooting Amazon ECS deployment strategy
updates"):
- more than one task set: refused, "Updating the deployment controller is not supported when there are
  multiple tasksets in the service. Please ensure your service has only one taskset and try again.";
- no PRIMARY task set: refused, "Updating the deployment controller requires a primary taskset in the
  service. Please ensure your service has a primary taskset and try again.";
- the new deploymentConfiguration and advancedConfiguration are checked as for any ECS-controller
  service (ecs_deployments.api), before anything changes.

The sandbox's choices (not documented): both refusals are InvalidParameterException (the guide gives the
messages, not the exception); the switch adopts the primary task set's revision as the service's current
service revision (a SUCCESSFUL service deployment whose reason says so, on the target group the request
names as primary — ECS does not check the rules' weights, containers-roadmap #2853), removes the task
sets, and then the request's new load balancer configuration starts a service deployment from that
revision as any UpdateService would; a switch *to* CODE_DEPLOY or EXTERNAL from ECS is refused, since
AWS documents no such in-place move (docs/migration.md, "The way back").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from moto.ecs.exceptions import InvalidParameterException

from orchestrator.sandbox.ecs_deployments import api, records
from orchestrator.sandbox.ecs_deployments.config import TRAFFIC_STRATEGIES

if TYPE_CHECKING:
    from orchestrator.sandbox.engine import Engine

MULTIPLE_TASK_SETS = (
    "Updating the deployment controller is not supported when there are multiple tasksets in the service. "
    "Please ensure your service has only one taskset and try again."
)
NO_PRIMARY_TASK_SET = (
    "Updating the deployment controller requires a primary taskset in the service. "
    "Please ensure your service has a primary taskset and try again."
)
TO_OTHER_CONTROLLER = (
    "The sandbox does not switch an ECS-controller service to {controller} in place: AWS documents no such "
    "update (docs/migration.md, The way back)."
)


def _current(service: Any) -> str:
    return str((getattr(service, "deployment_controller", None) or {}).get("type", "ECS"))


def _refusal(service: Any, wanted: str) -> str | None:
    if wanted != "ECS":
        return TO_OTHER_CONTROLLER.format(controller=wanted)
    sets = list(service.task_sets or [])
    if len(sets) > 1:
        return MULTIPLE_TASK_SETS
    if not any(getattr(ts, "status", "") == "PRIMARY" for ts in sets):
        return NO_PRIMARY_TASK_SET
    return None


def _adopt(backend: Any, service: Any, config: dict[str, Any], primary_tg: str | None, prod_rule: str | None) -> None:
    """The primary task set's revision becomes the service's current revision; the task sets go."""
    primary = next(ts for ts in service.task_sets if getattr(ts, "status", "") == "PRIMARY")
    service.task_definition = primary.task_definition
    revision = records.new_revision(backend, service, backend.describe_task_definition(primary.task_definition))
    records.set_target_group(revision, primary_tg, prod_rule)
    dep = records.Deployment(
        arn=records.deployment_arn(service),
        service_arn=service.arn,
        cluster_arn=service.cluster_arn,
        cluster=service.cluster_name,
        service=service.name,
        target=revision["serviceRevisionArn"],
        sources=[],
        config=config,
        status="SUCCESSFUL",
        status_reason=f"Deployment controller updated from {_current(service)} to ECS; task set {primary.id} adopted.",
    )
    dep.started_at = dep.finished_at = dep.created_at
    dep.counts[dep.target] = {"requested": service.desired_count, "running": service.desired_count, "pending": 0}
    if config["strategy"] in TRAFFIC_STRATEGIES:
        dep.prod_weights[dep.target] = dep.test_weights[dep.target] = 100.0
    records.store(backend).deployments[dep.arn] = dep
    service.current_service_deployment = dep.arn
    # The task set's tasks are the adopted revision's now (DescribeServices' currentServiceRevisions).
    service.current_service_revisions = [
        {
            "arn": dep.target,
            "requestedTaskCount": service.desired_count,
            "runningTaskCount": primary.running_count,
            "pendingTaskCount": 0,
        }
    ]
    service.task_sets = []
    service.deployment_controller = {"type": "ECS"}


def update_service(inner: Any, engine: Engine) -> Any:
    """Wraps ecs_deployments.api's UpdateService: a controller change is checked and prepared here."""

    def method(self: Any) -> Any:
        params = self._get_params()
        wanted = (params.get("deploymentController") or {}).get("type")
        backend = self.ecs_backend
        service = backend._get_service(params.get("cluster", "default"), params["service"])
        if not wanted or wanted == _current(service):
            return inner(self)
        problem = _refusal(service, str(wanted))
        if problem:
            raise InvalidParameterException(problem)
        config = api._checked(backend, params, service)  # the new configuration and wiring, before any change
        assert config is not None  # wanted == "ECS"
        lb = next(iter(params.get("loadBalancers") or []), None)
        # One step under the engine's (re-entrant) lock: nobody reads the service between the adoption and
        # the start of the deployment.
        with engine.lock:
            primary_tg = lb.get("targetGroupArn") if lb else None
            prod_rule = (lb.get("advancedConfiguration") or {}).get("productionListenerRule") if lb else None
            _adopt(backend, service, config, primary_tg, prod_rule)
            return inner(self)

    return method

"""UpdateService(deploymentController=ECS) on a CODE_DEPLOY service: the in-place migration.

ECS developer guide, "Migrating from a CodeDeploy blue/green to an Amazon ECS blue/green service
deployment" (prerequisites): turn off CodeDeploy's automation; reuse the production and test target
groups and the production (and test) rules; "Confirm that the service has no service deployment in
progress"; the target groups must be associated with the listener rules, or "the service deployment
fails with the following error: Service deployment rolled back because of invalid networking
configuration. Both targetGroup and alternateTargetGroup must be associated with the
productionListenerRule or testListenerRule." (walk.py checks that when the deployment starts). Issue 22
adds what the AWS Containers blog states: exactly one task set, PRIMARY.

What the sandbox does (the guide does not describe the service's state between the switch and the first
deployment): refuses while a CodeDeploy deployment of the service runs or unless exactly one PRIMARY task
set exists (InvalidParameterException, the sandbox's wording); otherwise the PRIMARY task set becomes the
source service revision (its task definition and target group), the task sets go (ECS runs the service's
tasks itself from now on), and the new configuration's revision is deployed by a service deployment like
any other. ECS -> CODE_DEPLOY (or EXTERNAL) is not documented as an in-place change: refused.
"""

from __future__ import annotations

from typing import Any

from moto.ecs.exceptions import InvalidParameterException

from orchestrator.sandbox.ecs_deployments import records, service_state


def check(engine: Any, service: Any, wanted: str) -> None:
    """Refuse (before any write) a controller change the sandbox does not allow."""
    current = (service.deployment_controller or {}).get("type", "ECS")
    if not (current == "CODE_DEPLOY" and wanted == "ECS"):
        raise InvalidParameterException(
            f"Updating the deployment controller from {current} to {wanted} is not supported here: AWS documents "
            "the in-place change from CODE_DEPLOY to ECS only."
        )
    for run in list(engine.runs.values()):
        targets = run.deployment.deployment_group.ecs_services or []
        if not run.done and any(
            t.get("serviceName") == service.name and t.get("clusterName") == service.cluster_name for t in targets
        ):
            raise InvalidParameterException(
                f"The service {service.name} has a CodeDeploy deployment in progress ({run.deployment.deployment_id}); "
                "the deployment controller can change when no deployment is in progress."
            )
    primaries = [ts for ts in service.task_sets if ts.status == "PRIMARY"]
    if len(service.task_sets) != 1 or len(primaries) != 1:
        raise InvalidParameterException(
            f"The service {service.name} has {len(service.task_sets)} task sets "
            f"({', '.join(ts.status for ts in service.task_sets) or 'none'}); the deployment controller can change "
            "when exactly one task set, PRIMARY, serves the service."
        )


def adopt(backend: Any, service: Any, prod_rule: str | None) -> str:
    """The PRIMARY task set as the source service revision; the task sets removed. Its ARN."""
    task_set = next(ts for ts in service.task_sets if ts.status == "PRIMARY")
    td = backend.describe_task_definition(task_set.task_definition)
    revision = records.new_revision(backend, service, td)
    revision["loadBalancers"] = [dict(lb) for lb in task_set.load_balancers] or None
    tg = task_set.load_balancers[0].get("targetGroupArn") if task_set.load_balancers else None
    records.set_target_group(revision, tg, prod_rule)
    for ts in list(service.task_sets):
        backend.delete_task_set(service.cluster_name, service.name, ts.task_set_arn)
    service.deployments[:] = []
    service_state.start(service, td.arn)
    service_state.finish(service, td.arn)
    return str(revision["serviceRevisionArn"])

"""A deployment group's history, made at once: N finished deployments with their revisions.

A benchmark measures what a release costs with 1 and with 500 deployments in the group's history; running
500 deployments through the engine's clock would take hours. `seed` makes them directly, as AWS would hold
them after N successful releases: for each, a task definition revision of the service's family (the live
one's, its containers' images tagged `sandbox-history-<n>`), its AppSpec (the AppSpecContent revision
registered with the application, as CreateDeployment registers it), and a `Succeeded` CodeDeploy deployment
created, started and completed in the past (one every `SPACING`, the newest `SPACING` ago), its
`previousRevision` the one before. The newest seeded deployment deploys the service's live task
definition, so that the history ends where the service is. The engine never runs them.
"""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, timedelta
from typing import Any

from orchestrator.sandbox.codedeploy_backend import (
    ACTIVE_STATUSES,
    group_deployments,
    last_successful,
    note_revision_used,
    record_deployment,
    revision_key,
    revisions,
)
from orchestrator.sandbox.engine_ecs import utcnow

MAX_SEEDED = 5000  # per call; a real group keeps every deployment, the sandbox keeps them in memory
SPACING = timedelta(minutes=30)  # between two seeded deployments (the sandbox's choice)
DURATION = timedelta(minutes=7)  # of each (a blue/green deployment with a 5-minute termination wait)


class HistoryError(ValueError):
    """A bad seed request (the control endpoint answers HTTP 400)."""


def _find_group(group_name: str) -> tuple[Any, Any]:
    """(CodeDeploy backend, deployment group) of the group named, in any account and region."""
    from moto.codedeploy.models import codedeploy_backends

    for _, _, backend in codedeploy_backends.iter_backends():
        for groups in backend.deployment_groups.values():  # type: ignore[attr-defined]
            if group_name in groups:
                return backend, groups[group_name]
    raise HistoryError(f"no deployment group {group_name!r} in the sandbox")


def _register(ecs: Any, live: Any, n: int) -> Any:
    """A revision of the live task definition's family, its images tagged for history entry n."""
    containers = copy.deepcopy(list(live.container_definitions))
    for container in containers:
        image = str(container.get("image") or "")
        base = image.split("@", 1)[0]
        repository = base.rsplit(":", 1)[0] if ":" in base.rsplit("/", 1)[-1] else base
        container["image"] = f"{repository}:sandbox-history-{n}"
    return ecs.register_task_definition(
        family=live.family,
        container_definitions=containers,
        volumes=live.volumes,
        network_mode=live.network_mode,
        requires_compatibilities=live.requires_compatibilities,
        cpu=live.cpu,
        memory=live.memory,
        task_role_arn=getattr(live, "task_role_arn", None),
        execution_role_arn=getattr(live, "execution_role_arn", None),
    )


def _revision(task_definition_arn: str, load_balancer: dict[str, Any]) -> dict[str, Any]:
    spec = {
        "version": 0.0,
        "Resources": [
            {
                "TargetService": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {
                        "TaskDefinition": task_definition_arn,
                        "LoadBalancerInfo": {
                            "ContainerName": load_balancer.get("containerName"),
                            "ContainerPort": load_balancer.get("containerPort"),
                        },
                    },
                }
            }
        ],
    }
    content = json.dumps(spec)
    sha = hashlib.sha256(content.encode()).hexdigest()
    return {"revisionType": "AppSpecContent", "appSpecContent": {"content": content, "sha256": sha}}


def seed(group_name: str, count: Any) -> dict[str, Any]:
    """Add `count` finished deployments to the group's history (under the engine's LOCK)."""
    from moto.ecs.models import ecs_backends

    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SEEDED:
        raise HistoryError(f"count must be a whole number from 1 to {MAX_SEEDED}")
    backend, group = _find_group(group_name)
    if group.application.compute_platform != "ECS" or not group.ecs_services:
        raise HistoryError(f"deployment group {group_name!r} is not an ECS blue/green group")
    if any(d.status in ACTIVE_STATUSES for d in group_deployments(backend, group)):
        raise HistoryError(f"deployment group {group_name!r} has an active deployment: seed it when none runs")
    ecs = ecs_backends[backend.account_id][backend.region_name]
    target = group.ecs_services[0]
    service = ecs._get_service(target["clusterName"], target["serviceName"])
    live = ecs.describe_task_definition(str(service.task_definition))
    load_balancer = dict((service.load_balancers or [{}])[0])
    now = utcnow()
    previous = last_successful(backend, group)
    made: list[str] = []
    for n in range(1, count + 1):
        arn = live.arn if n == count else _register(ecs, live, n).arn
        revision = _revision(arn, load_balancer)
        created = now - SPACING * (count - n + 1)
        deployment = record_deployment(
            backend,
            group.application.application_name,
            group.deployment_group_name,
            revision,
            str(group.deployment_config_name),
            f"sandbox history {n}/{count}",
        )
        _finish(deployment, created, previous)
        _note(backend, group.application.application_name, revision, created)
        previous = deployment
        made.append(deployment.deployment_id)
    return {"group": group_name, "seeded": len(made), "first": made[0], "last": made[-1]}


def _finish(deployment: Any, created: Any, previous: Any) -> None:
    own = getattr(deployment, "create_time", None)
    if own is not None and getattr(own, "tzinfo", None) is None and created.tzinfo is not None:
        # moto compares ListDeployments' createTimeRange with its own (naive UTC) times: keep them alike.
        created = created.astimezone(UTC).replace(tzinfo=None)
    deployment.create_time = created
    deployment.start_time = created + timedelta(seconds=3)
    deployment.complete_time = created + DURATION
    deployment.status = "Succeeded"
    deployment.deployment_overview = {"Pending": 0, "InProgress": 0, "Succeeded": 1, "Failed": 0, "Skipped": 0}
    deployment.deployment_overview["Ready"] = 0
    deployment.previous_revision = previous.revision if previous is not None else None
    deployment.instance_termination_wait_time_started = True


def _note(backend: Any, application: str, revision: dict[str, Any], created: Any) -> None:
    """The revision registered with the application when its deployment was created (in the past)."""
    note_revision_used(backend, application, revision)
    record = revisions(backend)[(application, str(revision_key(revision)))]
    record["lastUsedTime"] = created
    if record["firstUsedTime"] > created:
        record["registerTime"] = record["firstUsedTime"] = created


def control(method: str, payload: dict[str, Any]) -> tuple[str, Any]:
    """/_sandbox/history: POST {"group": NAME, "count": N} seeds N finished deployments."""
    if method != "POST":
        return "405", {"error": f"{method} not allowed on /_sandbox/history"}
    return "200", seed(str(payload.get("group") or ""), payload.get("count"))

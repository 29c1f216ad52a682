"""The deployment group's history as typed records: what each deployment ran and how it ended.

CodeDeploy knows each deployment's status, creator, times, rollback links and revision (the AppSpec,
which names the task definition). The image comes from the task definition; the git SHA from the
description the release writes (`key=value` tokens, `git=<sha> image=<uri>`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.contract import ServiceOutputs

from orchestrator.appspec import service_properties
from orchestrator.aws import error_code
from orchestrator.clock import utc_iso
from orchestrator.description import DeploymentDescription
from orchestrator.engines.codedeploy.vocabulary import ACTIVE as ACTIVE_STATUSES
from orchestrator.engines.codedeploy.vocabulary import ROLLBACK_CREATORS
from orchestrator.revisions import appspec_document, revision_sha256


def appspec_target(doc: dict[str, Any] | None) -> tuple[str | None, str | None, int | None]:
    """(task definition, container name, container port) of the AppSpec's ECS service resource."""

    props = service_properties(doc)
    if not props:
        return None, None, None
    lb = props.get("LoadBalancerInfo") or {}
    port = lb.get("ContainerPort")
    return (
        props.get("TaskDefinition"),
        lb.get("ContainerName"),
        int(port) if isinstance(port, int | str) and str(port).isdigit() else None,
    )


@dataclass(frozen=True)
class DeploymentRecord:
    deployment_id: str
    status: str
    creator: str  # user | autoRollback | ...
    description: str = ""
    config: str = ""
    task_definition: str | None = None
    image: str | None = None
    git_sha: str | None = None
    appspec_sha256: str | None = None
    created: datetime | None = None
    started: datetime | None = None
    completed: datetime | None = None
    error: str = ""
    rollback_of: str | None = None  # this deployment rolls back that one
    rolled_back_by: str | None = None  # that deployment rolled this one back
    inferred: tuple[str, ...] = field(default=())  # fields filled from neighbours, not from the record
    origin: str = (
        ""  # user | autoRollback (after a failure) | alarmRollback | stopRollback (stop with rollback) | creator
    )

    @property
    def is_rollback(self) -> bool:
        return self.creator in ROLLBACK_CREATORS or self.rollback_of is not None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def duration_s(self) -> float | None:
        begin = self.started or self.created
        if begin is None or self.completed is None:
            return None
        return max(0.0, (self.completed - begin).total_seconds())

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment_id": self.deployment_id,
            "status": self.status,
            "creator": self.creator,
            "origin": self.origin or self.creator,
            "task_definition": self.task_definition,
            "image": self.image,
            "git_sha": self.git_sha,
            "config": self.config,
            "created": _iso(self.created),
            "completed": _iso(self.completed),
            "duration_s": None if self.duration_s is None else round(self.duration_s, 1),
            "error": self.error,
            "rollback_of": self.rollback_of,
            "rolled_back_by": self.rolled_back_by,
            "description": self.description,
        }


def _iso(value: datetime | None) -> str | None:
    return utc_iso(value) if value else None


def record_of(aws: Aws, info: dict[str, Any]) -> DeploymentRecord:
    """A record from one `deploymentInfo`, its AppSpec read through GetApplicationRevision."""

    return record_from_info(info, appspec_document(aws, info))


def record_from_info(info: dict[str, Any], appspec: dict[str, Any] | None = None) -> DeploymentRecord:
    """A record from one `deploymentInfo` of get_deployment / batch_get_deployments, and its AppSpec
    (GetDeployment never carries the AppSpec text: see revisions.py)."""

    revision = info.get("revision")
    task_def, _, _ = appspec_target(appspec)
    rollback = info.get("rollbackInfo") or {}
    error = info.get("errorInformation") or {}
    error_text = ": ".join(x for x in (error.get("code"), error.get("message")) if x)
    description = info.get("description") or ""
    dep_id = info["deploymentId"]
    rolled_back_by = rollback.get("rollbackDeploymentId")
    rollback_of = rollback.get("rollbackTriggeringDeploymentId")
    # AWS fills rollbackDeploymentId on the original and rollbackTriggeringDeploymentId on the rollback.
    if rolled_back_by == dep_id:
        rolled_back_by = None
    if rollback_of == dep_id:
        rollback_of = None
    said = DeploymentDescription.parse(description)
    image = said.image
    return DeploymentRecord(
        deployment_id=dep_id,
        status=info.get("status", "Unknown"),
        creator=info.get("creator", ""),
        description=description,
        config=info.get("deploymentConfigName", ""),
        task_definition=task_def if task_def and task_def != "<TASK_DEFINITION>" else None,
        image=image,
        git_sha=said.git,
        appspec_sha256=revision_sha256(revision),
        created=info.get("createTime"),
        started=info.get("startTime"),
        completed=info.get("completeTime"),
        error=error_text,
        rollback_of=rollback_of,
        rolled_back_by=rolled_back_by,
    )


class TaskDefinitionImages:
    """Images of task definitions, described once each."""

    def __init__(self, aws: Aws, container_name: str) -> None:
        self.aws = aws
        self.container_name = container_name
        self._cache: dict[str, str | None] = {}

    def image(self, task_definition: str | None) -> str | None:
        if not task_definition:
            return None
        if task_definition not in self._cache:
            self._cache[task_definition] = self._describe(task_definition)
        return self._cache[task_definition]

    def _describe(self, task_definition: str) -> str | None:
        try:
            td = self.aws.client("ecs").describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
        except Exception as exc:
            if type(exc).__name__ == "ClientError":
                return None
            raise
        containers = td.get("containerDefinitions") or []
        chosen = next((c for c in containers if c.get("name") == self.container_name), None)
        chosen = chosen or (containers[0] if containers else None)
        return chosen.get("image") if chosen else None


def list_deployment_ids(aws: Aws, svc: ServiceOutputs, statuses: tuple[str, ...] | None = None) -> list[str]:
    cd = aws.client("codedeploy")
    kwargs: dict[str, Any] = {
        "applicationName": svc.codedeploy_app_name,
        "deploymentGroupName": svc.codedeploy_deployment_group_name,
    }
    if statuses:
        kwargs["includeOnlyStatuses"] = list(statuses)
    ids: list[str] = []
    for page in cd.get_paginator("list_deployments").paginate(**kwargs):
        ids.extend(page.get("deployments") or [])
    return ids


def get_records(aws: Aws, ids: list[str]) -> list[DeploymentRecord]:
    """Records for these ids, newest first (batch_get_deployments takes at most 25 at a time)."""

    cd = aws.client("codedeploy")
    infos: list[dict[str, Any]] = []
    for i in range(0, len(ids), 25):
        chunk = ids[i : i + 25]
        try:
            infos.extend(cd.batch_get_deployments(deploymentIds=chunk).get("deploymentsInfo") or [])
        except Exception as exc:
            # A role granted GetDeployment but not BatchGetDeployments: one call per deployment.
            if error_code(exc) not in ("AccessDenied", "AccessDeniedException"):
                raise
            infos.extend(cd.get_deployment(deploymentId=d)["deploymentInfo"] for d in chunk)
    records = [record_of(aws, info) for info in infos]
    return sorted(records, key=lambda r: r.created.timestamp() if r.created else 0.0, reverse=True)


def newest_records(aws: Aws, ids: list[str], count: int) -> list[DeploymentRecord]:
    """The `count` newest deployments among `ids`, newest first, without fetching them all.

    ListDeployments does not document its order (AWS lists newest first in practice): a long list is
    probed at both ends to see which end is newer, and only that end is fetched.
    """
    if count <= 0 or not ids:
        return []
    if len(ids) <= count + 25:
        return get_records(aws, ids)[:count]
    head, tail = get_records(aws, ids[:25]), get_records(aws, ids[-25:])

    def newest(records: list[DeploymentRecord]) -> float:
        return max((r.created.timestamp() for r in records if r.created), default=0.0)

    chosen = ids[: count + 25] if newest(head) >= newest(tail) else ids[-(count + 25) :]
    return get_records(aws, chosen)[:count]


def recent_records(aws: Aws, svc: ServiceOutputs, since: datetime, statuses: tuple[str, ...]) -> list[DeploymentRecord]:
    """The group's deployments with these statuses created since `since` (ListDeployments'
    createTimeRange: the lookup stops at `since`, whatever the history's length), newest first, from
    their deploymentInfo alone: image and git SHA come from the description, no AppSpec is read."""
    cd = aws.client("codedeploy")
    ids: list[str] = []
    pages = cd.get_paginator("list_deployments").paginate(
        applicationName=svc.codedeploy_app_name,
        deploymentGroupName=svc.codedeploy_deployment_group_name,
        includeOnlyStatuses=list(statuses),
        createTimeRange={"start": since},
    )
    for page in pages:
        ids.extend(page.get("deployments") or [])
    infos: list[dict[str, Any]] = []
    for i in range(0, len(ids), 25):
        infos.extend(cd.batch_get_deployments(deploymentIds=ids[i : i + 25]).get("deploymentsInfo") or [])
    records = [record_from_info(info) for info in infos]
    return sorted(records, key=lambda r: r.created.timestamp() if r.created else 0.0, reverse=True)


def load_history(aws: Aws, svc: ServiceOutputs, limit: int = 20, images: bool = True) -> list[DeploymentRecord]:
    """The group's most recent deployments, newest first, with rollback links (and images) filled in."""
    ids = list_deployment_ids(aws, svc)
    records = newest_records(aws, ids, limit)
    return complete(records, TaskDefinitionImages(aws, svc.container_name) if images else None)


def complete(records: list[DeploymentRecord], images: TaskDefinitionImages | None) -> list[DeploymentRecord]:
    """Fill what a record lacks from its neighbours: rollback links both ways, and a rollback's
    task definition (it redeploys what ran before the deployment it rolls back)."""
    by_id = {r.deployment_id: r for r in records}
    rolled_back_by = {r.rollback_of: r.deployment_id for r in records if r.rollback_of}
    rollback_of = {r.rolled_back_by: r.deployment_id for r in records if r.rolled_back_by}
    out: list[DeploymentRecord] = []
    oldest_first = list(reversed(records))
    for index, r in enumerate(oldest_first):
        changes: dict[str, Any] = {}
        inferred: list[str] = []
        if not r.rolled_back_by and r.deployment_id in rolled_back_by:
            changes["rolled_back_by"] = rolled_back_by[r.deployment_id]
        if not r.rollback_of and r.deployment_id in rollback_of:
            changes["rollback_of"] = rollback_of[r.deployment_id]
        target_of = changes.get("rollback_of") or r.rollback_of
        # A rollback whose revision names the very task definition it rolls back says nothing true
        # about what it restored (the sandbox does that when nothing succeeded before).
        contradictory = target_of in by_id and r.task_definition == by_id[target_of].task_definition
        if contradictory:
            changes.update(task_definition=None)
        if (r.task_definition is None or contradictory) and target_of in by_id:
            # What ran before the rolled-back deployment: the latest success older than it.
            before = by_id[target_of]
            prev = next(
                (
                    p
                    for p in reversed(oldest_first[:index])
                    if p.status == "Succeeded" and p.task_definition and _older(p, before)
                ),
                None,
            )
            if prev is not None:
                changes.update(task_definition=prev.task_definition, git_sha=r.git_sha or prev.git_sha)
                inferred += ["task_definition", "git_sha"]
        if target_of in by_id and (r.creator in ROLLBACK_CREATORS or target_of):
            # Why CodeDeploy rolled back: the deployment failed (auto-rollback), a CloudWatch alarm stopped it
            # (errorInformation ALARM_ACTIVE) or someone stopped it.
            rolled_back = by_id[target_of]
            if rolled_back.status == "Stopped" and rolled_back.error.startswith("ALARM_ACTIVE"):
                changes["origin"] = "alarmRollback"
            else:
                changes["origin"] = {"Failed": "autoRollback", "Stopped": "stopRollback"}.get(
                    rolled_back.status, r.creator
                )
        task_def = changes.get("task_definition", r.task_definition)
        if task_def and not r.image and images is not None:
            changes["image"] = images.image(task_def)
        if changes:
            from dataclasses import replace

            r = replace(r, **changes, inferred=tuple(inferred))
        out.append(r)
    return list(reversed(out))


def _older(a: DeploymentRecord, b: DeploymentRecord) -> bool:
    if a.created is None or b.created is None:
        return True
    return a.created < b.created


def active_deployment(aws: Aws, svc: ServiceOutputs) -> DeploymentRecord | None:
    """The deployment that holds the group now, if any (the newest when several are listed)."""
    ids = list_deployment_ids(aws, svc, ACTIVE_STATUSES)
    if not ids:
        return None
    records = [r for r in get_records(aws, ids) if r.active]
    return records[0] if records else None


def get_record(aws: Aws, deployment_id: str) -> DeploymentRecord:
    info = aws.client("codedeploy").get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    return record_of(aws, info)

"""The sandbox's CodeDeploy state and rules on top of moto's CodeDeployBackend (moto's models.py seam).

Deployment configs, AWS-style deployment ids, rollback deployments, application revisions, and the
rules of the actions moto lacks (stop, continue, targets, update group, configs). Parsing requests and
serialising answers is codedeploy_responses.py's. The engine is passed in by the caller (moto_ext.install
binds it); this module never imports engine.py.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import secrets
import string
from typing import TYPE_CHECKING, Any

from moto.codedeploy.exceptions import CodeDeployException, DeploymentGroupAlreadyExistsException
from moto.codedeploy.models import CodeDeployBackend, DeploymentInfo

from orchestrator.sandbox.consistency import deployments_seen
from orchestrator.sandbox.deployment_configs import BUILTIN, ECS_DEFAULT, DeploymentConfig
from orchestrator.sandbox.engine_ecs import utcnow
from orchestrator.sandbox.faults import FAULTS

if TYPE_CHECKING:
    from orchestrator.sandbox.engine import Engine

ACTIVE_STATUSES = frozenset({"Created", "Queued", "InProgress", "Baking", "Ready"})

# moto's own methods, taken before moto_ext.install() replaces them.
_original_create_deployment = CodeDeployBackend.create_deployment
_original_create_deployment_group = CodeDeployBackend.create_deployment_group
_original_get_deployment_group = CodeDeployBackend.get_deployment_group


# ---- exceptions with AWS's codes -------------------------------------------------------------------
class CodeDeployError(CodeDeployException):
    """An error whose AWS code is the class name."""

    code = 400

    def __init__(self, message: str) -> None:
        super().__init__(type(self).__name__, message)


class DeploymentLimitExceededException(CodeDeployError):
    pass


class BatchLimitExceededException(CodeDeployError):
    pass


class DeploymentTargetIdRequiredException(CodeDeployError):
    pass


class DeploymentTargetListSizeExceededException(CodeDeployError):
    pass


class DeploymentConfigDoesNotExistException(CodeDeployError):
    pass


class DeploymentConfigAlreadyExistsException(CodeDeployError):
    pass


class DeploymentConfigInUseException(CodeDeployError):
    pass


class InvalidOperationException(CodeDeployError):
    pass


class DeploymentAlreadyCompletedException(CodeDeployError):
    pass


class DeploymentIsNotInReadyStateException(CodeDeployError):
    pass


class DeploymentTargetDoesNotExistException(CodeDeployError):
    pass


class DeploymentDoesNotExistException(CodeDeployError):
    pass


class DeploymentIdRequiredException(CodeDeployError):
    pass


class InvalidDeploymentWaitTypeException(CodeDeployError):
    pass


class InvalidDeploymentConfigNameException(CodeDeployError):
    pass


class InvalidTrafficRoutingConfigurationException(CodeDeployError):
    pass


class InvalidComputePlatformException(CodeDeployError):
    pass


class DeploymentNotStartedException(CodeDeployError):
    pass


class ApplicationNameRequiredException(CodeDeployError):
    pass


class ApplicationDoesNotExistException(CodeDeployError):
    pass


class RevisionRequiredException(CodeDeployError):
    pass


class RevisionDoesNotExistException(CodeDeployError):
    pass


class InvalidRevisionException(CodeDeployError):
    pass


# ---- helpers the engine calls ------------------------------------------------------------------------
def custom_configs(backend: Any) -> dict[str, DeploymentConfig]:
    configs = getattr(backend, "_sandbox_deployment_configs", None)
    if configs is None:
        configs = {}
        backend._sandbox_deployment_configs = configs
    return configs


def find_config(backend: Any, name: str) -> DeploymentConfig:
    config = BUILTIN.get(name) or custom_configs(backend).get(name)
    if config is None:
        raise DeploymentConfigDoesNotExistException(f"No deployment configuration found for name: {name}")
    return config


def new_deployment_id() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "d-" + "".join(secrets.choice(alphabet) for _ in range(9))


def rekey(backend: Any, old_id: str) -> DeploymentInfo:
    """moto names deployments with a UUID; AWS uses d-XXXXXXXXX."""
    deployment = backend.deployments.pop(old_id)
    deployment.deployment_id = new_deployment_id()
    backend.deployments[deployment.deployment_id] = deployment
    return deployment


def record_deployment(
    backend: Any, application: str, group: str, revision: dict[str, Any], config: str, description: str
) -> DeploymentInfo:
    """A deployment in moto's store under an AWS-style id, not handed to the engine (history, rollbacks)."""
    return rekey(
        backend,
        _original_create_deployment(
            backend,
            application_name=application,
            deployment_group_name=group,
            revision=revision,
            deployment_config_name=config,
            description=description,
        ),
    )


def create_rollback_deployment(backend: Any, failed: DeploymentInfo) -> DeploymentInfo:
    group = failed.deployment_group
    previous = last_successful(backend, group, before=failed)
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
    rollback = rekey(backend, old_id)
    rollback.creator = "codeDeployRollback"
    note_revision_used(backend, failed.application_name, revision)
    return rollback


def group_deployments(backend: Any, group: Any) -> list[DeploymentInfo]:
    # By id: UpdateDeploymentGroup replaces the group object and may rename it; the id stays, as on AWS.
    return [
        d for d in backend.deployments.values() if d.deployment_group.deployment_group_id == group.deployment_group_id
    ]


def last_successful(backend: Any, group: Any, before: DeploymentInfo | None = None) -> DeploymentInfo | None:
    done = [
        d
        for d in group_deployments(backend, group)
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


def revisions(backend: Any) -> dict[tuple[str, str], dict[str, Any]]:
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
    record = revisions(backend).setdefault(
        (application_name, key),
        {"revision": copy.deepcopy(revision), "registerTime": now, "firstUsedTime": now, "description": None},
    )
    record["lastUsedTime"] = now


# ---- CodeDeploy backend methods (install() binds them to CodeDeployBackend, create_deployment with the engine)


@functools.wraps(_original_create_deployment)
def create_deployment(self: CodeDeployBackend, engine: Engine, *args: Any, **kwargs: Any) -> str:
    bound = _bind(_original_create_deployment, self, *args, **kwargs)
    app_name, group_name = bound["application_name"], bound["deployment_group_name"]
    with engine.lock:
        group = self.get_deployment_group(app_name, group_name) if app_name and group_name else None
        if group is None or group.application.compute_platform != "ECS":
            return str(_original_create_deployment(self, *args, **kwargs))
        for other in group_deployments(self, group):
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
        previous = last_successful(self, group)
        deployment = rekey(self, _original_create_deployment(self, *args, **kwargs))
        deployment.deployment_config_name = config_name
        deployment.previous_revision = previous.revision if previous is not None else None  # type: ignore[attr-defined]
        note_revision_used(self, app_name, deployment.revision)
        engine.begin(self, deployment, FAULTS.take_deployment_faults(group_name))
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


def get_deployment_group(self: CodeDeployBackend, application_name: str, deployment_group_name: str) -> Any:
    group = _original_get_deployment_group(self, application_name, deployment_group_name)
    # Lets _deployment_group_info find the backend for lastAttemptedDeployment & co.
    group._sandbox_account, group._sandbox_region = self.account_id, self.region_name  # type: ignore[attr-defined]
    return group


# ---- rules of the actions moto lacks (the responses parse and serialise; these change state) -----------
def get_deployment_or_raise(backend: Any, deployment_id: str | None) -> DeploymentInfo:
    if not deployment_id:
        raise DeploymentIdRequiredException("Deployment ID is required.")
    deployment = backend.deployments.get(deployment_id)
    if deployment is None:
        raise DeploymentDoesNotExistException(f"The deployment {deployment_id} could not be found.")
    return deployment


def started_or_raise(deployment: DeploymentInfo) -> None:
    # botocore model: Get/BatchGet/ListDeploymentTargets raise DeploymentNotStartedException
    # ("The specified deployment has not started") while the deployment is Created or Queued.
    if deployment.status in ("Created", "Queued"):
        raise DeploymentNotStartedException(f"The deployment {deployment.deployment_id} has not started.")


def target_revision(backend: Any, group: Any) -> dict[str, Any] | None:
    """The group's current target revision, as GetDeploymentGroup's targetRevision reports it."""
    mine = group_deployments(backend, group)
    if not mine:
        return None
    ok = last_successful(backend, group)
    return (ok or max(mine, key=lambda d: d.create_time)).revision


def add_deployment_config(
    engine: Engine, backend: Any, name: str | None, platform: str, routing: Any, hosts: Any
) -> DeploymentConfig:
    """CreateDeploymentConfig's checks, then the config."""
    if not name:
        raise InvalidDeploymentConfigNameException("Deployment config name is required.")
    if name in BUILTIN or name in custom_configs(backend):
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
    with engine.lock:
        config = DeploymentConfig(
            name=name, compute_platform=platform, traffic_routing=routing, minimum_healthy_hosts=hosts
        )
        custom_configs(backend)[name] = config
    return config


def delete_deployment_config(engine: Engine, backend: Any, name: str) -> None:
    if name in BUILTIN:
        raise InvalidOperationException("The default deployment configurations cannot be deleted.")
    with engine.lock:
        custom_configs(backend).pop(name, None)


def target_ids(engine: Engine, backend: Any, deployment_id: str | None, statuses: set[str] | None) -> list[str]:
    """ListDeploymentTargets: the deployment's one ECS target, unless `statuses` leaves it out."""
    deployment = get_deployment_or_raise(backend, deployment_id)
    started_or_raise(deployment)
    target = engine.target_of(deployment.deployment_id)
    if target is None or (statuses is not None and target["ecsTarget"]["status"] not in statuses):
        return []
    return [target["ecsTarget"]["targetId"]]


# BatchGetDeployments (API reference): "The maximum number of deployment IDs you can specify is 25."
MAX_BATCH_DEPLOYMENTS = 25


def batch_deployments(backend: Any, deployment_ids: list[str] | None) -> list[DeploymentInfo]:
    """BatchGetDeployments: the deployments named, in the order named.

    Errors as the API reference lists them: DeploymentIdRequiredException ("At least one deployment ID must
    be specified"), BatchLimitExceededException beyond 25 ids (its message is not documented). An id that
    names no deployment is left out of deploymentsInfo, as moto does (AWS documents no error for it), and
    InvalidDeploymentIdException is not raised: the id format is not documented.
    """
    if not deployment_ids:
        raise DeploymentIdRequiredException("At least one deployment ID must be specified.")
    if len(deployment_ids) > MAX_BATCH_DEPLOYMENTS:
        raise BatchLimitExceededException(
            f"The maximum number of deployment IDs you can specify is {MAX_BATCH_DEPLOYMENTS}; "
            f"{len(deployment_ids)} were given."
        )
    found = [backend.deployments[i] for i in deployment_ids if i in backend.deployments]
    return deployments_seen("BatchGetDeployments", found)  # the list_lag fault (consistency.py)


def targets(engine: Engine, backend: Any, deployment_id: str | None, wanted: list[str]) -> list[dict[str, Any]]:
    """Get/BatchGetDeploymentTargets of an ECS deployment: its one target (`<cluster>:<service>`)."""
    deployment = get_deployment_or_raise(backend, deployment_id)
    if not wanted:
        raise DeploymentTargetIdRequiredException("A deployment target ID was not provided.")
    # DeploymentTargetListSizeExceededException (API reference): "The target list of both types of
    # deployments [ECS and Lambda] must have exactly one item."
    if len(wanted) > 1:
        raise DeploymentTargetListSizeExceededException(
            f"An Amazon ECS deployment has exactly one target; {len(wanted)} target IDs were given."
        )
    started_or_raise(deployment)
    target = engine.target_of(deployment.deployment_id)
    out = []
    for target_id in wanted:
        if target is None or target["ecsTarget"]["targetId"] != target_id:
            raise DeploymentTargetDoesNotExistException(
                f"The deployment target {target_id} does not exist in deployment {deployment.deployment_id}."
            )
        out.append(target)
    return out


def stop_deployment(engine: Engine, backend: Any, deployment_id: str | None, auto: bool | None) -> None:
    deployment = get_deployment_or_raise(backend, deployment_id)
    with engine.lock:
        if deployment.status not in ACTIVE_STATUSES or deployment.deployment_id not in engine.runs:
            raise DeploymentAlreadyCompletedException(f"Deployment {deployment.deployment_id} has already completed.")
        engine.request_stop(deployment.deployment_id, auto)


def continue_deployment(engine: Engine, backend: Any, deployment_id: str | None, wait_type: str) -> None:
    deployment = get_deployment_or_raise(backend, deployment_id)
    if wait_type not in ("READY_WAIT", "TERMINATION_WAIT"):
        raise InvalidDeploymentWaitTypeException(f"The wait type {wait_type} is invalid.")
    with engine.lock:
        if deployment.status not in ACTIVE_STATUSES:
            raise DeploymentAlreadyCompletedException(f"Deployment {deployment.deployment_id} has already completed.")
        run = engine.runs.get(deployment.deployment_id)
        if run is None or run.hold is None or run.hold.wait_type != wait_type:
            raise DeploymentIsNotInReadyStateException(
                f"The deployment {deployment.deployment_id} is not in a ready state for {wait_type}."
            )
        engine.request_continue(deployment.deployment_id)


def application_revision(
    engine: Engine, backend: Any, app_name: str | None, revision: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """GetApplicationRevision (API reference): the revision with its content, and revisionInfo."""
    if not app_name:
        raise ApplicationNameRequiredException("The name of the application is required.")
    if app_name not in backend.applications:
        raise ApplicationDoesNotExistException(f"No application found for name: {app_name}")
    if not revision:
        raise RevisionRequiredException("The revision is required.")
    key = revision_key(revision)
    if key is None:
        raise InvalidRevisionException("The revision is missing or its type is not valid.")
    with engine.lock:
        record = revisions(backend).get((app_name, key))
        if record is None:
            raise RevisionDoesNotExistException(f"No application revision found for name: {app_name}")
        groups = sorted(
            name
            for name, group in (backend.deployment_groups.get(app_name) or {}).items()
            if revision_key(target_revision(backend, group)) == key
        )
        info = {
            "description": record["description"],
            "deploymentGroups": groups,
            "firstUsedTime": record["firstUsedTime"],
            "lastUsedTime": record["lastUsedTime"],
            "registerTime": record["registerTime"],
        }
        return copy.deepcopy(record["revision"]), info


def update_deployment_group(
    engine: Engine,
    backend: Any,
    app_name: str,
    current: str,
    new_name: str,
    settings: dict[str, Any],
) -> None:
    """UpdateDeploymentGroup: `settings` maps moto's DeploymentGroup attributes to the values asked for."""
    with engine.lock:
        group = backend.get_deployment_group(app_name, current)  # Application/DeploymentGroupDoesNotExist
        groups = backend.deployment_groups[app_name]
        if new_name != current and new_name in groups:
            raise DeploymentGroupAlreadyExistsException(f"Deployment group {new_name} already exists.")
        config_name = settings.get("deployment_config_name")
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
        for attribute, value in settings.items():
            setattr(updated, attribute, value)
        updated.deployment_group_name = new_name
        # Same place in the listing, under the new name.
        backend.deployment_groups[app_name] = {
            (new_name if name == current else name): (updated if name == current else other)
            for name, other in groups.items()
        }
        if new_name != current:
            for deployment in group_deployments(backend, group):
                deployment.deployment_group_name = new_name  # ListDeployments & co. follow the group
            old_arn = backend._deployment_group_arn(app_name, current)
            backend.tagger.copy_tags(old_arn, backend._deployment_group_arn(app_name, new_name))
            backend.tagger.delete_all_tags_for_resource(old_arn)

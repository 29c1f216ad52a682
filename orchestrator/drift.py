"""`orchestrator diff`: the task definition (and AppSpec) a release would send against what runs now.

Without an image, the live image of the service's container is kept, so the diff shows what the
files change, not the image a release would bring. Both sides are compared in the shape a template
carries: read-only fields dropped, empty values dropped, and the defaults ECS fills in on register
(`comparable`) filled in on both sides, so a template that leaves them out is not "different".
Container environment values are masked (a short stable hash) unless asked for.
"""

from __future__ import annotations

import copy
import difflib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orchestrator import appspec as appspec_mod
from orchestrator.ecs_read import serving_task_definition, without_empty
from orchestrator.errors import InputError
from orchestrator.history import list_deployment_ids, newest_records
from orchestrator.revisions import deployment_appspec
from orchestrator.status import describe_service
from orchestrator.taskdef import image_of, load_and_render, placeholder_values, redact_environment, strip_read_only

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.contract import ServiceOutputs
    from orchestrator.servicefiles import ServiceFiles
    from orchestrator.target import Target

# Where the AppSpec names the task definition: both sides carry this instead (the ARN a release
# registers is not known before it registers).
TASK_DEFINITION_MARK = "<TASK_DEFINITION>"


@dataclass(frozen=True)
class Drift:
    service_key: str
    live_task_definition_arn: str | None
    taskdef_diff: str
    appspec_diff: str
    config_diff: str
    notes: tuple[str, ...]

    @property
    def equal(self) -> bool:
        return not (self.taskdef_diff or self.appspec_diff or self.config_diff)


def comparable(taskdef: dict[str, Any]) -> dict[str, Any]:
    """`taskdef` with the defaults ECS's RegisterTaskDefinition fills in made explicit, and empty values
    dropped. Defaults per the ECS API reference (ContainerDefinition): `essential` true, PortMapping
    `protocol` tcp and, in awsvpc mode, `hostPort` equal to `containerPort`; `cpu` 0 for a container
    is what DescribeTaskDefinition returns for a container registered without one."""

    doc = copy.deepcopy(taskdef)
    awsvpc = doc.get("networkMode") == "awsvpc"
    for c in doc.get("containerDefinitions") or []:
        if not isinstance(c, dict):
            continue
        c.setdefault("essential", True)
        if c.get("cpu") == 0:
            del c["cpu"]
        for pm in c.get("portMappings") or []:
            if isinstance(pm, dict):
                pm.setdefault("protocol", "tcp")
                if awsvpc and "containerPort" in pm:
                    pm.setdefault("hostPort", pm["containerPort"])
    return dict(without_empty(doc))


def _text(doc: Any) -> list[str]:
    return json.dumps(doc, indent=2, sort_keys=True).splitlines() if doc is not None else []


def unified(old: Any, new: Any, old_name: str, new_name: str) -> str:
    return "\n".join(difflib.unified_diff(_text(old), _text(new), fromfile=old_name, tofile=new_name, lineterm=""))


def live_service(aws: Aws, svc: ServiceOutputs) -> dict[str, Any]:

    return describe_service(aws, svc)


def live_taskdef(aws: Aws, arn: str) -> dict[str, Any]:
    """The live task definition as register would take it (its tags too)."""

    resp = aws.client("ecs").describe_task_definition(taskDefinition=arn, include=["TAGS"])
    return strip_read_only({"taskDefinition": resp["taskDefinition"], "tags": resp.get("tags") or []}, arn)


def compute_drift(
    target: Target,
    files: ServiceFiles,
    *,
    image: str | None = None,
    container_env: dict[str, str] | None = None,
    deployment_config: str | None = None,
    show_values: bool = False,
) -> Drift:
    """Render the service's files as a release would and compare them with what runs."""

    svc = target.service
    service = live_service(target.aws, svc)
    arn = serving_task_definition(service)
    if not arn:
        raise InputError(f"service {svc.service_name} in cluster {svc.cluster_name} runs no task definition")
    live = live_taskdef(target.aws, arn)
    kept = image or image_of(live, svc.container_name) or None
    rendered = load_and_render(files.taskdef, target.outputs, svc, image=kept, container_env=container_env)
    hide = (lambda doc: doc) if show_values else redact_environment
    new, old = hide(comparable(rendered.taskdef)), hide(comparable(live))
    taskdef_diff = unified(old, new, arn, str(files.taskdef)) if new != old else ""
    notes: list[str] = []
    appspec_diff = config_diff = ""
    if svc.deployment_engine == "codedeploy":
        appspec_diff, config_diff, more = _codedeploy_drift(target, files, rendered.taskdef, deployment_config)
        notes += more
    elif deployment_config:
        raise InputError("--deployment-config names a CodeDeploy configuration; this service is released by ECS")
    return Drift(target.service_key, arn, taskdef_diff, appspec_diff, config_diff, tuple(notes))


def _codedeploy_drift(
    target: Target, files: ServiceFiles, taskdef: dict[str, Any], deployment_config: str | None
) -> tuple[str, str, list[str]]:
    """(AppSpec diff, deployment configuration diff, notes) against the last succeeded deployment."""

    svc = target.service
    hook_values = placeholder_values(target.outputs, svc, None)
    spec = appspec_mod.load_and_validate(files.appspec, taskdef, hook_values)
    desired = spec.with_task_definition(TASK_DEFINITION_MARK)
    last = newest_records(target.aws, list_deployment_ids(target.aws, svc, ("Succeeded",)), 1)
    if not last:
        return "", "", ["no succeeded deployment yet: the AppSpec and deployment configuration are not compared"]
    record = last[0]
    live_spec = deployment_appspec(target.aws, record.deployment_id)
    notes: list[str] = []
    appspec_diff = ""
    if live_spec is None:
        notes.append(f"the AppSpec of {record.deployment_id} cannot be read: not compared")
    else:
        live_spec = copy.deepcopy(live_spec)
        props = appspec_mod.service_properties(live_spec)
        if props is not None:
            for resource in live_spec.get("Resources") or []:
                for body in resource.values():
                    if isinstance(body, dict) and body.get("Type") == "AWS::ECS::Service":
                        body.setdefault("Properties", {})["TaskDefinition"] = TASK_DEFINITION_MARK
        if live_spec != desired:
            appspec_diff = unified(live_spec, desired, f"AppSpec of {record.deployment_id}", str(files.appspec))
    config = deployment_config or _group_config(target.aws, svc)
    config_diff = ""
    if record.config and config and config != record.config:
        config_diff = f"deployment configuration: {record.config} ({record.deployment_id}) -> {config}"
    return appspec_diff, config_diff, notes


def _group_config(aws: Aws, svc: ServiceOutputs) -> str:
    group = aws.client("codedeploy").get_deployment_group(
        applicationName=svc.codedeploy_app_name, deploymentGroupName=svc.codedeploy_deployment_group_name
    )["deploymentGroupInfo"]
    return str(group.get("deploymentConfigName") or "")

"""The AppSpec of an ECS blue/green deployment: load (JSON or YAML), validate against the task definition,
and render with the registered task definition ARN.

What CodeDeploy accepts for ECS: `version: 0.0`; `Resources` with exactly one resource of Type
`AWS::ECS::Service` whose Properties carry `TaskDefinition` and `LoadBalancerInfo` (`ContainerName`,
`ContainerPort`), optionally `PlatformVersion`, `NetworkConfiguration`, `CapacityProviderStrategy`;
optional `Hooks`, a list of one-entry maps from an ECS lifecycle event to a Lambda function.

A hook's function may be a `${name}` placeholder of the outputs contract (e.g.
`${smoke_test_function_name}`), resolved as the task definition's placeholders are; a hook whose
placeholder resolves to "" (the service has no such function) is dropped, with a note.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import InputError, InputProblems
from orchestrator.lifecycle import HOOK_EVENTS

TASK_DEFINITION_PLACEHOLDER = "<TASK_DEFINITION>"
_PROPERTIES = {
    "TaskDefinition",
    "LoadBalancerInfo",
    "PlatformVersion",
    "NetworkConfiguration",
    "CapacityProviderStrategy",
}
_TASKDEF_ARN = re.compile(r"^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition/[A-Za-z0-9_-]+:\d+$")


@dataclass(frozen=True)
class AppSpec:
    doc: dict[str, Any]
    source: str
    container_name: str
    container_port: int
    notes: tuple[str, ...] = ()  # e.g. a hook dropped because its placeholder is empty

    def with_task_definition(self, arn: str) -> dict[str, Any]:
        doc = json.loads(json.dumps(self.doc))
        props = next(iter(doc["Resources"][0].values()))["Properties"]
        props["TaskDefinition"] = arn
        return doc


def content(doc: dict[str, Any]) -> tuple[str, str]:
    """The AppSpecContent string create_deployment takes, and its sha256."""
    text = json.dumps(doc, indent=2)
    return text, hashlib.sha256(text.encode()).hexdigest()


def parse(text: str, *, as_yaml: bool | None = None) -> Any:
    """An AppSpec document from its text: JSON when it starts like JSON, YAML otherwise (or when
    `as_yaml`). Raises json.JSONDecodeError or yaml.YAMLError."""
    if as_yaml is None:
        as_yaml = not text.lstrip().startswith(("{", "["))
    if not as_yaml:
        return json.loads(text)
    import yaml

    return yaml.safe_load(text)


def service_properties(doc: Any) -> dict[str, Any] | None:
    """The Properties of the AppSpec's AWS::ECS::Service resource (None when it has none)."""
    for resource in (doc.get("Resources") if isinstance(doc, dict) else None) or []:
        if not isinstance(resource, dict):
            continue
        for body in resource.values():
            if isinstance(body, dict) and body.get("Type") == "AWS::ECS::Service":
                return dict(body.get("Properties") or {})
    return None


def load(path: Path) -> Any:
    from orchestrator import userfile

    text = userfile.read_text(path, "AppSpec file")
    source = userfile.shown(path)
    if not (path.suffix.lower() in (".yaml", ".yml") or not text.lstrip().startswith(("{", "["))):
        return userfile.parse_json(text, source)
    import yaml

    try:
        doc = yaml.safe_load(text)
    except RecursionError:
        raise userfile.too_deep(source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{where}: invalid YAML: {problem}") from None
    userfile.check_depth(doc, source)
    return doc


def _resource_problems(doc: dict[str, Any], taskdef: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(field, problem) for the one AWS::ECS::Service resource and its load balancer container."""
    resources = doc.get("Resources")
    if not isinstance(resources, list) or not resources:
        yield "Resources", "expected a list with one AWS::ECS::Service resource"
        return
    if len(resources) != 1:
        yield "Resources", f"expected exactly one resource, got {len(resources)}"
        return
    resource = resources[0]
    if not isinstance(resource, dict) or len(resource) != 1:
        yield "Resources[0]", "expected one named resource, e.g. {TargetService: {Type: ..., Properties: ...}}"
        return
    name, body = next(iter(resource.items()))
    where = f"Resources[0].{name}"
    if not isinstance(body, dict):
        yield where, "expected an object with Type and Properties"
        return
    if body.get("Type") != "AWS::ECS::Service":
        yield f"{where}.Type", f"must be AWS::ECS::Service, got {body.get('Type')!r}"
    props = body.get("Properties")
    if not isinstance(props, dict):
        yield f"{where}.Properties", "required object missing"
        return
    for extra in sorted(set(props) - _PROPERTIES):
        yield f"{where}.Properties.{extra}", f"unknown property; valid: {', '.join(sorted(_PROPERTIES))}"
    td = props.get("TaskDefinition")
    if not isinstance(td, str) or not td:
        yield f"{where}.Properties.TaskDefinition", f"required; use {TASK_DEFINITION_PLACEHOLDER}"
    elif _TASKDEF_ARN.match(td):
        # CodeDeploy would deploy that revision, not the one this release registers.
        yield (
            f"{where}.Properties.TaskDefinition",
            f"{td!r} is a fixed task definition; write {TASK_DEFINITION_PLACEHOLDER}, which the release "
            "replaces with the revision it registers",
        )
    elif td != TASK_DEFINITION_PLACEHOLDER:
        yield (
            f"{where}.Properties.TaskDefinition",
            f"expected {TASK_DEFINITION_PLACEHOLDER} (replaced by the registered ARN), got {td!r}",
        )
    lb_where = f"{where}.Properties.LoadBalancerInfo"
    lbi = props.get("LoadBalancerInfo")
    if not isinstance(lbi, dict):
        yield lb_where, "required object with ContainerName and ContainerPort"
        return
    cname, cport = lbi.get("ContainerName"), lbi.get("ContainerPort")
    if not isinstance(cname, str) or not cname:
        yield f"{lb_where}.ContainerName", "required string"
        return
    containers = [c for c in taskdef.get("containerDefinitions", []) if isinstance(c, dict)]
    match = next((c for c in containers if c.get("name") == cname), None)
    if match is None:
        names = ", ".join(str(c.get("name")) for c in containers)
        yield f"{lb_where}.ContainerName", f"no container {cname!r} in the task definition (containers: {names})"
    if not isinstance(cport, int) or isinstance(cport, bool):
        yield f"{lb_where}.ContainerPort", f"expected int, got {json.dumps(cport)}"
    elif match is not None:
        ports = [pm.get("containerPort") for pm in match.get("portMappings") or [] if isinstance(pm, dict)]
        if cport not in ports:
            shown = ", ".join(map(str, ports)) or "none"
            yield f"{lb_where}.ContainerPort", f"container {cname!r} maps no port {cport} (its containerPorts: {shown})"


def _hook_problems(hooks: Any) -> Iterator[tuple[str, str]]:
    if not isinstance(hooks, list):
        yield "Hooks", "expected a list of {LifecycleEvent: LambdaFunction} entries"
        return
    for i, hook in enumerate(hooks):
        if not isinstance(hook, dict) or len(hook) != 1:
            yield f"Hooks[{i}]", "expected one {LifecycleEvent: LambdaFunction} entry"
            continue
        event, fn = next(iter(hook.items()))
        if event not in HOOK_EVENTS:
            yield f"Hooks[{i}].{event}", f"not an ECS lifecycle hook; valid: {', '.join(HOOK_EVENTS)}"
        elif not isinstance(fn, str) or not fn:
            yield f"Hooks[{i}].{event}", "expected a Lambda function name or ARN"


def validate(doc: Any, source: str, taskdef: dict[str, Any]) -> AppSpec:
    """Check the AppSpec and that its load balancer container and port exist in the task definition;
    every problem found is reported (InputProblems, one line each)."""
    if not isinstance(doc, dict):
        raise InputError(f"{source}: expected an AppSpec object, got {type(doc).__name__}")
    found: list[tuple[str, str]] = [
        (k, "unknown field; an ECS AppSpec has version, Resources and Hooks")
        for k in sorted(set(doc) - {"version", "Resources", "Hooks"}, key=str)
    ]
    if "version" not in doc:
        found.append(("version", "required field missing (0.0)"))
    elif str(doc["version"]) not in ("0.0", "0"):
        found.append(("version", f"must be 0.0, got {doc['version']!r}"))
    found += _resource_problems(doc, taskdef)
    if doc.get("Hooks") is not None:
        found += _hook_problems(doc["Hooks"])
    if found:
        raise InputProblems([f"{source}: {field}: {text}" for field, text in found])
    lbi = next(iter(doc["Resources"][0].values()))["Properties"]["LoadBalancerInfo"]
    normalised = {**doc, "version": 0.0}
    return AppSpec(
        doc=normalised, source=source, container_name=lbi["ContainerName"], container_port=lbi["ContainerPort"]
    )


def render_hooks(doc: Any, values: dict[str, str], source: str) -> tuple[Any, tuple[str, ...]]:
    """Resolve `${name}` in the hooks' function names; drop the hooks that resolve to ""."""
    from orchestrator.taskdef import substitute

    if not isinstance(doc, dict) or not isinstance(doc.get("Hooks"), list):
        return doc, ()
    kept: list[Any] = []
    notes: list[str] = []
    for i, hook in enumerate(doc["Hooks"]):
        if isinstance(hook, dict) and len(hook) == 1:
            event, fn = next(iter(hook.items()))
            if isinstance(fn, str) and "${" in fn:
                fn = substitute(fn, values, source, ("Hooks", i, event))
                if not fn.strip():
                    notes.append(
                        f"{source}: Hooks[{i}].{event} dropped: {hook[event]} is empty for this service "
                        "(no such function in its Terraform outputs)"
                    )
                    continue
                hook = {event: fn}
        kept.append(hook)
    rendered = {**doc, "Hooks": kept}
    if not kept:
        del rendered["Hooks"]
    return rendered, tuple(notes)


def load_and_validate(path: Path, taskdef: dict[str, Any], values: dict[str, str] | None = None) -> AppSpec:
    """Load, resolve the hooks' placeholders with `values` (the service's outputs), validate."""
    doc = load(path)
    notes: tuple[str, ...] = ()
    if values is not None:
        doc, notes = render_hooks(doc, values, str(path))
    spec = validate(doc, str(path), taskdef)
    return AppSpec(spec.doc, spec.source, spec.container_name, spec.container_port, notes)

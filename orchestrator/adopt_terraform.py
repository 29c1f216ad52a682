"""Terraform for an adopted service: `import` blocks (Terraform >= 1.5) into the root that can hold it,
the resources left out (and why), and the `services` entry for its tfvars.

The CodeDeploy root (`terraform/`) holds a CODE_DEPLOY service; the ECS-native root
(`terraform/ecs-native/`) a service on the ECS deployment controller. An import block is written only
for a resource that (a) the root defines at that address (read from the root's HCL when the root is
there), (b) belongs to this service alone, and (c) has the name the root would give it: a name is
ForceNew on each of these resources, so a different one plans a replacement. Shared resources (the
cluster, load balancers and listeners, IAM roles, security groups) are never imported here: their
import makes this root own what other services use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.adopt import LiveService

CODEDEPLOY_ROOT = "terraform"
ECS_NATIVE_ROOT = "terraform/ecs-native"
# The ECS-native root's service (the migration issue's module; its address as that root defines it).
ECS_NATIVE_SERVICE = 'module.ecs_native_service["{key}"].aws_ecs_service.this'


@dataclass(frozen=True)
class Import:
    address: str
    id: str
    by_root: bool = False  # imported by the root's own for_each import block: no block written


@dataclass(frozen=True)
class Skipped:
    resource: str
    reason: str


@dataclass(frozen=True)
class TerraformPlan:
    root: str
    imports: tuple[Import, ...]
    skipped: tuple[Skipped, ...]
    services_entry: dict[str, Any]

    def imports_hcl(self, key: str) -> str:
        lines = [
            f"# Written by `orchestrator adopt` for service {key!r}: `terraform plan` shows these imports.",
            "# Never apply a plan that replaces aws_ecs_service (docs/adopt.md). Remove this file after the apply.",
        ]
        for s in self.skipped:
            lines.append(f"# not imported: {s.resource}: {s.reason}")
        for imp in self.imports:
            if imp.by_root:
                lines.append(f"# imported by this root's own import block (adopt_existing = true): {imp.address}")
                continue
            lines += ["", "import {", f"  to = {imp.address}", f"  id = {json.dumps(imp.id)}", "}"]
        return "\n".join(lines) + "\n"

    def services_hcl(self, key: str) -> str:
        body = "\n".join(f"    {k} = {_hcl(v)}" for k, v in self.services_entry.items())
        notes = ""
        if all(i.by_root for i in self.imports):  # no import file to carry them
            notes = "".join(f"# not imported: {s.resource}: {s.reason}\n" for s in self.skipped)
            notes += "".join(f"# imported by {self.root}/'s own import block: {i.address}\n" for i in self.imports)
        return notes + (
            f"# The `services` entry of service {key!r}: merge it into the `services` map of\n"
            f"# {self.root}/envs/<env>.tfvars (a -var-file with only this map would replace the others).\n"
            f"services = {{\n  {key} = {{\n{body}\n  }}\n}}\n"
        )


def _hcl(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_hcl(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def root_addresses(root: Path) -> set[str] | None:
    """Every resource address the root defines, with `["*"]` for a for_each module instance (None when
    the root is not there). Local modules are read one level deep, as the roots use them."""
    if not root.is_dir() or not list(root.glob("*.tf")):
        return None
    found: set[str] = set()
    for doc in _documents(root):
        found.update(_resources(doc, ""))
        for block in doc.get("module") or []:
            for name, body in block.items():
                source = _unquote(body.get("source", ""))
                instance = f'module.{_unquote(name)}["*"]' if "for_each" in body else f"module.{_unquote(name)}"
                if source.startswith("."):
                    for inner in _documents(root / source):
                        found.update(_resources(inner, instance + "."))
    return found


def _unquote(text: Any) -> str:
    # python-hcl2 (>= 7) keeps the quotes of labels and string literals.
    return str(text).strip('"')


def _resources(doc: dict[str, Any], prefix: str) -> set[str]:
    return {
        f"{prefix}{_unquote(rtype)}.{_unquote(name)}"
        for block in doc.get("resource") or []
        for rtype, named in block.items()
        for name in named
    }


def _documents(directory: Path) -> list[dict[str, Any]]:
    import hcl2

    out = []
    for path in sorted(directory.glob("*.tf")):
        with path.open() as handle:
            out.append(hcl2.load(handle))
    return out


def defined(address: str, addresses: set[str] | None) -> bool:
    """Whether the root defines `address` (True when the root cannot be read: nothing to check against)."""
    if addresses is None:
        return True
    import re

    generic = re.sub(r'\["[^"]*"\]', '["*"]', address)
    return generic in addresses


def plan_codedeploy(live: LiveService, key: str, entry: dict[str, Any], addresses: set[str] | None) -> TerraformPlan:
    project = live.cluster
    name = f"{project}-{key}"
    group = live.group or {}
    imports: list[Import] = []
    skipped = [
        Skipped(
            "aws_ecs_cluster.this",
            f"cluster {project} is shared by every service of the root (the root names it after var.project)",
        ),
        Skipped(
            f'module.alb["{key}"]',
            "load balancers, listeners and target groups are often shared; "
            "import them by hand if they serve this service alone",
        ),
        Skipped(
            f'module.ecs_service["{key}"].aws_iam_role.execution/task, '
            f'module.codedeploy["{key}"].aws_iam_role.codedeploy',
            "IAM roles are shared; the root makes its own, and a release then uses them through "
            "${task_execution_role_arn}/${task_role_arn}",
        ),
        Skipped(f'module.ecs_service["{key}"].aws_security_group.service', "security groups are shared"),
        Skipped(
            f'module.ecs_service["{key}"].aws_ecs_task_definition.bootstrap',
            "the orchestrator registers the revisions; the root registers one bootstrap revision "
            "and ignores it after (nothing is replaced)",
        ),
    ]
    candidates = [
        (f'module.ecs_service["{key}"].aws_ecs_service.this', f"{live.cluster}/{live.name}", live.name, key),
        (
            f'module.codedeploy["{key}"].aws_codedeploy_app.this',
            str(group.get("applicationName", "")),
            str(group.get("applicationName", "")),
            name,
        ),
        (
            f'module.codedeploy["{key}"].aws_codedeploy_deployment_group.this',
            f"{group.get('applicationName')}:{group.get('deploymentGroupName')}",
            str(group.get("deploymentGroupName", "")),
            name,
        ),
        (
            f'module.ecs_service["{key}"].aws_cloudwatch_log_group.this',
            entry["log_group_name"],
            entry["log_group_name"],
            f"/ecs/{project}/{key}",
        ),
    ]
    repo = entry["ecr_repository_url"].split("/", 1)[1] if "/" in entry["ecr_repository_url"] else ""
    candidates.append((f'module.ecr["{key}"].aws_ecr_repository.this', repo, repo, f"{project}/{key}"))
    for address, ident, live_name, root_name in candidates:
        if not live_name:
            skipped.append(Skipped(address, "the service has none: the root creates it"))
        elif live_name != root_name:
            skipped.append(
                Skipped(
                    address, f"named {live_name!r}, the root names it {root_name!r}: an import would plan a replacement"
                )
            )
        elif not defined(address, addresses):
            skipped.append(Skipped(address, f"{CODEDEPLOY_ROOT}/ does not define it"))
        else:
            imports.append(Import(address, ident))
    return TerraformPlan(CODEDEPLOY_ROOT, tuple(imports), tuple(skipped), _codedeploy_entry(live, entry))


def _codedeploy_entry(live: LiveService, entry: dict[str, Any]) -> dict[str, Any]:
    group = live.group or {}
    bg = group.get("blueGreenDeploymentConfiguration") or {}
    ready = bg.get("deploymentReadyOption") or {}
    done = (bg.get("terminateBlueInstancesOnDeploymentSuccess") or {}).get("terminationWaitTimeInMinutes")
    out: dict[str, Any] = {
        "container_name": entry["container_name"],
        "container_port": entry["container_port"],
        "desired_count": int(live.service.get("desiredCount", 0)),
    }
    out.update(_health_check(live))
    if group.get("deploymentConfigName"):
        out["deployment_config_name"] = group["deploymentConfigName"]
    if ready.get("actionOnTimeout"):
        out["deployment_ready_action"] = ready["actionOnTimeout"]
        out["deployment_ready_wait"] = int(ready.get("waitTimeInMinutes", 0))
    if done is not None:
        out["termination_wait_minutes"] = int(done)
    return out


def _health_check(live: LiveService) -> dict[str, Any]:
    tg = next(iter(live.target_groups.values()), None)
    if tg is None:
        return {}
    out: dict[str, Any] = {}
    if tg.get("HealthCheckPath"):
        out["health_check_path"] = tg["HealthCheckPath"]
    code = (tg.get("Matcher") or {}).get("HttpCode")
    if code:
        out["health_check_matcher"] = code
    return out


def root_import_targets(root: Path) -> set[str]:
    """The addresses the root's own for_each `import` blocks import (generic: `["*"]` for each key):
    terraform/ecs-native/imports.tf imports each service whose `adopt_existing` is true."""
    if not root.is_dir():
        return set()
    found = set()
    for doc in _documents(root):
        for block in doc.get("import") or []:
            if "for_each" in block:
                to = str(block.get("to", "")).removeprefix("${").removesuffix("}")
                found.add(to.replace("[each.key]", '["*"]'))
    return found


def plan_ecs_native(
    live: LiveService, key: str, entry: dict[str, Any], addresses: set[str] | None, root_imports: set[str] | None = None
) -> TerraformPlan:
    """The ECS-native root: the service itself (its rules and roles are the root's own, its cluster,
    network, listeners and target groups come from terraform/'s ecs_native_shared output)."""
    address = ECS_NATIVE_SERVICE.format(key=key)
    imports: list[Import] = []
    skipped = [
        Skipped("the cluster", f"cluster {live.cluster} is shared by other services"),
        Skipped("load balancer, listener rules, target groups", "a load balancer and its listeners are shared"),
        Skipped(
            "IAM roles",
            "roles are shared; the task definition names them through ${task_execution_role_arn}/${task_role_arn}",
        ),
        Skipped("task definitions", "the orchestrator registers the revisions (docs/adopt.md: the `removed` block)"),
    ]
    by_root = ECS_NATIVE_SERVICE.format(key="*") in (root_imports or set())
    if by_root:
        # The root imports it itself (adopt_existing = true): a second block would be a duplicate import.
        imports.append(Import(address, f"{live.cluster}/{live.name}", by_root=True))
    elif defined(address, addresses):
        imports.append(Import(address, f"{live.cluster}/{live.name}"))
    else:
        skipped.append(Skipped(address, f"{ECS_NATIVE_ROOT}/ does not define it"))
    dc = live.service.get("deploymentConfiguration") or {}
    breaker = dc.get("deploymentCircuitBreaker") or {}
    alarms = dc.get("alarms") or {}
    # The variables of terraform/ecs-native's `services` map.
    out: dict[str, Any] = {"strategy": str(dc.get("strategy") or "ROLLING"), "adopt_existing": by_root}
    if dc.get("bakeTimeInMinutes") is not None:
        out["bake_time_minutes"] = int(dc["bakeTimeInMinutes"])
    if breaker:
        out["circuit_breaker_rollback"] = bool(breaker.get("rollback"))
    if alarms.get("alarmNames"):
        out["alarm_names"] = list(alarms["alarmNames"])
        out["alarm_rollback"] = bool(alarms.get("rollback"))
    skipped += _ecs_native_changes(live, key)
    return TerraformPlan(ECS_NATIVE_ROOT, tuple(imports), tuple(skipped), out)


def _ecs_native_changes(live: LiveService, key: str) -> list[Skipped]:
    """What the ECS-native root sets its own way: in-place changes its first plan shows, and what it
    needs from the CodeDeploy root."""
    svc, dc = live.service, live.service.get("deploymentConfiguration") or {}
    changes = [
        f"{name} {have!r} -> {want!r}"
        for name, have, want in (
            ("platform_version", svc.get("platformVersion") or "LATEST", "LATEST"),
            ("maximumPercent", dc.get("maximumPercent", 200), 200),
            ("minimumHealthyPercent", dc.get("minimumHealthyPercent", 100), 100),
            ("propagate_tags", svc.get("propagateTags") or "NONE", "SERVICE"),
            ("enable_ecs_managed_tags", bool(svc.get("enableECSManagedTags")), True),
        )
        if have != want
    ]
    out = [
        Skipped(
            f'ecs_native_shared.services["{key}"]',
            f"{ECS_NATIVE_ROOT}/ reads the service's cluster, subnets, security groups, listeners and target "
            "groups from terraform/'s ecs_native_shared output: the key must be a service of terraform/ too",
        )
    ]
    if changes:
        out.append(Skipped("in-place changes", "the root's plan will change " + ", ".join(changes)))
    return out

"""`orchestrator adopt`: a running ECS service, made by hand or by another tool, into this project's shape.

Read-only against AWS. From the live service and its task definition it builds, in memory:
- the task definition template: read-only fields and empty values dropped, the image and every value
  the outputs provide (roles, log group, region, ...) turned into `${name}` placeholders, a literal
  `${` escaped as `$${`, so that `render` with the outputs written beside it gives back the live
  task definition;
- the outputs entry the placeholders need (the `services` map of `terraform output -json`);
- the AppSpec, for a CodeDeploy service (its last succeeded deployment's, else one from the service);
- the Terraform import blocks and `services` entry (orchestrator.adopt_terraform).
Nothing is written here: the command writes the files once everything has been checked.

A service the roots cannot represent without replacing it is refused in one line: the roots run
FARGATE services (launch_type is ForceNew on aws_ecs_service), REPLICA scheduling, awsvpc networking,
and the CODE_DEPLOY (terraform/) or ECS (terraform/ecs-native/) deployment controller.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestrator import adopt_terraform as tf
from orchestrator.appspec import TASK_DEFINITION_PLACEHOLDER
from orchestrator.contract import SERVICE_KEYS, parse_outputs
from orchestrator.drift import comparable
from orchestrator.ecs_read import serving_task_definition, target_group_name, without_empty
from orchestrator.errors import InputError
from orchestrator.history import newest_records
from orchestrator.revisions import deployment_appspec
from orchestrator.servicefiles import APPSPEC, SERVICES_DIR, TASKDEF
from orchestrator.taskdef import image_of, placeholder_values, render, strip_read_only

if TYPE_CHECKING:
    from orchestrator.aws import Aws

# Outputs values replaced by their placeholder wherever a whole string equals them. Short, generic
# values (cluster or container name, port) are left literal: "demo" in an unrelated variable is not
# the cluster's name.
PLACEHOLDER_KEYS: tuple[str, ...] = (
    "task_execution_role_arn",
    "task_role_arn",
    "log_group_name",
    "aws_region",
    "ecr_repository_url",
    "alb_dns_name",
    "prod_listener_arn",
    "test_listener_arn",
    "smoke_test_function_name",
)
# Variable names that usually hold a secret, and values shaped like credentials.
_SECRET_NAME = re.compile(
    r"(SECRET|PASSW(OR)?D|PASSPHRASE|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL|AUTH|DSN|SIGNING|SESSION_?KEY)",
    re.IGNORECASE,
)
_SECRET_VALUE = (
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),  # an AWS access key id
    re.compile(r"^[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"),  # a URL with user:password@
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"^(gh[pousr]_[A-Za-z0-9]{30,}|xox[abpr]-[A-Za-z0-9-]{10,}|sk_live_[A-Za-z0-9]{16,})$"),
)


@dataclass(frozen=True)
class LiveService:
    """What adopt reads of the service."""

    cluster: str
    name: str
    service: dict[str, Any]
    taskdef: dict[str, Any]  # as register takes it (read-only fields and empty values dropped)
    taskdef_arn: str
    engine: str  # codedeploy | ecs
    group: dict[str, Any] | None = None  # the CodeDeploy deployment group
    appspec: dict[str, Any] | None = None  # the last succeeded deployment's
    target_groups: dict[str, dict[str, Any]] = field(default_factory=dict)  # ARN -> DescribeTargetGroups


def read_live(aws: Aws, cluster: str, name: str) -> LiveService:
    """Describe the service, its task definition, its target groups and (CODE_DEPLOY) its group."""

    ecs = aws.client("ecs")
    resp = ecs.describe_services(cluster=cluster, services=[name])
    found = [s for s in resp.get("services") or [] if s.get("status") == "ACTIVE"]
    if not found:
        reason = "; ".join(f.get("reason", "") for f in resp.get("failures") or []) or "not ACTIVE"
        raise InputError(f"--ecs-service {name} in --cluster {cluster}: {reason}")
    service = dict(found[0])
    refuse_unrepresentable(service)
    arn = serving_task_definition(service) or ""
    td = ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
    taskdef = without_empty(
        strip_read_only({"taskDefinition": td["taskDefinition"], "tags": td.get("tags") or []}, arn)
    )
    controller = (service.get("deploymentController") or {}).get("type", "ECS")
    engine = "codedeploy" if controller == "CODE_DEPLOY" else "ecs"
    groups = [lb["targetGroupArn"] for lb in service.get("loadBalancers") or [] if lb.get("targetGroupArn")]
    group = appspec = None
    if engine == "codedeploy":
        group, appspec = _codedeploy(aws, service)
        for info in (group or {}).get("loadBalancerInfo", {}).get("targetGroupPairInfoList") or []:
            groups += [tg.get("name") for tg in info.get("targetGroups") or [] if tg.get("name")]
    target_groups = _target_groups(aws, groups)
    return LiveService(cluster, name, service, taskdef, arn, engine, group, appspec, target_groups)


def refuse_unrepresentable(service: dict[str, Any]) -> None:
    """One line for a service the roots cannot hold without replacing it."""
    name = service.get("serviceName")
    launch = service.get("launchType")
    controller = (service.get("deploymentController") or {}).get("type", "ECS")
    why = None
    if service.get("capacityProviderStrategy"):
        why = (
            "it runs on a capacity provider strategy; the roots set launch_type FARGATE, "
            "and changing it replaces the service"
        )
    elif launch and launch != "FARGATE":
        why = f"its launch type is {launch}; the roots run FARGATE services, and launch_type is replaced, not updated"
    elif service.get("schedulingStrategy") == "DAEMON":
        why = "it is a DAEMON service; the roots run REPLICA services (scheduling_strategy forces a replacement)"
    elif controller not in ("ECS", "CODE_DEPLOY"):
        why = (
            f"its deployment controller is {controller}; "
            "the roots hold CODE_DEPLOY (terraform/) and ECS (terraform/ecs-native/)"
        )
    if why:
        raise InputError(f"service {name} cannot be adopted without replacing it: {why}")


def _codedeploy(aws: Aws, service: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The deployment group whose ecsServices names this service, and its last succeeded AppSpec."""

    cd = aws.client("codedeploy")
    cluster = service["clusterArn"].rsplit("/", 1)[-1]
    for app in _pages(cd, "list_applications", "applications"):
        for group_name in _pages(cd, "list_deployment_groups", "deploymentGroups", applicationName=app):
            info = cd.get_deployment_group(applicationName=app, deploymentGroupName=group_name)["deploymentGroupInfo"]
            targets = info.get("ecsServices") or []
            if any(t.get("serviceName") == service["serviceName"] and t.get("clusterName") == cluster for t in targets):
                ids = (
                    cd.list_deployments(
                        applicationName=app, deploymentGroupName=group_name, includeOnlyStatuses=["Succeeded"]
                    ).get("deployments")
                    or []
                )

                last = newest_records(aws, ids, 1)
                return dict(info), (deployment_appspec(aws, last[0].deployment_id) if last else None)
    raise InputError(
        f"service {service['serviceName']} has the CODE_DEPLOY controller, and no CodeDeploy deployment group names it"
    )


def _pages(client: Any, op: str, key: str, **kwargs: Any) -> list[str]:
    out: list[str] = []
    for page in client.get_paginator(op).paginate(**kwargs):
        out.extend(page.get(key) or [])
    return out


def _target_groups(aws: Aws, refs: list[str]) -> dict[str, dict[str, Any]]:
    """DescribeTargetGroups by ARN or name, keyed by ARN."""
    elb = aws.client("elbv2")
    arns = [r for r in refs if r.startswith("arn:")]
    names = [r for r in refs if not r.startswith("arn:")]
    found: list[dict[str, Any]] = []
    if arns:
        found += elb.describe_target_groups(TargetGroupArns=list(dict.fromkeys(arns)))["TargetGroups"]
    if names:
        found += elb.describe_target_groups(Names=list(dict.fromkeys(names)))["TargetGroups"]
    return {tg["TargetGroupArn"]: tg for tg in found}


def secret_looking(taskdef: dict[str, Any]) -> list[str]:
    """`container.NAME` of each environment variable whose name or value looks like a secret."""
    found = []
    for c in taskdef.get("containerDefinitions") or []:
        for e in c.get("environment") or []:
            name, value = str(e.get("name", "")), str(e.get("value", ""))
            if _SECRET_NAME.search(name) or any(p.search(value) for p in _SECRET_VALUE):
                found.append(f"{c.get('name')}.{name}")
    return found


def without_env(taskdef: dict[str, Any], omit: list[str]) -> dict[str, Any]:
    """The task definition without the named variables (`NAME` or `container.NAME`)."""
    doc = copy.deepcopy(taskdef)
    for c in doc.get("containerDefinitions") or []:
        keep = [
            e
            for e in c.get("environment") or []
            if e.get("name") not in omit and f"{c.get('name')}.{e.get('name')}" not in omit
        ]
        if "environment" in c:
            c["environment"] = keep
    return doc


def _escape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _escape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape(v) for v in value]
    return value.replace("${", "$${") if isinstance(value, str) else value


def template_of(taskdef: dict[str, Any], container: str, values: dict[str, str]) -> dict[str, Any]:
    """The template: `${image}` for the service container's image, `${key}` for each whole string equal
    to an outputs value (PLACEHOLDER_KEYS), any literal `${` escaped."""
    by_value = {values[k]: k for k in PLACEHOLDER_KEYS if values.get(k)}

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str):
            return f"${{{by_value[value]}}}" if value in by_value else _escape(value)
        return value

    doc = walk(taskdef)
    for c in doc.get("containerDefinitions") or []:
        if c.get("name") == container:
            c["image"] = "${image}"
    return dict(doc)


def service_container(live: LiveService, chosen: str | None) -> tuple[str, int]:
    """(container, port) the outputs name: --container, else the load balancer's, else the only one."""
    names = [str(c.get("name")) for c in live.taskdef.get("containerDefinitions") or []]
    lbs = live.service.get("loadBalancers") or []
    name = chosen or (lbs[0].get("containerName") if lbs else None) or (names[0] if len(names) == 1 else None)
    if name is None:
        raise InputError(
            f"service {live.name}: {len(names)} containers and no load balancer to tell the service's own",
            hint=f"name it with --container ({', '.join(names)})",
        )
    if name not in names:
        raise InputError(f"--container {name}: the task definition has {', '.join(names)}")
    port = next(
        (int(lb["containerPort"]) for lb in lbs if lb.get("containerName") == name and lb.get("containerPort")), None
    )
    if port is None:
        container = next(c for c in live.taskdef["containerDefinitions"] if c.get("name") == name)
        port = next((int(p["containerPort"]) for p in container.get("portMappings") or [] if "containerPort" in p), 0)
    return name, port


def outputs_entry(aws: Aws, live: LiveService, container: str, port: int) -> dict[str, Any]:
    """The service's entry of the outputs contract, from what runs."""

    main = next(c for c in live.taskdef["containerDefinitions"] if c.get("name") == container)
    options = (main.get("logConfiguration") or {}).get("options") or {}
    image = str(main.get("image", ""))
    ecr = re.match(r"^(\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[^:@]+)", image)
    entry: dict[str, Any] = dict.fromkeys(SERVICE_KEYS, "")
    entry.update(
        cluster_name=live.cluster,
        service_name=live.name,
        container_name=container,
        container_port=port,
        ecr_repository_url=ecr.group(1) if ecr else "",
        task_execution_role_arn=str(live.taskdef.get("executionRoleArn", "")),
        task_role_arn=str(live.taskdef.get("taskRoleArn", "")),
        log_group_name=str(options.get("awslogs-group", "")),
        deployment_engine=live.engine,
    )
    lbs = live.service.get("loadBalancers") or []
    if live.group is not None:
        entry.update(
            codedeploy_app_name=live.group["applicationName"],
            codedeploy_deployment_group_name=live.group["deploymentGroupName"],
        )
        pair = ((live.group.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or [{}])[0]
        names = [tg.get("name", "") for tg in pair.get("targetGroups") or []] + ["", ""]
        entry.update(blue_target_group_name=names[0], green_target_group_name=names[1])
        entry["prod_listener_arn"] = next(iter((pair.get("prodTrafficRoute") or {}).get("listenerArns") or []), "")
        entry["test_listener_arn"] = next(iter((pair.get("testTrafficRoute") or {}).get("listenerArns") or []), "")
    elif lbs and lbs[0].get("targetGroupArn"):
        lb = lbs[0]
        advanced = lb.get("advancedConfiguration") or {}
        entry["blue_target_group_name"] = target_group_name(lb["targetGroupArn"])
        if advanced.get("alternateTargetGroupArn"):
            entry["green_target_group_name"] = target_group_name(advanced["alternateTargetGroupArn"])
        entry["prod_listener_rule_arn"] = str(advanced.get("productionListenerRule", ""))
        entry["test_listener_rule_arn"] = str(advanced.get("testListenerRule", ""))
        entry["ecs_infrastructure_role_arn"] = str(advanced.get("roleArn", ""))
        entry.update(_listener_of(aws, live.target_groups.get(lb["targetGroupArn"]) or {}, entry))
    tg = next(iter(live.target_groups.values()), None)
    if tg and tg.get("LoadBalancerArns"):
        found = aws.client("elbv2").describe_load_balancers(LoadBalancerArns=tg["LoadBalancerArns"][:1])[
            "LoadBalancers"
        ]
        entry["alb_dns_name"] = str(found[0].get("DNSName", "")) if found else ""
    return entry


def _listener_of(aws: Aws, tg: dict[str, Any], entry: dict[str, Any]) -> dict[str, str]:
    """The listener (and rule) that forwards to the target group, for a service without CodeDeploy."""
    elb = aws.client("elbv2")
    arn = tg.get("TargetGroupArn")
    for lb_arn in tg.get("LoadBalancerArns") or []:
        for listener in elb.describe_listeners(LoadBalancerArn=lb_arn).get("Listeners") or []:
            for rule in elb.describe_rules(ListenerArn=listener["ListenerArn"]).get("Rules") or []:
                if any(_forwards_to(a, arn) for a in rule.get("Actions") or []):
                    found = {"prod_listener_arn": listener["ListenerArn"]}
                    if not rule.get("IsDefault") and not entry["prod_listener_rule_arn"]:
                        found["prod_listener_rule_arn"] = rule["RuleArn"]
                    return found
    return {}


def _forwards_to(action: dict[str, Any], arn: Any) -> bool:
    if action.get("TargetGroupArn") == arn:
        return True
    return any(g.get("TargetGroupArn") == arn for g in (action.get("ForwardConfig") or {}).get("TargetGroups") or [])


def appspec_of(live: LiveService, container: str, port: int, values: dict[str, str]) -> dict[str, Any]:
    """The AppSpec: the last succeeded deployment's (task definition back to its placeholder, hook
    functions that the outputs name as placeholders), else the one this project starts with."""

    if live.appspec:
        doc = copy.deepcopy(live.appspec)
        for resource in doc.get("Resources") or []:
            for body in resource.values():
                if isinstance(body, dict) and body.get("Type") == "AWS::ECS::Service":
                    body.setdefault("Properties", {})["TaskDefinition"] = TASK_DEFINITION_PLACEHOLDER
        fn = values.get("smoke_test_function_name")
        for hook in doc.get("Hooks") or []:
            for event, name in list(hook.items()):
                if fn and name == fn:
                    hook[event] = "${smoke_test_function_name}"
        return dict(doc)
    props: dict[str, Any] = {
        "TaskDefinition": TASK_DEFINITION_PLACEHOLDER,
        "LoadBalancerInfo": {"ContainerName": container, "ContainerPort": port},
    }
    if live.service.get("platformVersion") and live.service["platformVersion"] != "LATEST":
        props["PlatformVersion"] = live.service["platformVersion"]
    return {"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": props}}]}


@dataclass(frozen=True)
class Adoption:
    """What adopt writes (path relative to the project root -> text) and what it says."""

    key: str
    engine: str
    files: dict[str, str]
    skipped: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]
    imports: tuple[str, ...]


def build_adoption(
    aws: Aws,
    region: str,
    live: LiveService,
    *,
    key: str,
    container: str | None = None,
    omit_env: tuple[str, ...] = (),
    plain_env: tuple[str, ...] = (),
    top_level: bool = False,
    root_addresses: Any = None,
    root_imports: Any = None,
) -> Adoption:
    """Every file's text, checked: no secret-looking value in them, and the template renders back to the
    live task definition (less any variable left out with --omit-env)."""
    import json

    name, port = service_container(live, container)
    for flag, names in (("--omit-env", omit_env), ("--plain-env", plain_env)):
        unknown = [o for o in names if not _names_env(live.taskdef, o)]
        if unknown:
            raise InputError(f"{flag} {unknown[0]}: the task definition has no such environment variable")
    # --plain-env: the user confirms that a variable flagged by its name or value is not a secret.
    chosen = (*omit_env, *plain_env)
    secret = [s for s in secret_looking(live.taskdef) if s not in chosen and s.split(".", 1)[1] not in chosen]
    if secret:
        raise InputError(
            f"service {live.name}: environment variables that look secret: {', '.join(secret)}; "
            "a file must not hold their values",
            hint="move them to the container's `secrets` (valueFrom: a Secrets Manager secret or an SSM parameter) "
            "and adopt again, or leave them out with --omit-env NAME and add them as `secrets` to the template "
            "(--plain-env NAME keeps one that is not a secret)",
        )
    taskdef = without_env(live.taskdef, list(omit_env))
    entry = outputs_entry(aws, live, name, port)
    values = {k: str(v) for k, v in entry.items()} | {"aws_region": region}
    template = template_of(taskdef, name, values)
    _check_round_trip(template, taskdef, entry, region, name)
    where = "" if top_level else f"{SERVICES_DIR}/{key}/"
    files = {f"{where}{TASKDEF}": json.dumps(template, indent=2) + "\n"}
    if live.engine == "codedeploy":
        files[f"{where}{APPSPEC}"] = json.dumps(appspec_of(live, name, port, values), indent=2) + "\n"
    outputs = {
        "aws_region": {"sensitive": False, "type": "string", "value": region},
        "services": {"sensitive": False, "value": {key: entry}},
    }
    files[f"{SERVICES_DIR}/{key}/outputs.json"] = json.dumps(outputs, indent=2) + "\n"
    if live.engine == "codedeploy":
        if key != live.name:
            raise InputError(
                f"--key {key}: the CodeDeploy root names the ECS service after its key; use --key {live.name}"
            )
        plan = tf.plan_codedeploy(live, key, entry, root_addresses)
    else:
        plan = tf.plan_ecs_native(live, key, entry, root_addresses, root_imports)
    if any(not i.by_root for i in plan.imports):
        files[f"{plan.root}/adopt-{key}.tf"] = plan.imports_hcl(key)
    files[f"{plan.root}/adopt-{key}.services.hcl"] = plan.services_hcl(key)
    notes = _notes(live, template, plan, f"{where}{TASKDEF}", omit_env)
    return Adoption(
        key,
        live.engine,
        files,
        tuple((s.resource, s.reason) for s in plan.skipped),
        tuple(notes),
        tuple(i.address for i in plan.imports),
    )


def _notes(
    live: LiveService, template: dict[str, Any], plan: Any, taskdef_file: str, omit_env: tuple[str, ...]
) -> list[str]:
    """What the user checks or does after adopt."""
    plain = [
        f"{c.get('name')}.{e.get('name')}"
        for c in template.get("containerDefinitions") or []
        for e in c.get("environment") or []
    ]
    notes = []
    if plain:
        notes.append(f"kept as plain values in {taskdef_file}: {', '.join(plain)} (check that none is a secret)")
    missing = [k for k in ("executionRoleArn", "taskRoleArn") if k not in template]
    if live.engine == "codedeploy" and missing:
        # modules/ecs-service's bootstrap precondition: both roles come from the outputs' placeholders.
        notes.append(
            f"the live task definition has no {' or '.join(missing)}; terraform/ renders {taskdef_file} and "
            "requires executionRoleArn = ${task_execution_role_arn} and taskRoleArn = ${task_role_arn}"
        )
    notes += [
        f"{i.address} is imported by {plan.root}/'s own import block (adopt_existing = true)"
        for i in plan.imports
        if i.by_root
    ]
    if omit_env:
        notes.append(f"left out of {taskdef_file}: {', '.join(omit_env)}; add them to the template as `secrets`")
    return notes


def _names_env(taskdef: dict[str, Any], name: str) -> bool:
    return any(
        e.get("name") == name or f"{c.get('name')}.{e.get('name')}" == name
        for c in taskdef.get("containerDefinitions") or []
        for e in c.get("environment") or []
    )


def _check_round_trip(
    template: dict[str, Any], taskdef: dict[str, Any], entry: dict[str, Any], region: str, name: str
) -> None:
    """`render` of the template with the outputs entry must give back the live task definition."""

    outputs = parse_outputs({"aws_region": region, "services": {"adopted": entry}}, "adopt")
    image = image_of(taskdef, name)
    rendered = render(
        template,
        "adopted taskdef.json",
        placeholder_values(outputs, outputs.services["adopted"], image),
        container=name,
    )
    if comparable(rendered.taskdef) != comparable(taskdef):
        raise InputError(f"the template does not render back to the live task definition of {name}; please report this")

"""The ECS-native wiring of a service, checked before any write (a release's validation): what ECS needs
for a blue/green, linear or canary deployment and what the outputs say it has.

ECS developer guide, "Required resources for Amazon ECS blue/green deployments" and the migration
prerequisites: the service uses the ECS deployment controller; its load balancer names the alternate
target group, the production (and test) listener rule and the infrastructure role (trusted by
ecs.amazonaws.com); both target groups are on the rules, or the deployment "rolled back because of
invalid networking configuration"; Lambda hooks name functions that exist and a role. Each problem is one
line naming what to fix; reads only.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

TRAFFIC_STRATEGIES = ("BLUE_GREEN", "LINEAR", "CANARY")


def _trusts_ecs(document: Any) -> bool:
    if isinstance(document, str):
        document = json.loads(urllib.parse.unquote(document))
    for statement in (document or {}).get("Statement") or []:
        principal = (statement.get("Principal") or {}).get("Service")
        services = principal if isinstance(principal, list) else [principal]
        if statement.get("Effect") == "Allow" and "ecs.amazonaws.com" in services:
            return True
    return False


def _rule_groups(elbv2: Any, rule: str) -> set[str] | None:
    """Target groups the rule (or, for an NLB, the listener) forwards to; None when it does not exist."""
    try:
        if ":listener-rule/" in rule:
            actions = elbv2.describe_rules(RuleArns=[rule])["Rules"][0]["Actions"]
        else:
            actions = elbv2.describe_listeners(ListenerArns=[rule])["Listeners"][0]["DefaultActions"]
    except Exception:
        return None
    groups: set[str] = set()
    for action in actions:
        if action.get("TargetGroupArn"):
            groups.add(action["TargetGroupArn"])
        groups |= {g["TargetGroupArn"] for g in (action.get("ForwardConfig") or {}).get("TargetGroups") or []}
    return groups


def problems(clients: Any, key: str, svc: Any) -> list[str]:
    """What is wrong with service `key` (outputs `svc`, a contract.ServiceOutputs) for ECS's own deployments.
    `clients(name)` gives a boto3 client."""
    ecs = clients("ecs")
    where = f"services.{key}"
    found = ecs.describe_services(cluster=svc.cluster_name, services=[svc.service_name]).get("services") or []
    if not found or found[0].get("status") != "ACTIVE":
        return [f"{where}: no active ECS service {svc.service_name} in cluster {svc.cluster_name}"]
    service = found[0]
    controller = (service.get("deploymentController") or {}).get("type", "ECS")
    if controller != "ECS":
        return [
            f"{where}.deployment_engine is ecs, but the service's deployment controller is {controller}: "
            "migrate it (UpdateService deploymentController ECS) or set deployment_engine to codedeploy"
        ]
    config = service.get("deploymentConfiguration") or {}
    out: list[str] = []
    if config.get("strategy", "ROLLING") in TRAFFIC_STRATEGIES:
        out += _traffic(clients, where, svc, service)
    out += _hooks(clients, where, config)
    return out


def _traffic(clients: Any, where: str, svc: Any, service: dict[str, Any]) -> list[str]:
    elbv2 = clients("elbv2")
    lb = next((lb for lb in service.get("loadBalancers") or [] if lb.get("advancedConfiguration")), None)
    if lb is None:
        return [
            f"{where}: the service's load balancer has no advancedConfiguration (alternate target group, rules, role)"
        ]
    adv = lb["advancedConfiguration"]
    out: list[str] = []
    for output, field in (
        ("prod_listener_rule_arn", "productionListenerRule"),
        ("test_listener_rule_arn", "testListenerRule"),
    ):
        given = getattr(svc, output)
        if given and given != adv.get(field):
            out.append(f"{where}.{output} is {given}, but the service's {field} is {adv.get(field) or 'not set'}")
    names = {svc.blue_target_group_name, svc.green_target_group_name}
    pair = [lb.get("targetGroupArn"), adv.get("alternateTargetGroupArn")]
    try:
        known = {
            tg["TargetGroupArn"]: tg["TargetGroupName"]
            for tg in elbv2.describe_target_groups(TargetGroupArns=[a for a in pair if a])["TargetGroups"]
        }
    except Exception:
        known = {}
    for arn in pair:
        if not arn or arn not in known:
            out.append(f"{where}: the service's target group {arn or '(none)'} does not exist")
        elif known[arn] not in names:
            out.append(
                f"{where}: the service uses target group {known[arn]}, not the outputs' pair {', '.join(sorted(names))}"
            )
    ruled: set[str] = set()
    for field in ("productionListenerRule", "testListenerRule"):
        rule = adv.get(field)
        if not rule:
            continue
        groups = _rule_groups(elbv2, rule)
        if groups is None:
            out.append(f"{where}: the service's {field} {rule} does not exist")
        else:
            ruled |= groups
    if not adv.get("productionListenerRule"):
        out.append(f"{where}: the service's advancedConfiguration has no productionListenerRule")
    elif all(pair) and not set(pair) <= ruled:
        out.append(
            f"{where}: the listener rules do not forward to both target groups ({', '.join(sorted(names))}): ECS would "
            "roll the deployment back (invalid networking configuration); add both to the rules' forward actions"
        )
    out += _role(clients, where, adv.get("roleArn"), "infrastructure role", svc.ecs_infrastructure_role_arn)
    return out


def _role(clients: Any, where: str, arn: str | None, what: str, expected: str | None = None) -> list[str]:
    if not arn:
        return [f"{where}: the service names no {what}"]
    if expected and expected != arn:
        return [f"{where}.ecs_infrastructure_role_arn is {expected}, but the service's {what} is {arn}"]
    try:
        role = clients("iam").get_role(RoleName=arn.rsplit("/", 1)[-1])["Role"]
    except Exception:
        return [f"{where}: the {what} {arn} does not exist"]
    if not _trusts_ecs(role.get("AssumeRolePolicyDocument")):
        return [f"{where}: the {what} {arn} does not trust ecs.amazonaws.com (its trust policy)"]
    return []


def _hooks(clients: Any, where: str, config: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for index, hook in enumerate(config.get("lifecycleHooks") or []):
        if hook.get("targetType", "AWS_LAMBDA") != "AWS_LAMBDA":
            continue
        arn = str(hook.get("hookTargetArn") or "")
        try:
            clients("lambda").get_function(FunctionName=arn)
        except Exception:
            out.append(f"{where}: lifecycle hook {index} names function {arn or '(none)'}, which does not exist")
        out += _role(clients, where, hook.get("roleArn"), f"lifecycle hook {index}'s role")
    return out

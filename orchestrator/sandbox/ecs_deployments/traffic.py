"""Listener rule weights: how ECS moves traffic between the blue and green target groups.

AdvancedConfiguration (API reference): productionListenerRule / testListenerRule are the ARN of "the
production listener rule (in the case of an Application Load Balancer) or listener (in the case for an
Network Load Balancer)". ECS changes the rule's forward action to weighted target groups, both groups
kept in it (the idle one at weight 0): the same form CodeDeploy uses, so DescribeRules shows the shift.
"""

from __future__ import annotations

from typing import Any


def _elbv2(account: str, region: str) -> Any:
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[account][region]


def _forward(weights: dict[str, float]) -> dict[str, Any]:
    groups = [{"TargetGroupArn": arn, "Weight": round(w)} for arn, w in weights.items()]
    return {"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}


def set_weights(account: str, region: str, rule_arn: str | None, weights: dict[str, float]) -> None:
    """Point `rule_arn` (a listener rule, or a listener) at the target groups with these weights."""
    if not rule_arn:
        return
    elbv2 = _elbv2(account, region)
    action = _forward(weights)
    if ":listener-rule/" in rule_arn:
        elbv2.modify_rule(rule_arn, conditions=[], actions=[action])
    else:
        elbv2.modify_listener(rule_arn, certificates=[], actions=[action])


def read_weights(account: str, region: str, rule_arn: str) -> dict[str, int]:
    """Target group ARN -> weight of the rule's (or listener's) forward action."""
    elbv2 = _elbv2(account, region)
    if ":listener-rule/" in rule_arn:
        actions = elbv2.describe_rules(listener_arn=None, rule_arns=[rule_arn])[0].actions
    else:
        actions = elbv2.describe_listeners(load_balancer_arn=None, listener_arns=[rule_arn])[0].default_actions
    forward = next((a.data for a in actions if a.data.get("Type") == "forward"), None)
    if forward is None:
        return {}
    groups = (forward.get("ForwardConfig") or {}).get("TargetGroups") or []
    if groups:
        return {g["TargetGroupArn"]: int(g.get("Weight", 1)) for g in groups}
    return {forward["TargetGroupArn"]: 1} if forward.get("TargetGroupArn") else {}


def check_wiring(account: str, region: str, service_tg: str, advanced: dict[str, Any]) -> str | None:
    """Why ECS would refuse this advancedConfiguration (a missing rule, target group or role), or None."""
    from moto.iam.models import iam_backends

    elbv2 = _elbv2(account, region)
    alternate = advanced.get("alternateTargetGroupArn")
    try:
        found = {tg.arn for tg in elbv2.describe_target_groups(None, [service_tg, alternate], [])}
    except Exception:
        found = set()
    for arn in (service_tg, alternate):
        if arn not in found:
            return f"The target group {arn} does not exist."
    if alternate == service_tg:
        return "alternateTargetGroupArn must differ from the load balancer's targetGroupArn."
    for key in ("productionListenerRule", "testListenerRule"):
        rule = advanced.get(key)
        if not rule:
            continue
        try:
            weights = read_weights(account, region, rule)
        except Exception:
            return f"The {key} {rule} does not exist."
        if not set(weights) & {service_tg, alternate}:
            return f"The {key} {rule} does not forward to {service_tg} or {alternate}."
    role = str(advanced.get("roleArn") or "")
    name = role.rsplit("/", 1)[-1]
    try:
        iam_backends[account]["global"].get_role(name)
    except Exception:
        return f"The role {role} does not exist or cannot be assumed by ecs.amazonaws.com."
    return None

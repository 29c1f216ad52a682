"""`migrate --to ecs`: a CodeDeploy service moves to ECS's own blue/green in place (docs/migration.md).

Three parts, all before any write: what terraform/ecs-native's `migration` output says to send
(MigrationSettings), what AWS says now (Snapshot, read only), and from both the preflight (one Check per
precondition AWS documents, each refusal one line naming what to fix) and the plan (the UpdateService
request and the Terraform steps that follow). Executing the plan is the command's, through the engine
seam; nothing here writes.

Sources of the preconditions: ECS developer guide "Migrating from a CodeDeploy blue/green to an Amazon
ECS blue/green service deployment" and "Troubleshooting Amazon ECS deployment strategy updates";
containers-roadmap #2853 for reading the live target group.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestrator.ecs_read import forward_weights, primary_task_set, serving_task_definition, target_group_name
from orchestrator.errors import InputError

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.contract import ServiceOutputs

STRATEGIES = ("BLUE_GREEN", "LINEAR", "CANARY", "ROLLING")
# CodeDeploy statuses of a deployment that still holds the group (orchestrator.history's ACTIVE_STATUSES).
CODEDEPLOY_ACTIVE = ("Created", "Queued", "InProgress", "Baking", "Ready")
SERVICE_ADDRESS = 'module.ecs_native_service["{key}"].aws_ecs_service.this'


@dataclass(frozen=True)
class MigrationSettings:
    """One service's entry of terraform/ecs-native's `migration` output."""

    prod_listener_rule_arn: str
    test_listener_rule_arn: str
    infrastructure_role_arn: str
    hook_role_arn: str = ""
    strategy: str = "BLUE_GREEN"
    bake_time_minutes: int = 5
    linear: dict[str, Any] = field(default_factory=dict)
    canary: dict[str, Any] = field(default_factory=dict)
    lifecycle_hooks: tuple[dict[str, Any], ...] = ()
    alarm_names: tuple[str, ...] = ()
    alarm_rollback: bool = True
    circuit_breaker_rollback: bool = True

    @property
    def blue_green(self) -> bool:
        return self.strategy != "ROLLING"


def parse_migration(raw: Any, source: str) -> dict[str, MigrationSettings]:
    """The `migration` output (`terraform output -json`'s wrapped form or a plain map) by service key."""
    if isinstance(raw, dict) and "migration" in raw:
        raw = raw["migration"]
    if isinstance(raw, dict) and "value" in raw and ("type" in raw or "sensitive" in raw):
        raw = raw["value"]
    if not isinstance(raw, dict) or not raw:
        raise InputError(f"{source}: expected the `migration` output of terraform/ecs-native (a map of services)")
    out: dict[str, MigrationSettings] = {}
    for key, entry in raw.items():
        if not isinstance(entry, dict):
            raise InputError(f"{source}: migration.{key} must be an object")
        missing = [
            k for k in ("prod_listener_rule_arn", "test_listener_rule_arn", "infrastructure_role_arn") if k not in entry
        ]
        if missing:
            raise InputError(f"{source}: migration.{key} is missing {', '.join(missing)}")
        strategy = str(entry.get("strategy") or "BLUE_GREEN")
        if strategy not in STRATEGIES:
            raise InputError(
                f"{source}: migration.{key}.strategy is {strategy!r}; expected one of {', '.join(STRATEGIES)}"
            )
        out[key] = MigrationSettings(
            prod_listener_rule_arn=str(entry["prod_listener_rule_arn"] or ""),
            test_listener_rule_arn=str(entry["test_listener_rule_arn"] or ""),
            infrastructure_role_arn=str(entry["infrastructure_role_arn"] or ""),
            hook_role_arn=str(entry.get("hook_role_arn") or ""),
            strategy=strategy,
            bake_time_minutes=int(entry.get("bake_time_minutes", 5)),
            linear=dict(entry.get("linear") or {}),
            canary=dict(entry.get("canary") or {}),
            lifecycle_hooks=tuple(dict(h) for h in entry.get("lifecycle_hooks") or ()),
            alarm_names=tuple(str(a) for a in entry.get("alarm_names") or ()),
            alarm_rollback=bool(entry.get("alarm_rollback", True)),
            circuit_breaker_rollback=bool(entry.get("circuit_breaker_rollback", True)),
        )
    return out


@dataclass
class Snapshot:
    """What AWS says now, read without writing anything."""

    service: dict[str, Any]
    prod_weights: dict[str, float]  # target group ARN -> percent of the production listener's default action
    target_groups: dict[str, str]  # "blue"/"green" -> ARN ("" when missing)
    rules: dict[str, dict[str, Any] | None]  # rule ARN -> the rule, None when it does not exist
    roles: dict[str, bool]  # role ARN -> exists
    codedeploy_active: list[str]  # CodeDeploy deployments still holding the group
    task_definition_status: str  # of the serving task definition ("" when it cannot be read)


def _rule(elb: Any, arn: str) -> dict[str, Any] | None:
    from orchestrator.aws import error_code

    if not arn:
        return None
    try:
        found = elb.describe_rules(RuleArns=[arn]).get("Rules") or []
    except Exception as exc:
        if error_code(exc) in ("RuleNotFound", "ValidationError"):
            return None
        raise
    return dict(found[0]) if found else None


def _role_exists(iam: Any, arn: str) -> bool:
    from orchestrator.aws import error_code

    try:
        iam.get_role(RoleName=arn.rsplit("/", 1)[-1])
    except Exception as exc:
        if error_code(exc) == "NoSuchEntity":
            return False
        raise
    return True


def read_snapshot(aws: Aws, svc: ServiceOutputs, settings: MigrationSettings) -> Snapshot:
    from orchestrator.history import list_deployment_ids
    from orchestrator.status import describe_service

    service = describe_service(aws, svc)
    elb = aws.client("elbv2")
    listener = (elb.describe_listeners(ListenerArns=[svc.prod_listener_arn]).get("Listeners") or [{}])[0]
    groups = elb.describe_target_groups(Names=[svc.blue_target_group_name, svc.green_target_group_name])
    by_name = {g["TargetGroupName"]: g["TargetGroupArn"] for g in groups.get("TargetGroups") or []}
    iam = aws.client("iam")
    role_arns = [a for a in (settings.infrastructure_role_arn, settings.hook_role_arn) if a]
    active = list_deployment_ids(aws, svc, CODEDEPLOY_ACTIVE) if svc.codedeploy_app_name else []
    serving = serving_task_definition(service)
    status = ""
    if serving:
        described = aws.client("ecs").describe_task_definition(taskDefinition=serving)
        status = str(described.get("taskDefinition", {}).get("status", ""))
    return Snapshot(
        service=service,
        prod_weights=forward_weights(listener),
        target_groups={
            "blue": by_name.get(svc.blue_target_group_name, ""),
            "green": by_name.get(svc.green_target_group_name, ""),
        },
        rules={
            arn: _rule(elb, arn) for arn in (settings.prod_listener_rule_arn, settings.test_listener_rule_arn) if arn
        },
        roles={arn: _role_exists(iam, arn) for arn in role_arns},
        codedeploy_active=active,
        task_definition_status=status,
    )


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    line: str  # what was found, or what to fix


def live_target_group(snap: Snapshot) -> str | None:
    """The one target group of the pair that takes all production traffic now (blue or green), or None."""
    full = [arn for arn, pct in snap.prod_weights.items() if pct >= 100.0]
    pair = {a for a in snap.target_groups.values() if a}
    return full[0] if len(full) == 1 and full[0] in pair else None


def _rule_weights(rule: dict[str, Any]) -> dict[str, float]:
    return forward_weights({"DefaultActions": rule.get("Actions") or []})


def _listener_of(rule_arn: str) -> str:
    """arn:...:listener-rule/app/<lb>/<id>/<listener>/<rule> -> arn:...:listener/app/<lb>/<id>/<listener>."""
    return rule_arn.replace(":listener-rule/", ":listener/", 1).rsplit("/", 1)[0]


# AWS's refusal when the service has several task sets (ECS developer guide, troubleshooting page).
_MANY_TASK_SETS = "Updating the deployment controller is not supported when there are multiple tasksets in the service"


def _rule_check(
    name: str, arn: str, listener: str, snap: Snapshot, svc: ServiceOutputs, live: str | None
) -> tuple[Check, set[str]]:
    """One listener rule: exists, on the service's listener, forwards within the pair (the production
    rule with all weight on the live target group); and the target groups it names."""
    pair = {a for a in snap.target_groups.values() if a}
    rule = snap.rules.get(arn) if arn else None
    if rule is None:
        return Check(
            name, False, f"{arn or 'no rule ARN'} does not exist: apply terraform/ecs-native's rules first"
        ), set()
    if _listener_of(arn) != listener:
        return Check(name, False, f"{arn} is not a rule of the service's listener {listener}"), set()
    weights = _rule_weights(rule)
    stray = sorted(target_group_name(a) for a in weights if a not in pair)
    if stray:
        pair_names = f"{svc.blue_target_group_name}/{svc.green_target_group_name}"
        return Check(name, False, f"{arn} forwards to {', '.join(stray)}, outside the pair {pair_names}"), set()
    if name == "production rule" and live and weights.get(live, 0.0) < 100.0:
        live_name = target_group_name(live)
        line = (
            f"forwards {weights.get(live, 0.0):.0f}% to the live {live_name}: ECS would shift from the wrong "
            f"side (containers-roadmap #2853); set it to 100% on {live_name}"
        )
        return Check(name, False, line), set(weights)
    shown = ", ".join(f"{target_group_name(a)} {w:.0f}%" for a, w in sorted(weights.items()))
    return Check(name, True, f"{arn.rsplit('/', 1)[-1]} on its listener: {shown}"), set(weights)


def _check_rules(snap: Snapshot, svc: ServiceOutputs, settings: MigrationSettings, live: str | None) -> list[Check]:
    if not settings.blue_green:
        return []  # a rolling service gets no rules
    prod, prod_groups = _rule_check(
        "production rule", settings.prod_listener_rule_arn, svc.prod_listener_arn, snap, svc, live
    )
    test, test_groups = _rule_check(
        "test rule", settings.test_listener_rule_arn, svc.test_listener_arn, snap, svc, live
    )
    checks = [prod, test]
    pair = {a for a in snap.target_groups.values() if a}
    if prod.ok and test.ok and (prod_groups | test_groups) != pair:
        line = "both target groups must be on the production or test rule, or ECS rolls the first deployment back"
        checks.append(Check("target groups on the rules", False, line))
    return checks


def _check_controller_and_activity(snap: Snapshot) -> list[Check]:
    controller = (snap.service.get("deploymentController") or {}).get("type", "ECS")
    ok = controller == "CODE_DEPLOY"
    checks = [
        Check("deployment controller", ok, controller if ok else f"{controller}: only a CODE_DEPLOY service migrates")
    ]
    ecs_busy = [d.get("id", "") for d in snap.service.get("deployments") or [] if d.get("status") != "PRIMARY"]
    busy = snap.codedeploy_active or ecs_busy
    line = "none" if not busy else f"{', '.join(busy)} in progress: wait for it or stop it (orchestrator stop)"
    checks.append(Check("no deployment in progress", not busy, line))
    sets = snap.service.get("taskSets") or []
    primary = primary_task_set(snap.service)
    if len(sets) == 1 and primary is not None:
        checks.append(Check("one PRIMARY task set", True, str(primary.get("id", ""))))
    else:
        line = (
            f"{len(sets)} task set(s), {'one' if primary else 'none'} PRIMARY: AWS refuses the switch "
            f'("{_MANY_TASK_SETS}"); finish or stop the deployment that left them'
        )
        checks.append(Check("one PRIMARY task set", False, line))
    return checks


def _check_live(snap: Snapshot, svc: ServiceOutputs) -> tuple[Check, str | None]:
    live = live_target_group(snap)
    weights = ", ".join(f"{target_group_name(a)} {w:.0f}%" for a, w in sorted(snap.prod_weights.items()))
    weights = weights or "no forward action"
    if live:
        return Check("live target group", True, f"{target_group_name(live)} (production listener: {weights})"), live
    line = (
        f"the production listener forwards {weights}: expected 100% on "
        f"{svc.blue_target_group_name} or {svc.green_target_group_name}"
    )
    return Check("live target group", False, line), None


def _check_roles_and_revision(snap: Snapshot, settings: MigrationSettings) -> list[Check]:
    checks: list[Check] = []
    roles = [("infrastructure role", settings.infrastructure_role_arn)] if settings.blue_green else []
    if settings.lifecycle_hooks:
        roles.append(("hook role", settings.hook_role_arn))
    for name, arn in roles:
        exists = bool(arn) and snap.roles.get(arn, False)
        line = arn if exists else f"{arn or 'none given'} does not exist: apply terraform/ecs-native's roles first"
        checks.append(Check(name, exists, line))
    serving = serving_task_definition(snap.service) or ""
    kept = bool(serving) and snap.task_definition_status == "ACTIVE"
    if kept:
        line = f"keeps {serving.rsplit('/', 1)[-1]}, the primary task set's"
    else:
        status = snap.task_definition_status or "unreadable"
        line = f"{serving or 'none'} is {status}: the switch keeps the revision serving production"
    checks.append(Check("serving task definition", kept, line))
    return checks


def preflight(snap: Snapshot, svc: ServiceOutputs, settings: MigrationSettings) -> list[Check]:
    """Every precondition, in order; a refused one says what to fix. Pure: reads only the snapshot."""
    checks = _check_controller_and_activity(snap)
    live_check, live = _check_live(snap, svc)
    checks.append(live_check)
    checks += _check_rules(snap, svc, settings, live)
    checks += _check_roles_and_revision(snap, settings)
    return checks


@dataclass(frozen=True)
class MigrationPlan:
    service_key: str
    cluster: str
    service: str
    live_target_group_arn: str
    alternate_target_group_arn: str
    task_definition: str
    update_service: dict[str, Any]
    terraform_steps: tuple[str, ...]


def deployment_configuration(settings: MigrationSettings) -> dict[str, Any]:
    """UpdateService's deploymentConfiguration, as terraform/ecs-native's service declares it."""
    config: dict[str, Any] = {"strategy": settings.strategy}
    if settings.blue_green:
        config["bakeTimeInMinutes"] = settings.bake_time_minutes
    else:
        config["deploymentCircuitBreaker"] = {"enable": True, "rollback": settings.circuit_breaker_rollback}
    if settings.strategy == "LINEAR":
        config["linearConfiguration"] = {
            "stepPercent": float(settings.linear.get("step_percent", 10)),
            "stepBakeTimeInMinutes": int(settings.linear.get("step_bake_time_minutes", 1)),
        }
    if settings.strategy == "CANARY":
        config["canaryConfiguration"] = {
            "canaryPercent": float(settings.canary.get("percent", 10)),
            "canaryBakeTimeInMinutes": int(settings.canary.get("bake_time_minutes", 5)),
        }
    if settings.blue_green and settings.lifecycle_hooks:
        config["lifecycleHooks"] = [_hook(h, settings.hook_role_arn) for h in settings.lifecycle_hooks]
    if settings.alarm_names:
        config["alarms"] = {
            "alarmNames": list(settings.alarm_names),
            "enable": True,
            "rollback": settings.alarm_rollback,
        }
    return config


def _hook(hook: dict[str, Any], role_arn: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "hookTargetArn": str(hook["function_arn"]),
        "roleArn": role_arn,
        "lifecycleStages": list(hook["stages"]),
    }
    if hook.get("details"):
        out["hookDetails"] = json.loads(hook["details"])
    return out


def build_plan(key: str, snap: Snapshot, svc: ServiceOutputs, settings: MigrationSettings) -> MigrationPlan:
    """The UpdateService request (the live target group primary) and the Terraform steps; call after a
    preflight with no refusal."""
    live = live_target_group(snap)
    serving = serving_task_definition(snap.service)
    if live is None or not serving:
        raise InputError(
            f"{key}: no plan without a live target group and a serving task definition (run the preflight)"
        )
    alternate = next(a for a in snap.target_groups.values() if a and a != live)
    balancer: dict[str, Any] = {
        "targetGroupArn": live,
        "containerName": svc.container_name,
        "containerPort": svc.container_port,
    }
    if settings.blue_green:
        balancer["advancedConfiguration"] = {
            "alternateTargetGroupArn": alternate,
            "productionListenerRule": settings.prod_listener_rule_arn,
            "testListenerRule": settings.test_listener_rule_arn,
            "roleArn": settings.infrastructure_role_arn,
        }
    request = {
        "cluster": svc.cluster_name,
        "service": svc.service_name,
        "taskDefinition": serving,
        "deploymentController": {"type": "ECS"},
        "deploymentConfiguration": deployment_configuration(settings),
        "loadBalancers": [balancer],
    }
    return MigrationPlan(
        key, svc.cluster_name, svc.service_name, live, alternate, serving, request, terraform_steps(key)
    )


def terraform_steps(key: str) -> tuple[str, ...]:
    """What follows the switch in Terraform, in order (docs/migration.md steps 4-6)."""
    address = SERVICE_ADDRESS.format(key=key)
    first_root = f'module.ecs_service["{key}"].aws_ecs_service.this'
    return (
        "terraform/: forget the service without destroying it: when every service moves, the block removed "
        "{ from = module.ecs_service.aws_ecs_service.this; lifecycle { destroy = false } }; for one of several, "
        f"terraform state rm '{first_root}' and stop declaring it (docs/migration.md, step 4)",
        f"terraform/ecs-native: terraform plan; accept it only if {address} is imported and nothing is replaced "
        "or destroyed (a replacement fails on prevent_destroy: refuse it, never apply it)",
        "terraform/ecs-native: terraform apply (the import)",
        f"terraform/: remove the CodeDeploy application and deployment group of {key} once their history is no "
        "longer needed (orchestrator history reads the CodeDeploy past from them)",
    )

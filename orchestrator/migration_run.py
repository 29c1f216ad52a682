"""Running `migrate --to ecs`: every service's preflight before any write, the plan, then per service the
UpdateService that switches the controller, the ECS service deployment it starts followed to its end,
and the result verified (docs/migration.md). Domain: emits events, never renders them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orchestrator.ecs_read import target_group_name
from orchestrator.errors import DeploymentFailed, InputError, TimedOut
from orchestrator.events import DoctorCheck, Message, for_service
from orchestrator.migrate import MigrationPlan, MigrationSettings, build_plan, preflight, read_snapshot

if TYPE_CHECKING:
    from orchestrator.target import Target

FINISHED = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
POLL_S = 5.0  # AWS seconds between reads of the service deployment (scaled by the sandbox's clock)


@dataclass(frozen=True)
class Prepared:
    target: Target
    plan: MigrationPlan | None  # None: already on the ECS controller, nothing to do


def _prepare(target: Target, settings: MigrationSettings | None, rep: Any) -> tuple[Prepared | None, str | None]:
    """(prepared, refusal): the preflight of one service, its checks reported."""
    key = target.service_key
    if settings is None:
        return None, f"{key}: terraform/ecs-native's migration output has no entry for it (add it to services there)"
    snap = read_snapshot(target.aws, target.service, settings)
    controller = (snap.service.get("deploymentController") or {}).get("type", "ECS")
    if controller == "ECS":
        rep.emit(Message(f"{key} already uses the ECS deployment controller: nothing to migrate"))
        return Prepared(target, None), None
    checks = preflight(snap, target.service, settings)
    for check in checks:
        rep.emit(DoctorCheck(check=check.name, status="pass" if check.ok else "fail", detail=check.line))
    refused = next((c for c in checks if not c.ok), None)
    if refused is not None:
        return None, f"{key}: {refused.name}: {refused.line}"
    return Prepared(target, build_plan(key, snap, target.service, settings)), None


def _show_plan(plan: MigrationPlan, rep: Any) -> None:
    live, alternate = target_group_name(plan.live_target_group_arn), target_group_name(plan.alternate_target_group_arn)
    rep.emit(Message(f"plan: UpdateService {plan.service}: controller ECS, primary {live}, alternate {alternate}"))
    rep.emit(Message("UpdateService " + json.dumps(plan.update_service, sort_keys=True)))
    for number, step in enumerate(plan.terraform_steps, 1):
        rep.emit(Message(f"then Terraform {number}: {step}"))


def run_migration(
    targets: list[Target],
    settings: dict[str, MigrationSettings],
    rep: Any,
    *,
    dry_run: bool,
    timeout_s: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    prepared: list[Prepared] = []
    refusals: list[str] = []
    for target in targets:
        found, refusal = _prepare(target, settings.get(target.service_key), for_service(rep, target.service_key))
        if refusal:
            refusals.append(refusal)
        elif found is not None:
            prepared.append(found)
    if refusals:
        others = [r.split(":", 1)[0] for r in refusals[1:]]
        more = f"; refused too: {', '.join(others)}" if others else ""
        raise InputError(refusals[0] + more, hint="nothing was changed")
    results: dict[str, Any] = {}
    for item in prepared:
        if item.plan is not None:
            _show_plan(item.plan, for_service(rep, item.target.service_key))
    for item in prepared:
        key = item.target.service_key
        if item.plan is None:
            results[key] = {"status": "already ECS"}
        elif dry_run:
            results[key] = {"status": "planned", "update_service": item.plan.update_service}
        else:
            results[key] = _switch(item.target, item.plan, for_service(rep, key), timeout_s, sleep)
    return {"dry_run": dry_run, "services": results}


def _switch(
    target: Target, plan: MigrationPlan, rep: Any, timeout_s: float | None, sleep: Callable[[float], None]
) -> dict[str, Any]:
    ecs = target.aws.client("ecs")
    ecs.update_service(**plan.update_service)
    rep.emit(Message(f"{plan.service}: deployment controller switched to ECS; following its service deployment"))
    deployment = _follow(target, rep, timeout_s, sleep)
    status = str(deployment.get("status"))
    if status != "SUCCESSFUL":
        reason = (deployment.get("rollback") or {}).get("reason") or deployment.get("statusReason") or status
        raise DeploymentFailed(f"{plan.service}: the service deployment after the switch ended {status}: {reason}")
    serving_tg = _verify(target, plan, deployment)
    rep.emit(
        Message(
            f"{plan.service}: verified: ECS controller, no task set, production 100% on {target_group_name(serving_tg)}"
        )
    )
    for number, step in enumerate(plan.terraform_steps, 1):
        rep.emit(Message(f"next, Terraform {number}: {step}"))
    return {
        "status": "migrated",
        "service_deployment": deployment.get("serviceDeploymentArn"),
        "production": serving_tg,
    }


def _follow(target: Target, rep: Any, timeout_s: float | None, sleep: Callable[[float], None]) -> dict[str, Any]:
    """The service's newest service deployment, read until it finishes (its stage changes reported)."""
    ecs, svc = target.aws.client("ecs"), target.service
    scale = target.time_scale or 1.0
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    seen = ""
    while True:
        listed = ecs.list_service_deployments(cluster=svc.cluster_name, service=svc.service_name)["serviceDeployments"]
        if listed:
            arn = listed[0]["serviceDeploymentArn"]
            found = ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]
            now = f"{found.get('status')} {found.get('lifecycleStage') or ''}".strip()
            if now != seen:
                rep.emit(Message(f"service deployment {arn.rsplit('/', 1)[-1]}: {now}"))
                seen = now
            if found.get("status") in FINISHED:
                return dict(found)
        if deadline is not None and time.monotonic() > deadline:
            raise TimedOut(
                f"{svc.service_name}: the service deployment after the switch did not finish in time ({seen})"
            )
        sleep(max(POLL_S * scale, 0.02))


def _verify(target: Target, plan: MigrationPlan, deployment: dict[str, Any]) -> str:
    """The switch's end state: ECS controller, no task set, production all on the serving revision's target group."""
    ecs, elb = target.aws.client("ecs"), target.aws.client("elbv2")
    service = ecs.describe_services(cluster=plan.cluster, services=[plan.service])["services"][0]
    problems = []
    if (service.get("deploymentController") or {}).get("type") != "ECS":
        problems.append(f"controller is {service.get('deploymentController')}")
    if service.get("taskSets"):
        problems.append(f"{len(service['taskSets'])} task set(s) left")
    revision_arn = (deployment.get("targetServiceRevision") or {}).get("arn")
    revisions = (
        ecs.describe_service_revisions(serviceRevisionArns=[revision_arn])["serviceRevisions"] if revision_arn else []
    )
    resolved = ((revisions[0].get("resolvedConfiguration") or {}).get("loadBalancers") or [{}])[0] if revisions else {}
    serving_tg = str(resolved.get("targetGroupArn") or plan.live_target_group_arn)
    balancer = plan.update_service["loadBalancers"][0].get("advancedConfiguration") or {}
    rule_arn = balancer.get("productionListenerRule")
    if rule_arn:
        (rule,) = elb.describe_rules(RuleArns=[rule_arn])["Rules"]
        groups = ((rule.get("Actions") or [{}])[0].get("ForwardConfig") or {}).get("TargetGroups") or []
        weights = {g["TargetGroupArn"]: int(g.get("Weight", 0)) for g in groups}
        total = sum(weights.values()) or 1
        if weights.get(serving_tg, 0) * 100 // total != 100:
            problems.append(
                f"the production rule forwards {weights} rather than all to {target_group_name(serving_tg)}"
            )
    if problems:
        raise DeploymentFailed(f"{plan.service}: the switch finished but " + "; ".join(problems))
    return serving_tg

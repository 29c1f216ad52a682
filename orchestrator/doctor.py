"""Pre-flight checks of everything a release relies on, each one pass, fail or skipped with a reason.

A check that cannot be made (the sandbox has no IAM policy simulator, say) is reported as skipped,
never as passed. Checks that depend on a failed one are skipped and say which one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator import appspec, taskdef
from orchestrator import validate as v
from orchestrator.arns import short_arn
from orchestrator.aws import Aws, as_refusal, error_code, error_message
from orchestrator.ecs_read import serving_task_definition
from orchestrator.engines.ecs.wiring import problems as ecs_native_problems
from orchestrator.engines.select import engine_for
from orchestrator.errors import InputError
from orchestrator.events import DoctorCheck, for_service
from orchestrator.servicefiles import APPSPEC, TASKDEF, ServiceFiles, files_for, service_files
from orchestrator.validate import NotChecked, WiringBroken

if TYPE_CHECKING:
    from orchestrator.contract import ServiceOutputs
    from orchestrator.events import Reporter
    from orchestrator.target import Target
    from orchestrator.validate import Wiring

PASS, FAIL, SKIPPED = "pass", "fail", "skipped"

# What `orchestrator release` (and rollback/stop/approve) call, checked with the IAM policy simulator
# on the resource each acts on per the Service Authorization Reference: "cluster", "service", "group"
# (deployment group), "application", "config" (deployment config), or "*" for the actions the
# reference lists no resource type for (IAM evaluates those against "*" only).
# (BatchGetDeployments is used when granted; history falls back to GetDeployment.)
RELEASE_ACTIONS: dict[str, str] = {
    "ecs:DescribeClusters": "cluster",
    "ecs:DescribeServices": "service",
    "ecs:DescribeTaskDefinition": "*",
    "ecs:RegisterTaskDefinition": "*",  # its task-definition ARN has the revision, unknown before it exists
    "codedeploy:CreateDeployment": "group",
    "codedeploy:GetApplicationRevision": "application",  # a deployment's AppSpec (GetDeployment lacks it)
    "codedeploy:GetDeployment": "group",
    "codedeploy:GetDeploymentConfig": "config",
    "codedeploy:GetDeploymentGroup": "group",
    "codedeploy:GetDeploymentTarget": "*",
    "codedeploy:ListDeploymentTargets": "*",
    "codedeploy:ListDeployments": "group",
    "codedeploy:StopDeployment": "*",
    "codedeploy:ContinueDeployment": "*",
    "elasticloadbalancing:DescribeListeners": "*",
    "elasticloadbalancing:DescribeTargetGroups": "*",
}


# The rows of the AWS part of the table, in order (validate.py holds the checks).
AWS_CHECKS: tuple[str, ...] = (
    "credentials and account",
    "cluster exists",
    "service exists",
    "service uses the CODE_DEPLOY controller",
    "deployment group exists",
    "deployment group targets the service",
    "target groups exist",
    "deployment group uses both target groups",
    "production listener",
    "test listener",
    "service load balancer",
    "deployment config exists",
    "permissions",
    "revisions never deployed",
)


class DoctorFailed(InputError):
    """At least one check failed (exit 2); `result` carries the counts for the summary."""

    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class CheckResult:
    check: str
    status: str
    detail: str = ""


class Checks:
    """Collects results and emits each one as it is known."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.results: list[CheckResult] = []

    def add(self, check: str, status: str, detail: str = "") -> bool:
        result = CheckResult(check, status, detail)
        self.results.append(result)
        self.reporter.emit(DoctorCheck(check=check, status=status, detail=detail))
        return status == PASS

    def run(self, check: str, fn: Callable[[], tuple[str, str]]) -> bool:
        """Run one check; an AWS error is that check's failure, never the end of the doctor."""
        try:
            status, detail = fn()
        except Exception as exc:
            status, detail = FAIL, _explain(exc)
        return self.add(check, status, detail)

    def run_check(self, check: str, fn: Callable[[Wiring], str], wiring: Wiring) -> bool:
        """Run one wiring check of validate.py: what it saw, its failure, or why it could not run."""

        try:
            detail = fn(wiring)
        except NotChecked as exc:
            return self.add(check, SKIPPED, str(exc))
        except WiringBroken as exc:
            return self.add(check, FAIL, str(exc))
        except Exception as exc:
            return self.add(check, FAIL, _explain(exc))
        return self.add(check, PASS, detail)

    def skip(self, checks: list[str], reason: str) -> None:
        for check in checks:
            self.add(check, SKIPPED, reason)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == FAIL]


def _explain(exc: BaseException) -> str:

    refused = as_refusal(exc)
    if refused is not None:
        return str(refused)
    code = error_code(exc)
    if code:
        return f"{code}: {error_message(exc)}"
    message = getattr(exc, "message", None) or str(exc)
    return f"{type(exc).__name__}: {message}" if not isinstance(message, str) or not message else message


def documents_agree(
    taskdef_path: Path, appspec_path: Path, container_name: str | None, container_port: int | None
) -> tuple[str, str]:
    """The AppSpec's LoadBalancerInfo names a container and port the task definition maps (the
    release's own validation), and the outputs (what the target groups and service were built for)
    agree with both."""

    try:
        doc = taskdef.load_json(taskdef_path, "task definition file")
        if not isinstance(doc, dict):
            return FAIL, f"{taskdef_path}: expected a task definition object"
        spec = appspec.load_and_validate(appspec_path, doc)
    except InputError as exc:
        return FAIL, str(exc)
    name, port = spec.container_name, spec.container_port
    if container_name is not None and (name, port) != (container_name, container_port):
        return FAIL, f"the documents use {name}:{port}, the outputs {container_name}:{container_port}"
    return PASS, f"container {name} port {port}"


def principal_arn(caller_arn: str) -> tuple[str | None, str]:
    """The IAM principal to simulate for a caller identity ARN, or None and why not."""
    # arn:aws:sts::123:assumed-role/Role/session → arn:aws:iam::123:role/Role (role paths are lost)
    parts = caller_arn.split(":", 5)
    if len(parts) != 6:
        return None, f"unrecognised caller ARN {caller_arn}"
    _, partition, service, _, account, resource = parts
    if resource == "root":
        return None, "the root user cannot be simulated"
    if service == "sts" and resource.startswith("assumed-role/"):
        role = resource.split("/")[1]
        return f"arn:{partition}:iam::{account}:role/{role}", ""
    if resource.startswith("user/") or resource.startswith("role/"):
        return f"arn:{partition}:iam::{account}:{resource}", ""
    return None, f"cannot simulate a {resource.split('/')[0]} principal"


def run_doctor(
    reporter: Reporter,
    load_target: Callable[[], Target],
    taskdef_path: Path | None,
    appspec_path: Path | None,
    deployment_config: str | None = None,
) -> list[CheckResult]:
    """One service's table. Without --taskdef/--appspec the service's files follow the convention
    (servicefiles.py: services/<key>/…, else the top-level templates)."""
    checks = Checks(reporter)
    target: Target | None = None

    def outputs() -> tuple[str, str]:
        nonlocal target
        target = load_target()
        return PASS, f"{target.outputs.source}: service {target.service_key} in {target.outputs.aws_region}"

    checks.run("outputs readable", outputs)
    if target is not None:
        files = service_files(target.service_key, taskdef=taskdef_path, appspec=appspec_path)
    else:
        files = ServiceFiles("", taskdef_path or Path(TASKDEF), appspec_path or Path(APPSPEC))
    _service_checks(checks, target, files, deployment_config)
    return checks.results


def run_doctor_services(
    reporter: Reporter, targets: list[Target], deployment_config: str | None = None
) -> dict[str, list[CheckResult]]:
    """Each service's table in turn, from its own files; every row carries the service's key."""

    files = files_for([t.service_key for t in targets])
    results: dict[str, list[CheckResult]] = {}
    for target in targets:
        checks = Checks(for_service(reporter, target.service_key))
        checks.add(
            "outputs readable",
            PASS,
            f"{target.outputs.source}: service {target.service_key} in {target.outputs.aws_region}",
        )
        _service_checks(checks, target, files[target.service_key], deployment_config)
        results[target.service_key] = checks.results
    return results


def _service_checks(checks: Checks, target: Target | None, files: ServiceFiles, deployment_config: str | None) -> None:
    svc = target.service if target else None
    checks.run(
        "task definition and AppSpec agree",
        lambda: documents_agree(
            files.taskdef, files.appspec, svc.container_name if svc else None, svc.container_port if svc else None
        ),
    )
    aws_checks = list(AWS_CHECKS)
    if target is None:
        checks.skip(aws_checks, "the outputs are not readable")
        return
    _aws_checks(checks, target, deployment_config, aws_checks)


def _aws_checks(checks: Checks, target: Target, deployment_config: str | None, names: list[str]) -> None:
    """The whole table: every wiring check of validate.py (the release's preflight runs the same
    functions), each shown pass, fail or skipped."""

    wiring = v.Wiring(target.aws, target.service, deployment_config)
    if not checks.run_check(names[0], v.credentials, wiring):
        checks.skip(names[1:], "no working credentials")
        return
    if target.service.deployment_engine == "ecs":
        _ecs_checks(checks, target, wiring, names)
        return
    # (row, check, the row it needs to have passed)
    table: list[tuple[str, v.Check, str | None]] = [
        (names[1], v.cluster_exists, None),
        (names[2], v.service_exists, names[1]),
        (names[3], v.service_uses_code_deploy, names[2]),
        (names[4], v.deployment_group_is_blue_green, None),
        (names[5], v.group_targets_service, None),
        (names[6], v.target_groups_exist, None),
        (names[7], v.group_uses_target_groups, None),
        (names[8], v.listener_for_production, None),
        (names[9], v.listener_for_tests, None),
        (names[10], v.service_load_balancer, names[2]),
        (names[11], v.deployment_config_is_ecs, None),
    ]
    passed: set[str] = set()
    for name, check, needs in table:
        if needs is not None and needs not in passed:
            checks.add(name, SKIPPED, "no cluster" if needs == names[1] else "no service")
        elif checks.run_check(name, check, wiring):
            passed.add(name)
    caller = wiring.caller()
    checks.run(names[12], lambda: _permissions(target, str(caller.get("Arn", "")), _config_name(wiring)))
    if names[2] in passed:
        checks.run(names[13], lambda: unused_revisions(target.aws, target.service, wiring.service()))
    else:
        checks.add(names[13], SKIPPED, "no service")


def unused_revisions(aws: Aws, svc: ServiceOutputs, service: dict[str, Any]) -> tuple[str, str]:
    """Revisions of the running family registered after the running one that no recent deployment of the
    group used: what a release killed between its registration and its deployment, or one that lost a
    race and could not deregister, leaves behind. Named so they can be deregistered; never a failure."""
    running = serving_task_definition(service)
    if not running or ":task-definition/" not in running:
        return SKIPPED, "the service runs no task definition"
    family, _, number = running.rsplit("/", 1)[-1].rpartition(":")
    ecs = aws.client("ecs")
    arns = ecs.list_task_definitions(familyPrefix=family, status="ACTIVE", sort="DESC", maxResults=20)
    newer = [
        a
        for a in arns.get("taskDefinitionArns") or []
        if a.rsplit("/", 1)[-1].rpartition(":")[0] == family and int(a.rpartition(":")[2]) > int(number)
    ]
    if not newer:
        return PASS, f"none after {short_arn(running)}"
    engine = engine_for(svc)
    used = {r.task_definition for r in engine.history(aws, svc, limit=50)}
    active = engine.active(aws, svc)
    used |= {active.task_definition} if active else set()
    unused = sorted((a for a in newer if a not in used), key=lambda a: int(a.rpartition(":")[2]))
    if not unused:
        return PASS, f"none after {short_arn(running)}"
    names = ", ".join(short_arn(a) for a in unused)
    return PASS, (
        f"{len(unused)} registered after {short_arn(running)} and used by no deployment: {names} "
        f"(deregister with `aws ecs deregister-task-definition --task-definition {short_arn(unused[0])}`)"
    )


def _ecs_checks(checks: Checks, target: Target, wiring: Wiring, names: list[str]) -> None:
    """An ECS-engine service: the cluster and service rows, then the ECS-native wiring (engines/ecs/wiring.py)
    in the controller's row; CodeDeploy's rows do not apply."""
    if not checks.run_check(names[1], v.cluster_exists, wiring) or not checks.run_check(
        names[2], v.service_exists, wiring
    ):
        checks.skip(names[3:], "no cluster or service")
        return

    def native() -> tuple[str, str]:
        found = ecs_native_problems(target.aws.client, target.service_key, target.service)
        if found:
            return FAIL, "; ".join(found)
        return PASS, "ECS controller; rules, target-group pair, infrastructure role and hooks as ECS needs them"

    checks.run("ECS-native wiring (deployment_engine ecs)", native)
    checks.skip(names[3:], "the service deploys through ECS itself (deployment_engine ecs), not CodeDeploy")


@dataclass(frozen=True)
class Simulation:
    """One SimulatePrincipalPolicy request: these actions on this resource, with these context keys."""

    actions: tuple[str, ...]
    resource: str
    context: tuple[tuple[str, str], ...] = ()

    def request(self, principal: str) -> dict[str, Any]:
        entries = [{"ContextKeyName": k, "ContextKeyValues": [v], "ContextKeyType": "string"} for k, v in self.context]
        return {
            "PolicySourceArn": principal,
            "ActionNames": list(self.actions),
            "ResourceArns": [self.resource],
            **({"ContextEntries": entries} if entries else {}),
        }


def simulations(principal: str, region: str, svc: Any, config_name: str | None) -> list[Simulation]:
    """What to simulate for a release by `principal` (an IAM role or user ARN): each action on the real
    ARN of what it acts on, with the context keys the call carries (ecs:cluster; iam:PassedToService
    for the roles a task definition names)."""
    partition, account = principal.split(":")[1], principal.split(":")[4]
    ecs = f"arn:{partition}:ecs:{region}:{account}"
    codedeploy = f"arn:{partition}:codedeploy:{region}:{account}"
    cluster = f"{ecs}:cluster/{svc.cluster_name}"
    resources = {
        "cluster": (cluster, ()),
        "service": (f"{ecs}:service/{svc.cluster_name}/{svc.service_name}", (("ecs:cluster", cluster),)),
        "group": (f"{codedeploy}:deploymentgroup:{svc.codedeploy_app_name}/{svc.codedeploy_deployment_group_name}", ()),
        "application": (f"{codedeploy}:application:{svc.codedeploy_app_name}", ()),
        "config": (f"{codedeploy}:deploymentconfig:{config_name}" if config_name else "*", ()),
        "*": ("*", ()),
    }
    out = []
    for kind, (arn, context) in resources.items():
        actions = tuple(a for a, k in RELEASE_ACTIONS.items() if k == kind)
        if actions:
            out.append(Simulation(actions, arn, context))
    passed = (("iam:PassedToService", "ecs-tasks.amazonaws.com"),)
    for role in dict.fromkeys((svc.task_execution_role_arn, svc.task_role_arn)):
        if role:
            out.append(Simulation(("iam:PassRole",), role, passed))
    return out


def _config_name(wiring: Any) -> str | None:
    try:
        return str(wiring.config_name())
    except Exception:  # an unreadable group: the simulation names no config (its own check fails)
        return None


def _permissions(target: Target, caller: str, config_name: str | None = None) -> tuple[str, str]:

    principal, why = principal_arn(caller)
    if principal is None:
        return SKIPPED, f"cannot check: {why}"
    # One attempt: an unimplemented simulator (the sandbox) answers 500, and retrying it only waits.
    aws = Aws(target.aws.region, endpoint_url=target.aws.endpoint_url, sandbox=target.aws.sandbox, max_attempts=1)
    iam = aws.client("iam")
    plan = simulations(principal, target.aws.region, target.service, config_name)
    denied: list[str] = []
    try:
        for sim in plan:
            for page in iam.get_paginator("simulate_principal_policy").paginate(**sim.request(principal)):
                for result in page.get("EvaluationResults") or []:
                    if result.get("EvalDecision") != "allowed":
                        denied.append(
                            f"{result.get('EvalActionName')} on {sim.resource} ({result.get('EvalDecision')})"
                        )
    except Exception as exc:
        code = error_code(exc)
        if code in {"AccessDenied", "AccessDeniedException"}:
            # The release role is not granted the simulator: that says nothing about the release.
            return SKIPPED, (
                f"cannot check: {principal} may not run the IAM policy simulator (iam:SimulatePrincipalPolicy): "
                f"{error_message(exc)}"
            )
        if code in {"NoSuchEntity"}:
            return SKIPPED, f"cannot check: the simulator does not know {principal}: {error_message(exc)}"
        if not code or code.startswith("5") or code in {"InternalError", "InternalFailure", "NotImplemented"}:
            why = code or ("HTTP 500" if "500" in str(exc) or type(exc).__name__ == "ResponseParserError" else "")
            return (
                SKIPPED,
                f"cannot check: no IAM policy simulator at this endpoint ({why or type(exc).__name__})",
            )
        raise
    if denied:
        return FAIL, f"{principal} may not: {', '.join(sorted(set(denied)))}"
    return PASS, f"{principal} may call the {len(RELEASE_ACTIONS) + 1} actions a release needs, on its resources"

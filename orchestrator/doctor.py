"""Pre-flight checks of everything a release relies on, each one pass, fail or skipped with a reason.

A check that cannot be made (the sandbox has no IAM policy simulator, say) is reported as skipped,
never as passed. Checks that depend on a failed one are skipped and say which one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.ecs_read import forward_weights, target_group_name
from orchestrator.errors import InputError
from orchestrator.events import DoctorCheck

if TYPE_CHECKING:
    from orchestrator.commands.common import Target
    from orchestrator.report import Reporter

PASS, FAIL, SKIPPED = "pass", "fail", "skipped"

# What `orchestrator release` (and rollback/stop/approve) call; checked with the IAM policy simulator.
# (BatchGetDeployments is used when granted; history falls back to GetDeployment.)
RELEASE_ACTIONS = (
    "ecs:DescribeClusters",
    "ecs:DescribeServices",
    "ecs:DescribeTaskDefinition",
    "ecs:RegisterTaskDefinition",
    "codedeploy:CreateDeployment",
    "codedeploy:GetApplicationRevision",  # the AppSpec of a deployment (GetDeployment never carries it)
    "codedeploy:GetDeployment",
    "codedeploy:GetDeploymentConfig",
    "codedeploy:GetDeploymentGroup",
    "codedeploy:GetDeploymentTarget",
    "codedeploy:ListDeploymentTargets",
    "codedeploy:ListDeployments",
    "codedeploy:StopDeployment",
    "codedeploy:ContinueDeployment",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeTargetGroups",
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

    def skip(self, checks: list[str], reason: str) -> None:
        for check in checks:
            self.add(check, SKIPPED, reason)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == FAIL]


def _explain(exc: BaseException) -> str:
    from orchestrator.aws import as_refusal, error_code, error_message

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
    from orchestrator import appspec, taskdef
    from orchestrator.errors import InputError

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
    taskdef_path: Path,
    appspec_path: Path,
    deployment_config: str | None = None,
) -> list[CheckResult]:
    checks = Checks(reporter)
    target: Target | None = None

    def outputs() -> tuple[str, str]:
        nonlocal target
        target = load_target()
        return PASS, f"{target.outputs.source}: service {target.service_key} in {target.outputs.aws_region}"

    checks.run("outputs readable", outputs)
    svc = target.service if target else None
    checks.run(
        "task definition and AppSpec agree",
        lambda: documents_agree(
            taskdef_path, appspec_path, svc.container_name if svc else None, svc.container_port if svc else None
        ),
    )
    aws_checks = [
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
    ]
    if target is None:
        checks.skip(aws_checks, "the outputs are not readable")
        return checks.results
    _aws_checks(checks, target, deployment_config, aws_checks)
    return checks.results


def _aws_checks(checks: Checks, target: Target, deployment_config: str | None, names: list[str]) -> None:
    svc, aws = target.service, target.aws
    state: dict[str, Any] = {}

    def credentials() -> tuple[str, str]:
        ident = aws.client("sts").get_caller_identity()
        state["caller"] = ident["Arn"]
        return PASS, f"account {ident['Account']} as {ident['Arn']}"

    if not checks.run(names[0], credentials):
        checks.skip(names[1:], "no working credentials")
        return

    def cluster() -> tuple[str, str]:
        found = aws.client("ecs").describe_clusters(clusters=[svc.cluster_name]).get("clusters") or []
        if not found:
            return FAIL, f"no cluster {svc.cluster_name}"
        status = found[0].get("status")
        return (PASS if status == "ACTIVE" else FAIL), f"{svc.cluster_name} {status}"

    cluster_ok = checks.run(names[1], cluster)

    def service() -> tuple[str, str]:
        if not cluster_ok:
            return SKIPPED, "no cluster"
        resp = aws.client("ecs").describe_services(cluster=svc.cluster_name, services=[svc.service_name])
        found = [s for s in resp.get("services") or [] if s.get("status") != "INACTIVE"]
        if not found:
            return FAIL, f"no active service {svc.service_name} in cluster {svc.cluster_name}"
        state["service"] = found[0]
        return PASS, f"{svc.service_name} {found[0].get('status')}, {found[0].get('runningCount', 0)} running"

    checks.run(names[2], service)

    def controller() -> tuple[str, str]:
        if "service" not in state:
            return SKIPPED, "no service"
        kind = (state["service"].get("deploymentController") or {}).get("type", "ECS")
        if kind != "CODE_DEPLOY":
            return (
                FAIL,
                f"{svc.service_name} uses the {kind} controller; blue/green through CodeDeploy needs CODE_DEPLOY",
            )
        return PASS, kind

    checks.run(names[3], controller)

    def group() -> tuple[str, str]:
        info = aws.client("codedeploy").get_deployment_group(
            applicationName=svc.codedeploy_app_name, deploymentGroupName=svc.codedeploy_deployment_group_name
        )["deploymentGroupInfo"]
        state["group"] = info
        style = info.get("deploymentStyle") or {}
        platform = info.get("computePlatform")
        problems = []
        if platform and platform != "ECS":
            problems.append(f"compute platform {platform}, not ECS")
        if style.get("deploymentType") != "BLUE_GREEN" or style.get("deploymentOption") != "WITH_TRAFFIC_CONTROL":
            problems.append(f"style {style.get('deploymentType')}/{style.get('deploymentOption')}")
        name = f"{svc.codedeploy_app_name}/{svc.codedeploy_deployment_group_name}"
        if problems:
            return FAIL, f"{name}: " + "; ".join(problems) + " (needs BLUE_GREEN with traffic control)"
        return PASS, f"{name}, ECS blue/green"

    checks.run(names[4], group)
    group_info: dict[str, Any] = state.get("group") or {}

    def targets_service() -> tuple[str, str]:
        if not group_info:
            return SKIPPED, "no deployment group"
        services = group_info.get("ecsServices") or []
        wanted = {"serviceName": svc.service_name, "clusterName": svc.cluster_name}
        if any(
            s.get("serviceName") == wanted["serviceName"] and s.get("clusterName") == wanted["clusterName"]
            for s in services
        ):
            return PASS, f"{svc.cluster_name}/{svc.service_name}"
        seen = ", ".join(f"{s.get('clusterName')}/{s.get('serviceName')}" for s in services) or "nothing"
        return FAIL, f"the group targets {seen}, not {svc.cluster_name}/{svc.service_name}"

    checks.run(names[5], targets_service)

    def target_groups() -> tuple[str, str]:
        elb = aws.client("elbv2")
        found: dict[str, str] = {}
        missing = []
        for name in (svc.blue_target_group_name, svc.green_target_group_name):
            try:
                tgs = elb.describe_target_groups(Names=[name])["TargetGroups"]
                found[name] = tgs[0]["TargetGroupArn"]
            except Exception as exc:
                from orchestrator.aws import error_code

                if error_code(exc) != "TargetGroupNotFound":
                    raise
                missing.append(name)
        state["tg_arns"] = found
        if missing:
            return FAIL, f"missing target group {', '.join(missing)}"
        return PASS, ", ".join(found)

    tgs_ok = checks.run(names[6], target_groups)
    pair = {svc.blue_target_group_name, svc.green_target_group_name}

    def group_pair() -> tuple[str, str]:
        if not group_info:
            return SKIPPED, "no deployment group"
        infos = (group_info.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or []
        if not infos:
            return FAIL, "the group has no target group pair"
        names_in_group = {t.get("name") for t in infos[0].get("targetGroups") or []}
        if names_in_group != pair:
            return (
                FAIL,
                f"the group uses {', '.join(sorted(map(str, names_in_group)))}, the outputs {', '.join(sorted(pair))}",
            )
        return PASS, " + ".join(sorted(pair))

    checks.run(names[7], group_pair)
    tg_arns: dict[str, str] = state.get("tg_arns") or {}

    def listener(which: str, arn: str) -> Callable[[], tuple[str, str]]:
        def check() -> tuple[str, str]:
            from orchestrator.aws import error_code

            try:
                found = aws.client("elbv2").describe_listeners(ListenerArns=[arn])["Listeners"]
            except Exception as exc:
                if error_code(exc) == "ListenerNotFound":
                    return FAIL, f"{which} listener {arn} does not exist"
                raise
            if not found:
                return FAIL, f"{which} listener {arn} does not exist"
            problems = []
            if group_info:
                infos = (group_info.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or []
                route = (infos[0].get(f"{which.replace('production', 'prod')}TrafficRoute") or {}) if infos else {}
                if arn not in (route.get("listenerArns") or []):
                    problems.append(f"the deployment group's {which} route is {route.get('listenerArns') or 'empty'}")
            weights = forward_weights(found[0])
            if not weights:
                problems.append("it does not forward to a target group")
            else:
                names_fw = {target_group_name(a) for a, w in weights.items() if w > 0}
                if not names_fw <= pair:
                    problems.append(f"it forwards to {', '.join(sorted(names_fw))}, not to {' or '.join(sorted(pair))}")
            if problems:
                return FAIL, f"{arn}: " + "; ".join(problems)
            split = ", ".join(f"{target_group_name(a)} {w:g}%" for a, w in weights.items())
            return PASS, f"forwards to {split}"

        return check

    checks.run(names[8], listener("production", svc.prod_listener_arn))
    checks.run(names[9], listener("test", svc.test_listener_arn))

    def service_lb() -> tuple[str, str]:
        if "service" not in state:
            return SKIPPED, "no service"
        lbs = state["service"].get("loadBalancers") or []
        if not lbs:
            return FAIL, f"{svc.service_name} has no load balancer"
        lb = lbs[0]
        tg = target_group_name(lb.get("targetGroupArn", ""))
        problems = []
        if tg not in pair:
            problems.append(f"target group {tg} is not {' or '.join(sorted(pair))}")
        if tgs_ok and tg in tg_arns and lb.get("targetGroupArn") != tg_arns[tg]:
            problems.append(f"target group {tg} was replaced (ARN differs)")
        if (lb.get("containerName"), lb.get("containerPort")) != (svc.container_name, svc.container_port):
            problems.append(
                f"container {lb.get('containerName')}:{lb.get('containerPort')}, the outputs say "
                f"{svc.container_name}:{svc.container_port}"
            )
        if problems:
            return FAIL, "; ".join(problems)
        return PASS, f"{lb.get('containerName')}:{lb.get('containerPort')} behind {tg}"

    checks.run(names[10], service_lb)

    def config() -> tuple[str, str]:
        name = deployment_config or group_info.get("deploymentConfigName") or "CodeDeployDefault.ECSAllAtOnce"
        info = aws.client("codedeploy").get_deployment_config(deploymentConfigName=name)["deploymentConfigInfo"]
        platform = info.get("computePlatform")
        if platform and platform != "ECS":
            return FAIL, f"{name} is for {platform}, not ECS"
        routing = (info.get("trafficRoutingConfig") or {}).get("type", "")
        return PASS, f"{name}" + (f" ({routing})" if routing else "")

    checks.run(names[11], config)
    checks.run(names[12], lambda: _permissions(target, state.get("caller", "")))


def _permissions(target: Target, caller: str) -> tuple[str, str]:
    from orchestrator.aws import Aws, error_code, error_message

    principal, why = principal_arn(caller)
    if principal is None:
        return SKIPPED, why
    svc = target.service
    # One attempt: an unimplemented simulator (the sandbox) answers 500, and retrying it only waits.
    aws = Aws(target.aws.region, endpoint_url=target.aws.endpoint_url, sandbox=target.aws.sandbox, max_attempts=1)
    iam = aws.client("iam")
    calls = [
        (list(RELEASE_ACTIONS), ["*"]),
        (["iam:PassRole"], [svc.task_execution_role_arn, svc.task_role_arn]),
    ]
    denied: list[str] = []
    try:
        for actions, resources in calls:
            for page in iam.get_paginator("simulate_principal_policy").paginate(
                PolicySourceArn=principal, ActionNames=actions, ResourceArns=resources
            ):
                for result in page.get("EvaluationResults") or []:
                    if result.get("EvalDecision") != "allowed":
                        denied.append(f"{result.get('EvalActionName')} ({result.get('EvalDecision')})")
    except Exception as exc:
        code = error_code(exc)
        if code in {"AccessDenied", "AccessDeniedException"}:
            return SKIPPED, f"not allowed to run the IAM policy simulator as {principal}: {error_message(exc)}"
        if code in {"NoSuchEntity"}:
            return SKIPPED, f"the simulator does not know {principal}: {error_message(exc)}"
        if not code or code.startswith("5") or code in {"InternalError", "InternalFailure", "NotImplemented"}:
            why = code or ("HTTP 500" if "500" in str(exc) or type(exc).__name__ == "ResponseParserError" else "")
            return SKIPPED, f"the IAM policy simulator is not available at this endpoint ({why or type(exc).__name__})"
        raise
    if denied:
        return FAIL, f"{principal} may not: {', '.join(sorted(set(denied)))}"
    return PASS, f"{principal} may call the {len(RELEASE_ACTIONS) + 1} actions a release needs"

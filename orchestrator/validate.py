"""Checks against AWS before the first write: the CodeDeploy wiring and the ECS service, read-only.

Each check is one named function over a `Wiring` (the outputs and what AWS answered, read once).
The release's preflight runs its checks in order and stops at the first failure (bad configuration:
InputError, exit 2); `orchestrator doctor` runs them all and shows the whole table.

The deployment group must exist, be ECS blue/green with traffic control and target this cluster and
service; the deployment config (the flag's or the group's) must exist for ECS; the service must exist
and use the CODE_DEPLOY controller. Doctor also checks the cluster, the target groups, the listeners
and the service's load balancer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orchestrator.ecs_read import forward_weights, serving_task_definition, target_group_name
from orchestrator.engines.ecs.wiring import problems as ecs_native_problems
from orchestrator.errors import InputError

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.contract import ServiceOutputs

DEFAULT_CONFIG = "CodeDeployDefault.ECSAllAtOnce"


class WiringBroken(InputError):
    """A check found the wiring broken: the message says what and where (exit 2 in a release)."""


class NotChecked(Exception):
    """A check that cannot be made because what it reads could not be read (doctor: skipped)."""


@dataclass(frozen=True)
class Preflight:
    group: dict[str, Any]  # deploymentGroupInfo
    config: dict[str, Any]  # deploymentConfigInfo
    config_name: str
    service: dict[str, Any]  # the ECS service as described
    checks: tuple[str, ...]

    @property
    def live_task_definition_arn(self) -> str | None:
        return serving_task_definition(self.service)


def _code(exc: BaseException) -> str:
    from orchestrator.aws import error_code

    return error_code(exc)


class Wiring:
    """The outputs and AWS's answers about them, each read at most once. A read that failed raises
    its error the first time and NotChecked afterwards (the checks that need it are skipped)."""

    def __init__(self, aws: Aws, svc: ServiceOutputs, deployment_config: str | None = None) -> None:
        self.aws, self.svc, self.deployment_config = aws, svc, deployment_config
        self._memo: dict[str, Any] = {}
        self._failed: set[str] = set()

    def _once(self, what: str, read: Callable[[], Any]) -> Any:
        if what in self._failed:
            raise NotChecked(f"no {what}")
        if what not in self._memo:
            try:
                self._memo[what] = read()
            except Exception:
                self._failed.add(what)
                raise
        return self._memo[what]

    def read_ok(self, what: str) -> bool:
        return what in self._memo

    @property
    def target_group_pair(self) -> set[str]:
        return {self.svc.blue_target_group_name, self.svc.green_target_group_name}

    def caller(self) -> dict[str, Any]:
        return dict(self._once("credentials", lambda: self.aws.client("sts").get_caller_identity()))

    def group(self) -> dict[str, Any]:
        """deploymentGroupInfo of the outputs' deployment group."""
        return dict(self._once("deployment group", self._read_group))

    def _read_group(self) -> dict[str, Any]:
        app, name = self.svc.codedeploy_app_name, self.svc.codedeploy_deployment_group_name
        try:
            got = self.aws.client("codedeploy").get_deployment_group(applicationName=app, deploymentGroupName=name)
        except Exception as exc:
            code = _code(exc)
            if code == "ApplicationDoesNotExistException":
                raise WiringBroken(
                    f"outputs: codedeploy_app_name: CodeDeploy application {app!r} does not exist"
                ) from None
            if code == "DeploymentGroupDoesNotExistException":
                raise WiringBroken(
                    f"outputs: codedeploy_deployment_group_name: deployment group {name!r} does not exist in {app!r}"
                ) from None
            raise
        return dict(got["deploymentGroupInfo"])

    def config_name(self) -> str:
        """The flag's deployment config, else the group's, else CodeDeploy's default."""
        if self.deployment_config:
            return self.deployment_config
        try:
            group = self.group()
        except (NotChecked, WiringBroken):  # doctor still checks CodeDeploy's default
            group = {}
        return str(group.get("deploymentConfigName") or DEFAULT_CONFIG)

    @property
    def config_source(self) -> str:
        """Where the deployment config's name came from, for messages."""
        return (
            "--deployment-config" if self.deployment_config is not None else "deployment group's deploymentConfigName"
        )

    def config(self) -> dict[str, Any]:
        return dict(self._once("deployment config", self._read_config))

    def _read_config(self) -> dict[str, Any]:
        name = self.config_name()
        where = (
            "--deployment-config" if self.deployment_config is not None else "deployment group's deploymentConfigName"
        )
        # CodeDeploy has no call that changes a deployment config (only create and delete), so one
        # reading per command serves every service that uses it (a multi-service release).
        key = f"deployment-config:{name}"
        if key in self.aws.cache:
            return dict(self.aws.cache[key])
        try:
            resp = self.aws.client("codedeploy").get_deployment_config(deploymentConfigName=name)
        except Exception as exc:
            if _code(exc) in ("DeploymentConfigDoesNotExistException", "InvalidDeploymentConfigNameException"):
                raise WiringBroken(f"{where}: deployment config {name!r} does not exist") from None
            raise
        self.aws.cache[key] = dict(resp["deploymentConfigInfo"])
        return dict(resp["deploymentConfigInfo"])

    def service(self) -> dict[str, Any]:
        """The ECS service as described (not INACTIVE)."""
        return dict(self._once("service", self._read_service))

    def _read_service(self) -> dict[str, Any]:
        svc = self.svc
        try:
            resp = self.aws.client("ecs").describe_services(cluster=svc.cluster_name, services=[svc.service_name])
        except Exception as exc:
            if _code(exc) == "ClusterNotFoundException":
                raise WiringBroken(f"outputs: cluster_name: ECS cluster {svc.cluster_name!r} does not exist") from None
            raise
        found = [s for s in resp.get("services") or [] if s.get("status") != "INACTIVE"]
        if not found:
            raise WiringBroken(
                f"outputs: service_name: ECS service {svc.service_name!r} not found in cluster {svc.cluster_name!r}"
            )
        return dict(found[0])

    def target_groups(self) -> tuple[dict[str, str], list[str]]:
        """(name → ARN of the outputs' target groups that exist, names of those that do not)."""
        return tuple(self._once("target groups", self._read_target_groups))

    def _read_target_groups(self) -> tuple[dict[str, str], list[str]]:
        elb = self.aws.client("elbv2")
        found: dict[str, str] = {}
        missing = []
        for name in (self.svc.blue_target_group_name, self.svc.green_target_group_name):
            try:
                found[name] = elb.describe_target_groups(Names=[name])["TargetGroups"][0]["TargetGroupArn"]
            except Exception as exc:
                if _code(exc) != "TargetGroupNotFound":
                    raise
                missing.append(name)
        return found, missing


# --- the checks: each returns what it saw when the wiring is right, raises WiringBroken when not ---


def credentials(w: Wiring) -> str:
    ident = w.caller()
    return f"account {ident['Account']} as {ident['Arn']}"


def cluster_exists(w: Wiring) -> str:
    name = w.svc.cluster_name
    found = w.aws.client("ecs").describe_clusters(clusters=[name]).get("clusters") or []
    if not found:
        raise WiringBroken(f"no cluster {name}")
    status = found[0].get("status")
    if status != "ACTIVE":
        raise WiringBroken(f"{name} {status}")
    return f"{name} {status}"


def service_exists(w: Wiring) -> str:
    service = w.service()
    return f"{w.svc.service_name} {service.get('status')}, {service.get('runningCount', 0)} running"


def service_uses_code_deploy(w: Wiring) -> str:
    controller = (w.service().get("deploymentController") or {}).get("type", "ECS")
    if controller != "CODE_DEPLOY":
        raise WiringBroken(
            f"ECS service {w.svc.cluster_name}/{w.svc.service_name} uses the {controller} deployment controller, "
            "not CODE_DEPLOY"
        )
    return controller


def deployment_group_is_blue_green(w: Wiring) -> str:
    info = w.group()
    where = f"deployment group {w.svc.codedeploy_app_name}/{w.svc.codedeploy_deployment_group_name}"
    if info.get("computePlatform") not in (None, "ECS"):
        raise WiringBroken(f"{where}: computePlatform is {info.get('computePlatform')}, not ECS")
    style = info.get("deploymentStyle") or {}
    if style.get("deploymentType") != "BLUE_GREEN" or style.get("deploymentOption") != "WITH_TRAFFIC_CONTROL":
        raise WiringBroken(
            f"{where}: deploymentStyle is {style.get('deploymentType')}/{style.get('deploymentOption')}, "
            "not BLUE_GREEN/WITH_TRAFFIC_CONTROL"
        )
    return f"{w.svc.codedeploy_app_name}/{w.svc.codedeploy_deployment_group_name}, ECS blue/green"


def group_targets_service(w: Wiring) -> str:
    svc = w.svc
    info = w.group()
    targets = [(s.get("clusterName"), s.get("serviceName")) for s in info.get("ecsServices") or []]
    if (svc.cluster_name, svc.service_name) not in targets:
        shown = ", ".join(f"{c}/{s}" for c, s in targets) or "no ECS service"
        where = f"deployment group {svc.codedeploy_app_name}/{svc.codedeploy_deployment_group_name}"
        raise WiringBroken(f"{where}: targets {shown}, not {svc.cluster_name}/{svc.service_name}")
    return f"{svc.cluster_name}/{svc.service_name}"


def deployment_config_is_ecs(w: Wiring) -> str:
    name = w.config_name()
    info = w.config()
    if info.get("computePlatform") not in (None, "ECS"):
        raise WiringBroken(
            f"{w.config_source}: deployment config {name!r} is for {info.get('computePlatform')}, not ECS"
        )
    routing = (info.get("trafficRoutingConfig") or {}).get("type", "")
    return name + (f" ({routing})" if routing else "")


def target_groups_exist(w: Wiring) -> str:
    found, missing = w.target_groups()
    if missing:
        raise WiringBroken(f"missing target group {', '.join(missing)}")
    return ", ".join(found)


def group_uses_target_groups(w: Wiring) -> str:
    pair = w.target_group_pair
    infos = (w.group().get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or []
    if not infos:
        raise WiringBroken("the group has no target group pair")
    in_group = {t.get("name") for t in infos[0].get("targetGroups") or []}
    if in_group != pair:
        raise WiringBroken(
            f"the group uses {', '.join(sorted(map(str, in_group)))}, the outputs {', '.join(sorted(pair))}"
        )
    return " + ".join(sorted(pair))


def _listener(w: Wiring, which: str, arn: str) -> str:
    try:
        found = w.aws.client("elbv2").describe_listeners(ListenerArns=[arn])["Listeners"]
    except Exception as exc:
        if _code(exc) == "ListenerNotFound":
            raise WiringBroken(f"{which} listener {arn} does not exist") from None
        raise
    if not found:
        raise WiringBroken(f"{which} listener {arn} does not exist")
    pair = w.target_group_pair
    problems = []
    if w.read_ok("deployment group"):
        infos = (w.group().get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or []
        route = (infos[0].get(f"{which.replace('production', 'prod')}TrafficRoute") or {}) if infos else {}
        if arn not in (route.get("listenerArns") or []):
            problems.append(f"the deployment group's {which} route is {route.get('listenerArns') or 'empty'}")
    weights = forward_weights(found[0])
    if not weights:
        problems.append("it does not forward to a target group")
    else:
        names = {target_group_name(a) for a, wt in weights.items() if wt > 0}
        if not names <= pair:
            problems.append(f"it forwards to {', '.join(sorted(names))}, not to {' or '.join(sorted(pair))}")
    if problems:
        raise WiringBroken(f"{arn}: " + "; ".join(problems))
    return "forwards to " + ", ".join(f"{target_group_name(a)} {wt:g}%" for a, wt in weights.items())


def listener_for_production(w: Wiring) -> str:
    return _listener(w, "production", w.svc.prod_listener_arn)


def listener_for_tests(w: Wiring) -> str:
    return _listener(w, "test", w.svc.test_listener_arn)


def service_load_balancer(w: Wiring) -> str:
    svc, pair = w.svc, w.target_group_pair
    lbs = w.service().get("loadBalancers") or []
    if not lbs:
        raise WiringBroken(f"{svc.service_name} has no load balancer")
    lb = lbs[0]
    tg = target_group_name(lb.get("targetGroupArn", ""))
    problems = []
    if tg not in pair:
        problems.append(f"target group {tg} is not {' or '.join(sorted(pair))}")
    if w.read_ok("target groups"):
        arns, missing = w.target_groups()
        if not missing and tg in arns and lb.get("targetGroupArn") != arns[tg]:
            problems.append(f"target group {tg} was replaced (ARN differs)")
    if (lb.get("containerName"), lb.get("containerPort")) != (svc.container_name, svc.container_port):
        problems.append(
            f"container {lb.get('containerName')}:{lb.get('containerPort')}, the outputs say "
            f"{svc.container_name}:{svc.container_port}"
        )
    if problems:
        raise WiringBroken("; ".join(problems))
    return f"{lb.get('containerName')}:{lb.get('containerPort')} behind {tg}"


Check = Callable[[Wiring], str]

# What a release checks before its first write, in the order a user would fix them.
PREFLIGHT_CHECKS: tuple[Check, ...] = (
    deployment_group_is_blue_green,
    group_targets_service,
    deployment_config_is_ecs,
    service_exists,
    service_uses_code_deploy,
)


def preflight(aws: Aws, svc: ServiceOutputs, deployment_config: str | None) -> Preflight:
    """All the read-only AWS checks of a release; the first that fails ends it (InputError, exit 2)."""
    from orchestrator.aws import refusals

    if svc.deployment_engine == "ecs":
        return _ecs_native_preflight(aws, svc)
    wiring = Wiring(aws, svc, deployment_config)
    with refusals():
        for check in PREFLIGHT_CHECKS:
            check(wiring)
    return Preflight(
        group=wiring.group(),
        config=wiring.config(),
        config_name=wiring.config_name(),
        service=wiring.service(),
        checks=("task definition", "appspec", "deployment group", "deployment config", "ecs service"),
    )


def _ecs_native_preflight(aws: Aws, svc: ServiceOutputs) -> Preflight:
    """An ECS-engine service: the ECS-native wiring (engines/ecs/wiring.py) instead of CodeDeploy's."""
    from orchestrator.aws import refusals

    with refusals():
        found = ecs_native_problems(aws.client, svc.service_name, svc)
        if found:
            raise WiringBroken(found[0])
        service = aws.client("ecs").describe_services(cluster=svc.cluster_name, services=[svc.service_name])
    described = dict(service["services"][0])
    strategy = str((described.get("deploymentConfiguration") or {}).get("strategy", "ROLLING"))
    return Preflight(
        group={},
        config={},
        config_name=strategy,
        service=described,
        checks=("task definition", "appspec", "ecs service", "ecs-native wiring"),
    )

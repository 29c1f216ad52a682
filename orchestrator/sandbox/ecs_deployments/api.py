"""The ECS API of service deployments on top of moto's EC2ContainerServiceResponse.

moto 5.2.5 drops CreateService's `deploymentConfiguration` and has none of ListServiceDeployments,
DescribeServiceDeployments, DescribeServiceRevisions, StopServiceDeployment, ContinueServiceDeployment.
Here CreateService/UpdateService keep the configuration (validated before moto changes anything), and
for services with the ECS deployment controller a new service revision (task definition, load balancers
or network changed, or forceNewDeployment) starts a service deployment (walk.Run).

Sandbox choices (not documented): a service's first deployment (CreateService) completes at once, as the
sandbox's tasks start at once; UpdateService asking for a new revision while a deployment is in progress
is refused (ClientException) rather than superseding it; ListServiceDeployments lists newest first;
StopServiceDeployment without stopType means ROLLBACK (the only value the API reference calls valid),
and on a finished deployment answers ConflictException.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from moto.core.responses import ActionResult
from moto.ecs.exceptions import EcsClientException, ECSException, InvalidParameterException

from orchestrator.sandbox.ecs_deployments import records, traffic
from orchestrator.sandbox.ecs_deployments.config import TRAFFIC_STRATEGIES, ConfigError, validate
from orchestrator.sandbox.ecs_deployments.faults import ECS_FAULTS
from orchestrator.sandbox.ecs_deployments.walk import Run, alarms_of, breaker_of

if TYPE_CHECKING:
    from orchestrator.sandbox.engine import Engine

MAX_DESCRIBE = 20


class ServiceDeploymentNotFoundException(ECSException):
    def __init__(self, arn: str) -> None:
        super().__init__("ServiceDeploymentNotFoundException", f"The service deployment {arn} does not exist.")


class ConflictException(ECSException):
    def __init__(self, message: str) -> None:
        super().__init__("ConflictException", message)


def _controller(params: dict[str, Any], service: Any = None) -> str:
    given = (params.get("deploymentController") or {}).get("type")
    if given:
        return str(given)
    return str((getattr(service, "deployment_controller", None) or {}).get("type", "ECS"))


def _checked(backend: Any, params: dict[str, Any], service: Any = None) -> dict[str, Any] | None:
    """The validated configuration (with defaults), None for a non-ECS controller; raises before any write."""
    controller = _controller(params, service)
    if controller != "ECS":
        return None
    given = params.get("deploymentConfiguration")
    if given is None and service is not None:
        given = getattr(service, "deployment_configuration", None)
    lbs = params.get("loadBalancers")
    if lbs is None and service is not None:
        lbs = service.load_balancers
    try:
        config = validate(dict(given or {}), controller, list(lbs or []))
    except ConfigError as exc:
        raise InvalidParameterException(str(exc)) from None
    if config["strategy"] in TRAFFIC_STRATEGIES:
        lb = next(lb for lb in lbs or [] if lb.get("advancedConfiguration"))
        problem = traffic.check_wiring(
            str(backend.account_id), str(backend.region_name), lb.get("targetGroupArn"), lb["advancedConfiguration"]
        )
        if problem:
            raise InvalidParameterException(problem)
    return config


def _wiring(service: Any) -> dict[str, Any]:
    lb = next((lb for lb in service.load_balancers or [] if lb.get("advancedConfiguration")), None)
    if lb is None:
        return {}
    adv = lb["advancedConfiguration"]
    return {
        "pair": (lb.get("targetGroupArn"), adv.get("alternateTargetGroupArn")),
        "prod_rule": adv.get("productionListenerRule"),
        "test_rule": adv.get("testListenerRule"),
    }


def create_service(original: Any, engine: Engine) -> Any:
    def method(self: Any) -> Any:
        params = self._get_params()
        config = _checked(self.ecs_backend, params)
        result = original(self)
        if config is None:
            return result
        with engine.lock:
            backend = self.ecs_backend
            service = backend._get_service(params.get("cluster", "default"), params["serviceName"])
            service.deployment_configuration = config
            service.running_count, service.pending_count = service.desired_count, 0
            for entry in service.deployments:
                entry.update(runningCount=service.desired_count, pendingCount=0, rolloutState="COMPLETED")
                entry["rolloutStateReason"] = f"ECS deployment {entry['id']} completed."
            if service.task_definition:
                _first_deployment(backend, service, config)
        return result

    return method


def _first_deployment(backend: Any, service: Any, config: dict[str, Any]) -> None:
    td = backend.describe_task_definition(service.task_definition)
    revision = records.new_revision(backend, service, td)
    wiring = _wiring(service)
    if wiring:
        records.set_target_group(revision, wiring["pair"][0], wiring["prod_rule"])
    dep = records.Deployment(
        arn=records.deployment_arn(service),
        service_arn=service.arn,
        cluster_arn=service.cluster_arn,
        cluster=service.cluster_name,
        service=service.name,
        target=revision["serviceRevisionArn"],
        sources=[],
        config=config,
        status="SUCCESSFUL",
    )
    dep.started_at = dep.finished_at = dep.created_at
    dep.counts[dep.target] = {"requested": service.desired_count, "running": service.desired_count, "pending": 0}
    if config["strategy"] in TRAFFIC_STRATEGIES:
        dep.prod_weights[dep.target] = 100.0
        dep.test_weights[dep.target] = 100.0 if wiring.get("test_rule") else 0.0
    records.store(backend).deployments[dep.arn] = dep
    service.current_service_deployment = dep.arn
    service.current_service_revisions = [
        {
            "arn": dep.target,
            "requestedTaskCount": service.desired_count,
            "runningTaskCount": service.desired_count,
            "pendingTaskCount": 0,
        }
    ]


_NEW_REVISION_KEYS = ("taskDefinition", "loadBalancers", "networkConfiguration", "platformVersion")


def update_service(original: Any, engine: Engine) -> Any:
    def method(self: Any) -> Any:
        params = self._get_params()
        backend = self.ecs_backend
        service = backend._get_service(params.get("cluster", "default"), params["service"])
        config = _checked(backend, params, service)
        if config is None:
            return original(self)
        td = backend.describe_task_definition(params["taskDefinition"]) if params.get("taskDefinition") else None
        changed = (td is not None and td.arn != service.task_definition) or any(
            k in params for k in _NEW_REVISION_KEYS[1:]
        )
        new_revision = changed or bool(params.get("forceNewDeployment"))
        store = records.store(backend)
        active = store.active(service.arn)
        if new_revision and active is not None:
            raise EcsClientException(
                f"The service {service.name} has a service deployment in progress ({active.arn}, {active.status}); "
                "wait for it to finish or stop it with StopServiceDeployment."
            )
        previous_td = service.task_definition
        result = original(self)
        with engine.lock:
            service.deployment_configuration = config
            if td is not None:
                service.task_definition = td.arn
            if new_revision:
                _start(engine, backend, service, config, previous_td)
        return result

    return method


def _start(engine: Engine, backend: Any, service: Any, config: dict[str, Any], previous_td: str) -> Run:
    from orchestrator.sandbox.ecs_deployments import service_state

    store = records.store(backend)
    td = backend.describe_task_definition(service.task_definition)
    revision = records.new_revision(backend, service, td)
    last = next((d for d in store.for_service(service.arn)), None)
    source = last.target if last is not None and last.status == "SUCCESSFUL" else None
    if last is not None and last.status == "ROLLBACK_SUCCESSFUL":
        source = (last.rollback or {}).get("serviceRevisionArn") or (last.sources[0] if last.sources else None)
    if last is not None and last.status == "STOPPED":  # an aborted deployment leaves both revisions active
        source = last.sources[0] if last.sources else last.target
    sources = [source] if source else []
    if last is not None and last.status == "STOPPED" and last.target not in sources:
        sources.append(last.target)
    wiring = _wiring(service)
    blue_tg = green_tg = None
    if wiring and config["strategy"] in TRAFFIC_STRATEGIES:
        blue_tg = records.target_group_of(store.revisions.get(source or "", {})) or wiring["pair"][0]
        green_tg = wiring["pair"][1] if blue_tg == wiring["pair"][0] else wiring["pair"][0]
        records.set_target_group(revision, green_tg, wiring["prod_rule"])
    dep = records.Deployment(
        arn=records.deployment_arn(service),
        service_arn=service.arn,
        cluster_arn=service.cluster_arn,
        cluster=service.cluster_name,
        service=service.name,
        target=revision["serviceRevisionArn"],
        sources=sources,
        config=config,
        breaker=breaker_of(config, service.desired_count),
        alarms=alarms_of(config),
    )
    for arn in sources:
        dep.counts[arn] = {"requested": service.desired_count, "running": service.desired_count, "pending": 0}
    if config["strategy"] in TRAFFIC_STRATEGIES:
        dep.prod_weights = {dep.target: 0.0, **{a: (100.0 if a == sources[0] else 0.0) for a in sources}}
        dep.test_weights = {dep.target: 0.0, **{a: (100.0 if a == sources[0] else 0.0) for a in sources}}
    store.deployments[dep.arn] = dep
    service.current_service_deployment = dep.arn
    source_td = store.revisions[sources[0]]["taskDefinition"] if sources else previous_td
    service_state.start(service, td.arn)
    run = Run(
        engine,
        backend,
        service,
        dep,
        store,
        faults=ECS_FAULTS.take(service.name),
        blue_td=source_td,
        green_td=td.arn,
        blue_tg=blue_tg,
        green_tg=green_tg,
        prod_rule=wiring.get("prod_rule") if green_tg else None,
        test_rule=wiring.get("test_rule") if green_tg else None,
    )
    run.start()
    return run


# ---- the five service-deployment operations ---------------------------------------------------------
def _find(backend: Any, arn: str) -> records.Deployment:
    dep = records.store(backend).deployments.get(arn)
    if dep is None:
        raise ServiceDeploymentNotFoundException(arn)
    return dep


def _limit(arns: Any, name: str) -> list[str]:
    if not isinstance(arns, list) or not arns:
        raise InvalidParameterException(f"{name} must name at least one ARN.")
    if len(arns) > MAX_DESCRIBE:
        raise InvalidParameterException(f"{name} can have at most {MAX_DESCRIBE} ARNs, got {len(arns)}.")
    return [str(a) for a in arns]


def list_service_deployments(self: Any, engine: Engine) -> ActionResult:
    backend = self.ecs_backend
    service = backend._get_service(self._get_param("cluster", "default"), self._get_param("service"))
    statuses = self._get_param("status") or []
    window = self._get_param("createdAt") or {}
    size = self._get_param("maxResults") or 20
    if not 1 <= int(size) <= 100:
        raise InvalidParameterException("maxResults must be between 1 and 100.")
    with engine.lock:
        found = [d for d in records.store(backend).for_service(service.arn) if not statuses or d.status in statuses]
        found = [d for d in found if _in_window(d.created_at, window)]
        start = int(self._get_param("nextToken") or 0)
        page = found[start : start + int(size)]
        token = str(start + int(size)) if start + int(size) < len(found) else None
        return ActionResult({"serviceDeployments": [d.brief() for d in page], "nextToken": token})


def _in_window(created: Any, window: dict[str, Any]) -> bool:
    def stamp(value: Any) -> float:
        return value.timestamp() if hasattr(value, "timestamp") else float(value)

    before, after = window.get("before"), window.get("after")
    at = created.timestamp()
    return (before is None or at < stamp(before)) and (after is None or at > stamp(after))


def describe_service_deployments(self: Any, engine: Engine) -> ActionResult:
    arns = _limit(self._get_param("serviceDeploymentArns"), "serviceDeploymentArns")
    store = records.store(self.ecs_backend)
    with engine.lock:
        found = [store.deployments[a].describe() for a in arns if a in store.deployments]
    failures = [{"arn": a, "reason": "MISSING"} for a in arns if a not in store.deployments]
    return ActionResult({"serviceDeployments": found, "failures": failures})


def describe_service_revisions(self: Any, engine: Engine) -> ActionResult:
    arns = _limit(self._get_param("serviceRevisionArns"), "serviceRevisionArns")
    store = records.store(self.ecs_backend)
    found = [dict(store.revisions[a]) for a in arns if a in store.revisions]
    failures = [{"arn": a, "reason": "MISSING"} for a in arns if a not in store.revisions]
    return ActionResult({"serviceRevisions": found, "failures": failures})


def stop_service_deployment(self: Any, engine: Engine) -> ActionResult:
    arn = self._get_param("serviceDeploymentArn")
    kind = self._get_param("stopType") or "ROLLBACK"
    if kind not in ("ABORT", "ROLLBACK"):
        raise InvalidParameterException(f"stopType {kind!r} is not ABORT or ROLLBACK.")
    with engine.lock:
        dep = _find(self.ecs_backend, arn)
        if dep.finished:
            raise ConflictException(f"The service deployment {arn} is {dep.status} and cannot be stopped.")
        # Developer guide, "Stopping Amazon ECS service deployments": from STOP_REQUESTED or a rollback
        # state the deployment "continues to stop" / "continues the rollback operation".
        if dep.status in ("PENDING", "IN_PROGRESS"):
            run = records.store(self.ecs_backend).runs[arn]
            what = "rolled back" if kind == "ROLLBACK" else "aborted"
            run.request_stop(kind, f"Service deployment {what} by StopServiceDeployment ({kind}).")
    return ActionResult({"serviceDeploymentArn": arn})


def continue_service_deployment(self: Any, engine: Engine) -> ActionResult:
    arn = self._get_param("serviceDeploymentArn")
    hook_id = self._get_param("hookId")
    action = self._get_param("action") or "CONTINUE"
    if action not in ("CONTINUE", "ROLLBACK"):
        raise InvalidParameterException(f"action {action!r} is not CONTINUE or ROLLBACK.")
    with engine.lock:
        dep = _find(self.ecs_backend, arn)
        run = records.store(self.ecs_backend).runs.get(arn)
        # "The pause hook must be in AWAITING_ACTION status"; "The deployment must be in the IN_PROGRESS state."
        if dep.status != "IN_PROGRESS" or run is None or not run.continue_hook(hook_id, action):
            raise InvalidParameterException(
                f"The service deployment {arn} has no PAUSE hook {hook_id} awaiting action (status {dep.status})."
            )
    return ActionResult({"serviceDeploymentArn": arn})


ADDED_ACTIONS = {
    "list_service_deployments": list_service_deployments,
    "describe_service_deployments": describe_service_deployments,
    "describe_service_revisions": describe_service_revisions,
    "stop_service_deployment": stop_service_deployment,
    "continue_service_deployment": continue_service_deployment,
}

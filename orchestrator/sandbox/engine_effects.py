"""What a deployment run does to ECS and ELB, and how it works out what it acts on (a mixin of
engine_run.Run: the methods keep their names; the state is the run's)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from orchestrator.sandbox import service_tasks
from orchestrator.sandbox.engine_ecs import (
    DeploymentError,
    Resolved,
    backends,
    hooks_of,
    listener_weights,
    network_of,
    parse_appspec,
    service_event,
    set_task_set_counts,
    short_id,
    target_service,
    utcnow,
)
from orchestrator.sandbox.engine_install import crash_of, health_of
from orchestrator.sandbox.engine_timing import Durations
from orchestrator.sandbox.faults import DeploymentFaults
from orchestrator.sandbox.service_tasks import placement_of

if TYPE_CHECKING:
    from orchestrator.sandbox.engine import Engine


class RunEffects:
    """Resolution and ECS/ELB effects of a deployment run (the run's attributes are declared here)."""

    engine: Engine
    backend: Any
    deployment: Any
    faults: DeploymentFaults
    events: list[dict[str, Any]]
    target_status: str
    last_updated: Any
    resolved: Resolved | None
    blue_ts: Any
    green_ts: Any
    green_weight: float
    gone: dict[str, dict[str, Any]]

    # ---- bookkeeping -------------------------------------------------------------------------
    @property
    def account_id(self) -> str:
        return str(self.backend.account_id)

    @property
    def region(self) -> str:
        return str(self.backend.region_name)

    def touch(self) -> None:
        self.last_updated = utcnow()

    # ---- resolution --------------------------------------------------------------------------
    def resolve(self) -> Resolved:
        group = self.deployment.deployment_group
        services = group.ecs_services or []
        if not services:
            raise DeploymentError("INVALID_ECS_SERVICE", "The deployment group has no ECS service.")
        cluster, service_name = services[0]["clusterName"], services[0]["serviceName"]
        ecs, elbv2 = backends(self.account_id, self.region)
        try:
            service = ecs._get_service(cluster, service_name)
        except Exception as exc:
            raise DeploymentError(
                "INVALID_ECS_SERVICE", f"The ECS service {service_name} in cluster {cluster} does not exist."
            ) from exc
        pairs = (group.load_balancer_info or {}).get("targetGroupPairInfoList") or []
        if not pairs:
            raise DeploymentError("MISSING_ELB_INFORMATION", "The deployment group has no target group pair.")
        pair = pairs[0]
        names = [tg["name"] for tg in pair.get("targetGroups") or []]
        prod = ((pair.get("prodTrafficRoute") or {}).get("listenerArns") or [None])[0]
        test = ((pair.get("testTrafficRoute") or {}).get("listenerArns") or [None])[0]
        if len(names) != 2 or not prod:
            raise DeploymentError(
                "ELASTIC_LOAD_BALANCING_INVALID", "The target group pair needs two target groups and a listener."
            )
        try:
            groups = {tg.name: tg.arn for tg in elbv2.describe_target_groups(None, [], names)}
            prod_listener = elbv2.describe_listeners(load_balancer_arn=None, listener_arns=[prod])[0]
        except Exception as exc:
            raise DeploymentError(
                "ELASTIC_LOAD_BALANCING_INVALID", f"Load balancer resources not found: {exc}"
            ) from exc
        weights = listener_weights(prod_listener)
        arns = [groups[n] for n in names]
        # The replacement goes to whichever group does not carry production traffic now.
        blue_index = 0 if weights.get(arns[0], 0) >= weights.get(arns[1], 0) else 1
        spec = parse_appspec(self.deployment.revision)
        props = target_service(spec)
        lb = props.get("LoadBalancerInfo") or {}
        task_def = props.get("TaskDefinition")
        if not task_def or not lb.get("ContainerName") or lb.get("ContainerPort") is None:
            raise DeploymentError(
                "INVALID_REVISION",
                "The AppSpec file needs TaskDefinition and LoadBalancerInfo (ContainerName, ContainerPort).",
            )
        return Resolved(
            cluster=cluster,
            service=service_name,
            service_arn=service.arn,
            task_definition=str(task_def),
            container_name=str(lb["ContainerName"]),
            container_port=int(lb["ContainerPort"]),
            network_configuration=network_of(props) or (service.network_configuration or None),
            platform_version=props.get("PlatformVersion") or service.platform_version,
            hooks=hooks_of(spec),
            prod_listener=prod,
            test_listener=test,
            blue_tg_arn=arns[blue_index],
            blue_tg_name=names[blue_index],
            green_tg_arn=arns[1 - blue_index],
            green_tg_name=names[1 - blue_index],
        )

    # ---- ECS / ELB effects -------------------------------------------------------------------
    def _ecs_service(self) -> Any:
        assert self.resolved is not None
        ecs, _ = backends(self.account_id, self.region)
        return ecs._get_service(self.resolved.cluster, self.resolved.service)

    def _point_listener(self, arn: str | None, weights: list[tuple[str, int]]) -> None:
        if not arn:
            return
        _, elbv2 = backends(self.account_id, self.region)
        action: dict[str, Any]
        if len(weights) == 1:
            action = {"Type": "forward", "TargetGroupArn": weights[0][0]}
        else:
            action = {
                "Type": "forward",
                "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": a, "Weight": w} for a, w in weights]},
            }
        elbv2.modify_listener(arn, certificates=[], actions=[action])

    def shift_traffic(self, green_percent: float) -> None:
        r = self.resolved
        assert r is not None
        green = round(green_percent)
        # As CodeDeploy has done since late 2022: both groups stay in a weighted forward, the idle one at 0.
        self._point_listener(r.prod_listener, [(r.green_tg_arn, green), (r.blue_tg_arn, 100 - green)])
        self.green_weight = float(green_percent)
        self.touch()

    def create_green(self) -> Any:
        r = self.resolved
        assert r is not None
        ecs, _ = backends(self.account_id, self.region)
        service = self._ecs_service()
        # Leftovers of an earlier failed deployment on the replacement group go first.
        for ts in list(service.task_sets):
            on_green = any(lb.get("targetGroupArn") == r.green_tg_arn for lb in ts.load_balancers)
            if on_green and ts.status != "PRIMARY":
                ecs.delete_task_set(r.cluster, r.service, ts.task_set_arn)
        prefix = "The ECS service cannot be updated due to an unexpected error: "
        try:
            task_definition = ecs.describe_task_definition(r.task_definition)
        except Exception as exc:
            raise DeploymentError(
                "ECS_UPDATE_ERROR", f"{prefix}Unable to find task definition '{r.task_definition}'."
            ) from exc
        # ECS refuses a task set whose load balancer names a container or port the task definition lacks.
        containers = {c.get("name"): c for c in task_definition.container_definitions}
        if r.container_name not in containers:
            raise DeploymentError(
                "ECS_UPDATE_ERROR",
                f"{prefix}The container {r.container_name} does not exist in the task definition. "
                "(Service: AmazonECS; Status Code: 400; Error Code: InvalidParameterException)",
            )
        ports = {m.get("containerPort") for m in containers[r.container_name].get("portMappings") or []}
        if r.container_port not in ports:
            raise DeploymentError(
                "ECS_UPDATE_ERROR",
                f"{prefix}The container {r.container_name} did not have a container port {r.container_port} "
                "defined. (Service: AmazonECS; Status Code: 400; Error Code: InvalidParameterException)",
            )
        # scale=None keeps moto from running tasks itself (its run_task needs container-level cpu/memory).
        task_set = ecs.create_task_set(
            r.service,
            r.cluster,
            r.task_definition,
            external_id=self.deployment.deployment_id,
            network_configuration=r.network_configuration,
            load_balancers=[
                {"targetGroupArn": r.green_tg_arn, "containerName": r.container_name, "containerPort": r.container_port}
            ],
            launch_type=service.launch_type,
            platform_version=r.platform_version,
            scale=None,
        )
        task_set.scale = {"value": 100.0, "unit": "PERCENT"}
        set_task_set_counts(task_set, service.desired_count, 0, stable=False)
        service_tasks.launch(
            ecs,
            placement_of(service, task_set),
            service.desired_count,
            health=health_of(self.faults),
            crash=crash_of(self.faults),
        )
        return task_set

    def delete_task_set(self, task_set: Any, label: str) -> None:
        r = self.resolved
        if task_set is None or r is None:
            return
        info = self.task_set_info(task_set, label)
        info.update(runningCount=0, pendingCount=0, desiredCount=0, status="DRAINING", trafficWeight=0.0)
        self.gone[label] = info
        # ECS keeps a replaced task set DRAINING at scale 0 while its targets drain, then deletes it.
        task_set.status = "DRAINING"
        task_set.scale = {"value": 0.0, "unit": "PERCENT"}
        set_task_set_counts(task_set, 0, 0, stable=False)
        ecs, _ = backends(self.account_id, self.region)
        service = self._ecs_service()
        cluster, name, arn = r.cluster, r.service, task_set.task_set_arn
        stopped = service_tasks.stop(
            service_tasks.tasks_of(ecs, cluster, started_by=task_set.id),
            service_tasks.SCALED_IN.format(deployment=task_set.id),
        )
        if stopped:  # the scheduler's own words (Developer Guide, "Amazon ECS service event messages")
            prefix = f"(service {name}, taskSet {short_id(task_set)})"
            names = " ".join(f"(task {t.id})" for t in stopped)
            service_event(service, f"{prefix} has stopped {len(stopped)} running tasks: {names}.")
            group = next((lb.get("targetGroupArn") for lb in task_set.load_balancers or []), None)
            if group:
                service_event(service, f"{prefix} deregistered {len(stopped)} targets in (target-group {group})")

        def delete() -> None:
            if any(ts.task_set_arn == arn and ts.status == "DRAINING" for ts in service.task_sets):
                ecs.delete_task_set(cluster, name, arn)
                service_event(service, f"(service {name}) deleted task set {short_id(task_set)}.")

        self.engine.later(Durations.DRAIN, delete)

    def make_primary(self, task_set: Any) -> None:
        r = self.resolved
        assert r is not None
        ecs, _ = backends(self.account_id, self.region)
        ecs.update_service_primary_task_set(r.cluster, r.service, task_set.task_set_arn)
        service = self._ecs_service()
        service.running_count = service.desired_count
        service.pending_count = 0
        service_event(service, f"(service {r.service}) updated the primary task set to {short_id(task_set)}.")

    def task_set_info(self, task_set: Any, label: str) -> dict[str, Any]:
        r = self.resolved
        assert r is not None
        if label in self.gone:
            return dict(self.gone[label])
        weight = self.green_weight if label == "Green" else 100.0 - self.green_weight
        return {
            "identifer": short_id(task_set),  # sic: AWS's member name
            "desiredCount": int(getattr(task_set, "computed_desired_count", 0)),
            "pendingCount": int(getattr(task_set, "pending_count", 0)),
            "runningCount": int(getattr(task_set, "running_count", 0)),
            "status": task_set.status,
            "trafficWeight": float(weight),
            "targetGroup": {"name": r.green_tg_name if label == "Green" else r.blue_tg_name},
            "taskSetLabel": label,
        }

    def target(self) -> dict[str, Any]:
        d = self.deployment
        r = self.resolved
        services = d.deployment_group.ecs_services or [{}]
        cluster = r.cluster if r else services[0].get("clusterName", "")
        name = r.service if r else services[0].get("serviceName", "")
        arn = r.service_arn if r else ""
        if not arn:
            with contextlib.suppress(Exception):
                arn = backends(self.account_id, self.region)[0]._get_service(cluster, name).arn
        infos = []
        if r is not None:
            for label, ts in (("Blue", self.blue_ts), ("Green", self.green_ts)):
                if ts is not None or label in self.gone:
                    infos.append(self.task_set_info(ts, label))
        return {
            "deploymentTargetType": "ECSTarget",
            "ecsTarget": {
                "deploymentId": d.deployment_id,
                "targetId": f"{cluster}:{name}",
                "targetArn": arn,
                "lastUpdatedAt": self.last_updated,
                "lifecycleEvents": [dict(e) for e in self.events],
                "status": self.target_status,
                "taskSetsInfo": infos,
            },
        }

"""The CodeDeploy ECS blue/green engine: moves deployments through the real lifecycle on wall-clock time.

moto keeps a CodeDeploy deployment `Created` forever. Here every ECS deployment gets a `Run`: a
generator that performs one lifecycle step at a time and yields how many *simulated* seconds the
next step takes. A ticker thread resumes each run when its (scaled) time is due, so progress depends
on the clock, never on how often a client polls. All moto state is touched under `LOCK`, which the
WSGI middleware also holds around every request, so clients never observe a half-applied step.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

from orchestrator.lifecycle import HOOK_EVENTS as APPSPEC_HOOK_EVENTS
from orchestrator.lifecycle import LIFECYCLE_EVENTS
from orchestrator.sandbox import service_tasks
from orchestrator.sandbox.alarms import poll as poll_alarms
from orchestrator.sandbox.clock import CLOCK, LOCK
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
from orchestrator.sandbox.engine_install import crash_of, failing_install, health_of, started_event
from orchestrator.sandbox.faults import DeploymentFaults
from orchestrator.sandbox.hooks import run_hook
from orchestrator.sandbox.service_tasks import placement_of

LIFECYCLE = LIFECYCLE_EVENTS
HOOK_EVENTS = frozenset(APPSPEC_HOOK_EVENTS)


class Durations:
    """Simulated seconds per step (multiplied by the time scale to get wall-clock seconds)."""

    START = 3.0  # Created -> InProgress: CodeDeploy picks the deployment up
    HOOK = 8.0  # a lifecycle event whose AppSpec hook (a Lambda function) runs
    NO_HOOK = 1.0  # a lifecycle event without a hook
    INSTALL = 45.0  # replacement tasks start, register and pass the target group's health checks
    INSTALL_UNHEALTHY = 120.0  # how long replacement tasks cycle before Install gives up (AWS: 60 min)
    TEST_TRAFFIC = 5.0  # test listener re-pointed
    TRAFFIC_SHIFT = 5.0  # each production listener change
    READY_WAIT_MAX = 2880 * 60.0  # STOP_DEPLOYMENT without a wait time: AWS's two-day maximum
    # StopDeployment answers Pending and the stop completes later; AWS documents no time ("tens of
    # seconds" observed), so 30 simulated seconds.
    STOP = 30.0
    # A replaced task set stays DRAINING (scale 0) until its targets have drained (the target group's
    # deregistration delay, 300 s by default; not documented for task sets): 30 simulated seconds here.
    DRAIN = 30.0


def lifecycle_of(group: Any) -> tuple[str, ...]:
    """The group's lifecycle events: without a test listener AWS lists six (no AllowTestTraffic and
    AfterAllowTestTraffic; observed, not spelled out in the user guide: see docs/sandbox-control.md)."""
    pairs = (group.load_balancer_info or {}).get("targetGroupPairInfoList") or []
    test = ((pairs[0].get("testTrafficRoute") or {}).get("listenerArns") if pairs else None) or []
    if test:
        return LIFECYCLE
    return tuple(n for n in LIFECYCLE if n not in ("AllowTestTraffic", "AfterAllowTestTraffic"))


@dataclass
class Hold:
    """Yielded by a run to wait for continue_deployment (or the simulated timeout)."""

    wait_type: str  # READY_WAIT | TERMINATION_WAIT
    timeout: float  # simulated seconds


class Run:
    """One deployment in flight. `steps()` is the lifecycle; the engine drives it."""

    def __init__(
        self,
        engine: Engine,
        backend: Any,
        deployment: Any,
        faults: DeploymentFaults,
        rollback_of: Run | None = None,
    ) -> None:
        self.engine = engine
        self.backend = backend  # moto CodeDeployBackend
        self.deployment = deployment
        self.faults = faults
        self.rollback_of = rollback_of
        self.events: list[dict[str, Any]] = [
            {"lifecycleEventName": n, "status": "Pending"} for n in lifecycle_of(deployment.deployment_group)
        ]
        self.target_status = "Pending"
        self.last_updated = utcnow()
        self.resolved: Resolved | None = None
        self.blue_ts: Any = None
        self.green_ts: Any = None
        self.green_weight = 0.0
        self.gone: dict[str, dict[str, Any]] = {}  # label -> last taskSetsInfo of a deleted task set
        self.current: str | None = None
        self.hold: Hold | None = None
        self.continued = False
        self.due = 0.0
        self.stop_request: tuple[bool | None] | None = None
        self.stop_due: float | None = None  # when an accepted StopDeployment completes (monotonic)
        self.done = False
        self.gen: Generator[float | Hold, None, None] = self.rollback_steps() if rollback_of else self.steps()

    # ---- bookkeeping -------------------------------------------------------------------------
    @property
    def account_id(self) -> str:
        return str(self.backend.account_id)

    @property
    def region(self) -> str:
        return str(self.backend.region_name)

    def _event(self, name: str) -> dict[str, Any]:
        return next(e for e in self.events if e["lifecycleEventName"] == name)

    def begin(self, name: str) -> None:
        event = self._event(name)
        event.update(status="InProgress", startTime=utcnow())
        self.current = name
        self.touch()

    def end(self, name: str, status: str = "Succeeded") -> None:
        event = self._event(name)
        event.update(status=status, endTime=utcnow())
        event.setdefault("startTime", event["endTime"])
        self.current = None
        self.touch()

    def touch(self) -> None:
        self.last_updated = utcnow()

    def set_target_status(self, status: str) -> None:
        self.target_status = status
        # deploymentOverview stays null until the deployment ends (as AWS reports ECS deployments).
        overview = None
        if status in ("Succeeded", "Failed", "Skipped"):
            overview = dict.fromkeys(("Pending", "InProgress", "Succeeded", "Failed", "Skipped", "Ready"), 0)
            overview[status] = 1
        self.deployment.deployment_overview = overview
        self.touch()

    def duration(self, name: str) -> float:
        assert self.resolved is not None
        return Durations.HOOK if name in self.resolved.hooks else Durations.NO_HOOK

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
        service_tasks.stop(
            service_tasks.tasks_of(ecs, cluster, started_by=task_set.id),
            service_tasks.SCALED_IN.format(deployment=task_set.id),
        )

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

    # ---- the lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        d = self.deployment
        d.status = "InProgress"
        d.start_time = utcnow()
        self.set_target_status("InProgress")

    def check_fault(self, name: str) -> Iterator[float]:
        """A `fail_at` fault fails this event after it has run for a while."""
        if self.faults.fail_at != name:
            return
        yield self.duration(name) if name in HOOK_EVENTS else Durations.NO_HOOK
        assert self.resolved is not None
        hook = self.resolved.hooks.get(name, f"sandbox-fault-{name}")
        message = self.faults.message or f"Injected failure at {name}"
        code = "HOOK_EXECUTION_FAILURE" if name in HOOK_EVENTS else "ECS_UPDATE_ERROR"
        raise DeploymentError(
            code,
            f"The deployment failed because a lifecycle event failed: {name}: {message}",
            diagnostics={
                "errorCode": "ScriptFailed",
                "scriptName": hook,
                "message": message,
                # The failure's own words last, as a hook's output ends with its verdict.
                "logTail": f"[sandbox] {name} started\n[sandbox] {name} failing\n[sandbox] {message}\n",
            },
        )

    def hook(self, name: str) -> Iterator[float]:
        self.begin(name)
        yield from self.check_fault(name)
        assert self.resolved is not None
        function = self.resolved.hooks.get(name)
        if function is None:
            yield Durations.NO_HOOK
        else:  # invoke the function and wait for PutLifecycleEventHookExecutionStatus (hooks.py)
            yield from run_hook(self, name, function)
        self.end(name)

    def steps(self) -> Generator[float | Hold, None, None]:
        d = self.deployment
        group = d.deployment_group
        yield Durations.START
        self.start()
        self.resolved = r = self.resolve()
        service = self._ecs_service()
        self.blue_ts = next((ts for ts in service.task_sets if ts.status == "PRIMARY"), None)

        yield from self.hook("BeforeInstall")

        self.begin("Install")
        yield from self.check_fault("Install")
        self.green_ts = green = self.create_green()
        desired = service.desired_count
        ecs, _ = backends(self.account_id, self.region)
        started_event(service, green, service_tasks.tasks_of(ecs, r.cluster, started_by=green.id))
        if health_of(self.faults) is not None or crash_of(self.faults) is not None:
            yield from failing_install(self, ecs, service, green)
        yield Durations.INSTALL / 2
        set_task_set_counts(green, desired, max(desired // 2, 0), stable=False)
        yield Durations.INSTALL / 2
        set_task_set_counts(green, desired, desired, stable=True)
        service_event(
            service,
            f"(service {r.service}, taskSet {short_id(green)}) registered {desired} targets in "
            f"(target-group {r.green_tg_arn})",
        )
        self.end("Install")

        yield from self.hook("AfterInstall")

        if r.test_listener:
            self.begin("AllowTestTraffic")
            yield from self.check_fault("AllowTestTraffic")
            self._point_listener(r.test_listener, [(r.green_tg_arn, 100), (r.blue_tg_arn, 0)])
            yield Durations.TEST_TRAFFIC
            self.end("AllowTestTraffic")

            yield from self.hook("AfterAllowTestTraffic")

        ready = (group.blue_green_deployment_configuration or {}).get("deploymentReadyOption") or {}
        if ready.get("actionOnTimeout") == "STOP_DEPLOYMENT":
            d.status = "Ready"
            self.set_target_status("Ready")
            minutes = float(ready.get("waitTimeInMinutes") or 0)
            yield Hold("READY_WAIT", minutes * 60 if minutes > 0 else Durations.READY_WAIT_MAX)
            if not self.continued:
                # User guide, ECS deployment group, "Choose when to reroute traffic": without a continue
                # within the wait, "the deployment status is changed to Stopped" (no rollback documented).
                self.stop(
                    False,
                    code="TIMEOUT",
                    message="The deployment was stopped because traffic was not rerouted within the specified "
                    f"wait time of {minutes:g} minutes.",
                )
                return
            d.status = "InProgress"
            self.set_target_status("InProgress")

        yield from self.hook("BeforeAllowTraffic")

        self.begin("AllowTraffic")
        yield from self.check_fault("AllowTraffic")
        for percent, wait_minutes in self.engine.config_for(d).traffic_plan():
            self.shift_traffic(percent)
            yield Durations.TRAFFIC_SHIFT
            if wait_minutes:
                yield wait_minutes * 60
        self.make_primary(green)
        self.end("AllowTraffic")

        yield from self.hook("AfterAllowTraffic")

        terminate = (group.blue_green_deployment_configuration or {}).get("terminateBlueInstancesOnDeploymentSuccess")
        terminate = terminate or {}
        if self.blue_ts is not None and terminate.get("action", "TERMINATE") == "TERMINATE":
            d.instance_termination_wait_time_started = True
            self.touch()
            minutes = float(terminate.get("terminationWaitTimeInMinutes") or 0)
            if minutes > 0:
                yield Hold("TERMINATION_WAIT", minutes * 60)
            self.delete_task_set(self.blue_ts, "Blue")
        service_event(service, f"(service {r.service}) has reached a steady state.")
        self.succeed()

    def rollback_steps(self) -> Generator[float | Hold, None, None]:
        """Return traffic to the original task set and remove the replacement (the rollback deployment)."""
        original = self.rollback_of
        assert original is not None
        yield Durations.START
        self.start()
        self.resolved = r = original.resolved
        self.blue_ts, self.green_ts = original.blue_ts, original.green_ts
        self.green_weight = original.green_weight
        names = [e["lifecycleEventName"] for e in self.events]
        if r is None or self.blue_ts is None:
            for name in names:
                self.end(name, "Skipped")
            self.succeed()
            return
        for name in names:
            self.begin(name)
            if name == "Install":
                set_task_set_counts(
                    self.blue_ts, self._ecs_service().desired_count, self._ecs_service().desired_count, True
                )
                yield Durations.NO_HOOK
            elif name == "AllowTestTraffic":
                self._point_listener(r.test_listener, [(r.blue_tg_arn, 100), (r.green_tg_arn, 0)])
                yield Durations.TEST_TRAFFIC
            elif name == "AllowTraffic":
                self.shift_traffic(0)
                self.make_primary(self.blue_ts)
                yield Durations.TRAFFIC_SHIFT
            else:
                yield Durations.NO_HOOK
            self.end(name)
        if self.green_ts is not None:
            self.delete_task_set(self.green_ts, "Green")
            original.gone["Green"] = dict(self.gone["Green"])
        self.succeed()

    # ---- endings -----------------------------------------------------------------------------
    def succeed(self) -> None:
        d = self.deployment
        d.status = "Succeeded"
        d.complete_time = utcnow()
        self.set_target_status("Succeeded")
        self.done = True

    def fail(self, error: DeploymentError) -> None:
        d = self.deployment
        name = self.current
        if name is not None:
            event = self._event(name)
            event.update(status="Failed", endTime=utcnow())
            event["diagnostics"] = error.diagnostics or {
                "errorCode": "UnknownError",
                "scriptName": "",
                "message": error.message,
                "logTail": "",
            }
        self.skip_pending()
        d.status = "Failed"
        d.complete_time = utcnow()
        d.error_information = {"code": error.code, "message": error.message}
        self.set_target_status("Failed")
        self.done = True
        if self.rollback_of is None and self.engine.rollback_enabled(d, "DEPLOYMENT_FAILURE"):
            self.roll_back(f"Deployment {d.deployment_id} failed")

    def skip_pending(self) -> None:
        for event in self.events:
            if event["status"] in ("Pending", "InProgress"):
                event.update(status="Skipped")
                event.setdefault("startTime", utcnow())
                event["endTime"] = utcnow()
        self.current = None

    def stop(
        self,
        auto_rollback: bool | None,
        code: str = "MANUAL_STOP",
        message: str = "The deployment was stopped by the user.",
    ) -> None:
        d = self.deployment
        # The lifecycle event running when the stop completes ends Failed, the rest Skipped.
        if self.current is not None:
            self._event(self.current).update(status="Failed", endTime=utcnow())
            self.current = None
        self.skip_pending()
        d.status = "Stopped"
        d.complete_time = utcnow()
        d.error_information = {"code": code, "message": message}
        if code == "MANUAL_STOP":
            d.deployment_status_messages = ["Deployment stopped by user."]
        self.set_target_status("Failed")
        self.done = True
        rollback = (
            auto_rollback
            if auto_rollback is not None
            else self.engine.rollback_enabled(d, "DEPLOYMENT_STOP_ON_REQUEST")
        )
        if rollback and self.rollback_of is None:
            self.roll_back(f"Deployment {d.deployment_id} was stopped")

    def roll_back(self, reason: str) -> None:
        """Start the rollback deployment, unless the deployment ended before it changed the service
        (stopped while Created, failed or stopped in BeforeInstall): there is nothing to roll back."""
        if self.green_ts is None:
            self.deployment.rollback_info = {
                "rollbackMessage": f"{reason} before the replacement task set was created; no rollback was needed."
            }
            return
        self.engine.start_rollback(self, reason)


class Engine:
    """Owns the runs and the ticker thread. One per process (moto's backends are process-global)."""

    def __init__(self, time_scale: float | None = None) -> None:
        self.lock = LOCK  # what the moto extensions hold while they touch moto's state or the runs
        if time_scale is not None:
            CLOCK.time_scale = time_scale
        self.runs: dict[str, Run] = {}
        self.timers: list[tuple[float, Callable[[], None]]] = []  # (monotonic due time, action)
        self.pending_faults: DeploymentFaults | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._users = 0  # servers in this process sharing the engine (moto's state is process-global too)

    @property
    def time_scale(self) -> float:
        return CLOCK.time_scale

    @time_scale.setter
    def time_scale(self, value: float) -> None:
        CLOCK.time_scale = value

    # ---- lifecycle of the engine itself ------------------------------------------------------
    def start(self) -> None:
        self._users += 1
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name="sandbox-engine", daemon=True)
            self._thread.start()

    def shutdown(self) -> None:
        """Stop the ticker once the last server of this process has stopped."""
        self._users = max(self._users - 1, 0)
        if self._users:
            return
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def reset(self) -> None:
        with LOCK:
            self.runs.clear()
            self.timers.clear()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            with LOCK:
                active = [run for run in self.runs.values() if not run.done] or self.timers
                if active:
                    try:
                        self.tick(time.monotonic())
                    except Exception:  # keep ticking for the other deployments; the log shows why
                        traceback.print_exc()
            # Short naps while something runs; otherwise sleep until a deployment starts.
            if active:
                self._wake.wait(0.01)
            else:
                self._wake.wait(1.0)
            self._wake.clear()

    def later(self, simulated_s: float, action: Callable[[], None]) -> None:
        """Run `action` (under LOCK, on the ticker) once `simulated_s` simulated seconds have passed."""
        self.timers.append((time.monotonic() + simulated_s * self.time_scale, action))
        self._wake.set()

    def tick(self, now: float) -> None:
        due = [t for t in self.timers if t[0] <= now]
        if due:
            self.timers = [t for t in self.timers if t[0] > now]
            for _, action in due:
                try:
                    action()
                except Exception:
                    traceback.print_exc()
        for run in list(self.runs.values()):
            if run.done:
                continue
            if run.stop_request is not None:
                # StopDeployment answered Pending; the deployment stands still until the stop completes.
                if run.stop_due is None:
                    run.stop_due = now + Durations.STOP * self.time_scale
                if now < run.stop_due:
                    continue
                (auto,) = run.stop_request
                run.stop_request = None
                run.gen.close()
                run.stop(auto)
                continue
            if poll_alarms(run):  # an alarm in ALARM stops the deployment (alarms.py)
                continue
            steps = 0
            while not run.done and run.due <= now and steps < 1000:
                steps += 1
                run.hold = None
                try:
                    step = next(run.gen)
                except StopIteration:
                    run.done = True
                    break
                except DeploymentError as error:
                    run.fail(error)
                    break
                except Exception as error:  # a bug or moto surprise must not kill the ticker
                    run.fail(DeploymentError("INTERNAL_ERROR", f"{type(error).__name__}: {error}"))
                    break
                # Due times chain from the previous due time, so a late tick does not stretch the deployment.
                base = run.due if run.due > 0 else now
                if isinstance(step, Hold):
                    run.hold = step
                    run.continued = False
                    run.due = base + step.timeout * self.time_scale
                else:
                    run.due = base + step * self.time_scale

    # ---- called by the moto extensions (under LOCK) ------------------------------------------
    def config_for(self, deployment: Any) -> Any:
        from orchestrator.sandbox.codedeploy_backend import find_config

        return find_config(self.runs[deployment.deployment_id].backend, str(deployment.deployment_config_name))

    def rollback_enabled(self, deployment: Any, event: str) -> bool:
        config = deployment.auto_rollback_configuration or deployment.deployment_group.auto_rollback_configuration
        config = config or {}
        return bool(config.get("enabled")) and event in (config.get("events") or [])

    def begin(self, backend: Any, deployment: Any, faults: DeploymentFaults) -> Run:
        run = Run(self, backend, deployment, faults)
        run.due = time.monotonic()
        self.runs[deployment.deployment_id] = run
        self._wake.set()
        return run

    def start_rollback(self, run: Run, reason: str) -> Run:
        from orchestrator.sandbox.codedeploy_backend import create_rollback_deployment

        d = run.deployment
        rollback = create_rollback_deployment(run.backend, d)
        rollback.rollback_info = {  # type: ignore[attr-defined]
            "rollbackTriggeringDeploymentId": d.deployment_id,
            "rollbackMessage": f"Deployment {rollback.deployment_id} is a rollback of deployment {d.deployment_id}.",
        }
        d.rollback_info = {
            "rollbackDeploymentId": rollback.deployment_id,
            "rollbackMessage": f"{reason}; rolled back by deployment {rollback.deployment_id}.",
        }
        new = Run(self, run.backend, rollback, DeploymentFaults(), rollback_of=run)
        new.due = time.monotonic()
        self.runs[rollback.deployment_id] = new
        self._wake.set()
        return new

    def request_stop(self, deployment_id: str, auto_rollback: bool | None) -> None:
        run = self.runs[deployment_id]
        run.stop_request = (auto_rollback,)
        self._wake.set()

    def request_continue(self, deployment_id: str) -> None:
        run = self.runs[deployment_id]
        run.continued = True
        run.due = 0.0
        self._wake.set()

    def wake(self, deployment_id: str) -> None:
        """Resume a run now (a hook reported before its timeout)."""
        self.runs[deployment_id].due = 0.0
        self._wake.set()

    def target_of(self, deployment_id: str) -> dict[str, Any] | None:
        run = self.runs.get(deployment_id)
        return run.target() if run else None

    def status(self) -> dict[str, Any]:
        return {
            "time_scale": self.time_scale,
            "active_deployments": sorted(i for i, r in self.runs.items() if not r.done),
            "durations": {k: v for k, v in vars(Durations).items() if k.isupper()},  # simulated seconds
        }


ENGINE = Engine()

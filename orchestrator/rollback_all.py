"""`rollback --all`: every service's rollback decided first (reads only: a service with nothing to roll
back to ends the command with nothing written), then all started and followed by one poller.

Each service's rollback is what `rollback --service KEY` does (operations.plan_rollback and
start_rollback): stop the deployment in progress with rollback, or redeploy the previous successful
task definition through its engine."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestrator.engines.select import engine_for
from orchestrator.errors import DeploymentFailed, OrchestratorError
from orchestrator.events import DeploymentFinished, FleetStarted, ServiceState, for_service
from orchestrator.fleet import FleetFailed
from orchestrator.operations import RollbackRequest, plan_rollback, start_rollback
from orchestrator.poller import Followed, SharedPoller
from orchestrator.status import running_task_definition

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.events import Reporter
    from orchestrator.target import Target


def rollback_many(
    aws: Aws,
    targets: list[Target],
    reporter: Reporter,
    *,
    wait: bool = True,
    timeout_s: float | None = None,
    follow_line: Callable[[str], str],
) -> dict[str, Any]:
    """Returns the summary's fields; raises FleetFailed unless every rollback succeeded. `follow_line(key)`:
    the command line that follows a service's rollback (the CLI spells it)."""
    keys = [t.service_key for t in targets]
    reporter.emit(FleetStarted("rollback", tuple(keys)))
    reps: dict[str, Reporter] = {t.service_key: for_service(reporter, t.service_key) for t in targets}
    requests: dict[str, RollbackRequest] = {}
    for t in targets:
        try:
            requests[t.service_key] = plan_rollback(aws, t.service, reps[t.service_key])
        except OrchestratorError as exc:
            raise type(exc)(f"{t.service_key}: {exc.message}", hint=exc.hint, details=exc.details) from None
    run = _Rollbacks(aws, {t.service_key: t for t in targets}, reps, engine_for(targets[0].service).poller(aws))
    run.budget = timeout_s or 3600.0
    for t in targets:
        run.start(t, requests[t.service_key], wait)
    if not wait:
        for key in keys:
            run.state(key, "not-followed", f"follow it with `{follow_line(key)}`")
        return {"status": "Created", "services": run.rows}
    run.follow_all()
    return run.finish()


@dataclass
class _Rollbacks:
    aws: Aws
    targets: dict[str, Target]
    reps: dict[str, Reporter]
    poller: SharedPoller
    budget: float = 3600.0
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    roles: dict[str, tuple[str, str]] = field(default_factory=dict)  # deployment -> (key, stopped | rollback)

    def state(self, key: str, name: str, detail: str = "", dep: str | None = None) -> None:
        self.rows[key]["state"] = name
        self.reps[key].emit(ServiceState(name, detail, dep))

    def follow(self, key: str, dep: str, role: str) -> None:
        self.roles[dep] = (key, role)
        svc = self.targets[key].service
        self.poller.follow(Followed(dep, self.reps[key], f"{svc.cluster_name}:{svc.service_name}", timeout=self.budget))

    def start(self, t: Target, request: RollbackRequest, wait: bool) -> None:
        key = t.service_key
        self.rows[key] = {"status": "NotStarted", "deployment_id": None, "rollback_deployment_id": None}
        outcome = start_rollback(self.aws, t.service, self.reps[key], request)
        dep = str(outcome.deployment_id)
        if request.active is not None:
            self.rows[key].update(deployment_id=dep, status="StopRequested")
            self.state(key, "stopping", f"StopDeployment sent for {dep}, with rollback", dep)
            role = "stopped"
        else:
            self.rows[key].update(rollback_deployment_id=dep, status="Created", to=request.task_definition)
            self.state(key, "rolling-back", f"redeploying {request.task_definition}", dep)
            role = "rollback"
        if wait:
            self.follow(key, dep, role)

    def follow_all(self) -> None:
        while self.poller.active:
            for item in self.poller.poll():
                key, role = self.roles[item.deployment_id]
                if role == "stopped":
                    self._stopped(key, item)
                else:
                    self._rolled_back(key, item)
            if self.poller.active:
                self.poller.wait()

    def _stopped(self, key: str, item: Followed) -> None:
        self.reps[key].emit(DeploymentFinished(item.deployment_id, str(item.outcome), "stopped"))
        after = item.view.rollback_deployment_id if item.view else None
        engine = engine_for(self.targets[key].service)
        after = after or engine.rollback_of(self.aws, item.deployment_id, grace_s=2.0, wait_s=10.0)
        if after:
            self.rows[key]["rollback_deployment_id"] = after
            self.state(key, "rolling-back", f"rollback {after}", after)
            self.follow(key, after, "rollback")
        else:
            self.rows[key]["status"] = "RolledBack"
            self.state(key, "rolled-back", "stopped before it changed anything")

    def _rolled_back(self, key: str, item: Followed) -> None:
        self.reps[key].emit(DeploymentFinished(item.deployment_id, str(item.outcome)))
        if item.ok:
            self.rows[key]["status"] = "RolledBack"
            self.state(key, "rolled-back", f"rollback {item.deployment_id} succeeded", item.deployment_id)
        else:
            self.rows[key]["status"] = str(item.outcome)
            self.rows[key]["reason"] = f"rollback deployment {item.deployment_id} {str(item.outcome).lower()}"
            self.state(key, "failed", self.rows[key]["reason"], item.deployment_id)

    def finish(self) -> dict[str, Any]:
        rows = self.rows
        for key, t in self.targets.items():
            with contextlib.suppress(Exception):  # a read for the summary
                rows[key]["serving_task_definition"] = running_task_definition(self.aws, t.service)
        failed = [k for k in self.targets if rows[k]["status"] != "RolledBack"]
        fields: dict[str, Any] = {"status": "RolledBack" if not failed else "Failed", "services": rows}
        if failed:
            first = failed[0]
            reason = (
                f"{len(failed)} of {len(self.targets)} rollbacks did not succeed ({', '.join(failed)}); "
                f"{first}: {rows[first].get('reason') or rows[first]['status']}"
            )
            raise FleetFailed(DeploymentFailed, reason, fields, {"services": {k: rows[k] for k in failed}})
        return fields

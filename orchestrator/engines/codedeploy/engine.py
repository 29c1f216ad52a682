"""CodeDeploy behind the engine seam (orchestrator/engines/base.py).

A thin adapter: the calls themselves live where they are tested (orchestrator.deployment: describe and
watch; orchestrator.writes: CreateDeployment exactly once; orchestrator.poller: one poller for many;
orchestrator.history: the deployment group's records)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from orchestrator import deployment, history, writes
from orchestrator.engines.codedeploy.vocabulary import TERMINAL
from orchestrator.poller import SharedPoller

if TYPE_CHECKING:
    from datetime import datetime

    from orchestrator.aws import Aws
    from orchestrator.contract import ServiceOutputs
    from orchestrator.deployment import DeploymentView, WaitModel, WatchResult
    from orchestrator.events import Reporter
    from orchestrator.evidence import Evidence
    from orchestrator.history import DeploymentRecord


class CodeDeployEngine:
    """ECS blue/green through CodeDeploy: an AppSpec revision naming the task definition."""

    name = "codedeploy"

    def start_request(
        self,
        service: ServiceOutputs,
        revision: Any,
        description: str,
        deployment_config: str | None,
        token: str,
    ) -> dict[str, Any]:
        """CreateDeployment's parameters; `revision` is the AppSpec content ({content, sha256}, or the
        plan's placeholder for it)."""
        return deployment.create_deployment_params(
            service.codedeploy_app_name,
            service.codedeploy_deployment_group_name,
            revision,
            description,
            deployment_config,
            token,
        )

    def start(self, aws: Aws, request: dict[str, Any]) -> str:
        return writes.create_deployment(aws, request)

    def describe(self, aws: Aws, deployment_id: str, target_id: str | None = None) -> DeploymentView:
        return deployment.describe(aws, deployment_id, target_id)

    def watch(
        self,
        aws: Aws,
        deployment_id: str,
        reporter: Reporter,
        *,
        until: str,
        timeout: float,
        target_id: str | None,
        waits: WaitModel | None,
    ) -> WatchResult:
        return deployment.watch(
            aws, deployment_id, reporter, until=until, timeout=timeout, target_id=target_id, waits=waits
        )

    def poller(self, aws: Aws) -> SharedPoller:
        return SharedPoller(aws)

    def stop(self, aws: Aws, deployment_id: str, *, rollback: bool) -> str | None:
        answer = deployment.stop_deployment(aws, deployment_id, rollback=rollback)
        return str(answer["statusMessage"]) if answer.get("statusMessage") else None

    def approve(self, aws: Aws, deployment_id: str) -> None:
        deployment.continue_deployment(aws, deployment_id)

    def rollback_of(self, aws: Aws, deployment_id: str, *, grace_s: float, wait_s: float) -> str | None:
        """CodeDeploy names the rollback in the failed deployment's rollbackInfo; a deployment stopped
        before it changed anything gets none (after `grace_s` with the deployment ended, there is none)."""
        deadline = time.monotonic() + wait_s
        done_at: float | None = None
        while True:
            record = history.get_record(aws, deployment_id)
            if record.rolled_back_by:
                return record.rolled_back_by
            now = time.monotonic()
            if record.status in TERMINAL:
                done_at = done_at or now
            if (done_at is not None and now - done_at >= grace_s) or now >= deadline:
                return None
            time.sleep(0.25)

    def console_url(self, region: str, deployment_id: str) -> str:
        return deployment.console_url(region, deployment_id)

    def failure_evidence(self, aws: Aws, view: DeploymentView, service: ServiceOutputs) -> Evidence:
        return deployment.failure_evidence(aws, view, service.cluster_name)

    def failure_clues(
        self, aws: Aws, view: DeploymentView, service: ServiceOutputs, evidence: Evidence | None = None
    ) -> list[str]:
        return deployment.failure_clues(aws, view, service.cluster_name, service.service_name, evidence=evidence)

    def active(self, aws: Aws, service: ServiceOutputs) -> DeploymentRecord | None:
        return history.active_deployment(aws, service)

    def history(self, aws: Aws, service: ServiceOutputs, *, limit: int) -> list[DeploymentRecord]:
        return history.load_history(aws, service, limit=limit, images=False)

    def succeeded_since(self, aws: Aws, service: ServiceOutputs, since: datetime) -> list[DeploymentRecord]:
        return history.recent_records(aws, service, since, ("Succeeded",))

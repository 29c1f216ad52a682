"""The deployment-engine seam: everything the release path asks of the service that deploys.

The release path (orchestrator/release/) registers a task-definition revision itself (ECS
RegisterTaskDefinition, the same for every engine) and then hands the rest to the service's engine:

- `start_request(...)`  the request that starts a deployment of the registered revision, as data (the
  plan holds it; `--dry-run` prints it, with the revision still a placeholder);
- `start(aws, request)`  send it, exactly once even when the answer is lost; returns the deployment id;
- `describe(aws, id)` / `watch(aws, id, reporter, ...)` / `poller(aws)`  read its state: one snapshot,
  following one deployment, or following many with one poller;
- `stop(aws, id, rollback=...)`  stop it, with or without rollback;
- `approve(aws, id)`  let a deployment that waits for approval go on;
- `rollback_of(aws, id)`  the rollback deployment the engine started for a failed or stopped one;
- `console_url(region, id)`, `failure_evidence(aws, view, service)`, `failure_clues(aws, view, service,
  evidence)`  where to look, what AWS knows of the failed replacement, and why it failed;
- `active(aws, service)`, `history(aws, service)`  the deployment in progress, the past ones;
  `succeeded_since(aws, service, since)` the successes since a moment (the checks before the first write).

Normalised vocabulary (what every engine reports, whatever its service's own words):

- statuses: `Created`, `Queued`, `InProgress`, `Baking`, `Ready` (active: the service is busy), then
  `Succeeded`, `Failed`, `Stopped` (ended); see orchestrator/engines/codedeploy/vocabulary.py;
- lifecycle/stage events: `events.LifecycleStatus(name, status, ...)`, in the order they run;
- traffic: the original ("blue") and replacement ("green") production weights in percent;
- a followed deployment ends `Succeeded`, `Failed`, `Stopped`, or `traffic-shifted` (production traffic
  all on the replacement; --wait-until traffic-shifted) or `TimedOut`.

An engine raises orchestrator.errors.InputError for what the user must change (nothing written) and
lets AWS's own errors through: the caller sorts them with orchestrator.aws.classify.

Where to add an engine: a package beside `codedeploy/` with a class that implements this Protocol,
one line in orchestrator/engines/select.py mapping the outputs' `deployment_engine` value to it, and
the unit tests in tests/release/test_engine_seam.py run against a fake to show what the release path
expects of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from datetime import datetime

    from orchestrator.aws import Aws
    from orchestrator.contract import ServiceOutputs
    from orchestrator.deployment import DeploymentView, WaitModel, WatchResult
    from orchestrator.events import Reporter
    from orchestrator.evidence import Evidence
    from orchestrator.history import DeploymentRecord
    from orchestrator.poller import SharedPoller


class DeploymentEngine(Protocol):
    """What the release path needs from a deployment engine (see the module's docstring)."""

    name: str  # the outputs' `deployment_engine` value

    def start_request(
        self,
        service: ServiceOutputs,
        revision: Any,
        description: str,
        deployment_config: str | None,
        token: str,
    ) -> dict[str, Any]:
        """The request that deploys `revision` (the registered task definition, or a plan placeholder
        for it) to `service`. `description` ends with `token` (DeploymentDescription's `release=`),
        which finds the deployment again when the start's answer is lost."""
        ...

    def start(self, aws: Aws, request: dict[str, Any]) -> str:
        """Start the deployment (exactly once, whatever the network does); its id."""
        ...

    def describe(self, aws: Aws, deployment_id: str, target_id: str | None = None) -> DeploymentView:
        """One snapshot: normalised status, lifecycle events, traffic weights."""
        ...

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
        """Follow one deployment to its end (or until traffic-shifted), emitting progress events; raises
        errors.TimedOut when `timeout` runs out (the deployment keeps running)."""
        ...

    def poller(self, aws: Aws) -> SharedPoller:
        """One poller that follows many deployments of this engine (poller.Followed items)."""
        ...

    def stop(self, aws: Aws, deployment_id: str, *, rollback: bool) -> str | None:
        """Ask the engine to stop the deployment (with rollback: back to the original revision); the
        engine's own words about it, if any. An already-ended deployment raises the AWS error whose
        code vocabulary.ALREADY_COMPLETED names (callers test it)."""
        ...

    def approve(self, aws: Aws, deployment_id: str) -> None:
        """Let a deployment that waits for approval (Ready) shift production traffic."""
        ...

    def rollback_of(self, aws: Aws, deployment_id: str, *, grace_s: float, wait_s: float) -> str | None:
        """The rollback deployment the engine started for a failed or stopped one (it may appear a
        moment after the end), or None once `grace_s` passed with none."""
        ...

    def console_url(self, region: str, deployment_id: str) -> str:
        """Where the deployment is seen in the AWS console."""
        ...

    def failure_evidence(self, aws: Aws, view: DeploymentView, service: ServiceOutputs) -> Evidence:
        """What AWS knows of the failed deployment's replacement, read once (orchestrator/evidence.py):
        its target health, its stopped tasks (exit codes, last log lines)."""
        ...

    def failure_clues(
        self, aws: Aws, view: DeploymentView, service: ServiceOutputs, evidence: Evidence | None = None
    ) -> list[str]:
        """Why a deployment failed, most telling first (the evidence's causes, failed stages, alarms, the
        engine's error, the ECS service's events): the failure's one line is made from these."""
        ...

    def active(self, aws: Aws, service: ServiceOutputs) -> DeploymentRecord | None:
        """The deployment in progress for the service, if any."""
        ...

    def history(self, aws: Aws, service: ServiceOutputs, *, limit: int) -> list[DeploymentRecord]:
        """The service's deployments, newest first (revision, status, creator, description tokens)."""
        ...

    def succeeded_since(self, aws: Aws, service: ServiceOutputs, since: datetime) -> list[DeploymentRecord]:
        """The service's successful deployments created since `since`, newest first, each from its
        description alone (image, git SHA): a lookup whose cost does not grow with the history."""
        ...

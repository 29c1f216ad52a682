"""Several services in one release: their plans, run together, followed by one poller.

The command validates every service and builds each one's plan (orchestrator/plan.py) before this
module writes anything. Then, in order:

1. the release policies (`--if-active`, the build order, re-attach) for every service;
2. every registration (in parallel; a signal waits until they are all answered);
3. the deployments, at most `max_parallel` in flight, all followed by one SharedPoller
   (orchestrator/poller.py), each finished one verified live.

`atomic` (--atomic): once a service's deployment fails, is stopped or times out, the deployments
still running are stopped with rollback (StopDeployment, autoRollbackEnabled), those not yet created
are skipped, and those that already succeeded are rolled back through CodeDeploy as `orchestrator
rollback` does (a new deployment of the previous task definition). Without it every service ends on
its own outcome. `stop_on_cancel`: Ctrl-C or SIGTERM stops every deployment this release created.

Each service reports through its own reporter (events.for_service): its events carry its key, and
its row moves through events.SERVICE_STATES (ServiceState).
"""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from orchestrator.arns import short_arn
from orchestrator.aws import error_code
from orchestrator.deployment import WaitModel, describe_services_many, live_of, verify_live
from orchestrator.engines.codedeploy.vocabulary import ALREADY_COMPLETED
from orchestrator.engines.select import engine_for
from orchestrator.errors import DeploymentFailed, Interrupted, OrchestratorError, TimedOut
from orchestrator.events import DeploymentFinished, Message, ServiceState, for_service
from orchestrator.interrupts import InterruptShield, deferred_interrupts, sigterm_as_interrupt
from orchestrator.nextsteps import CommandLines, Next, Unspelled
from orchestrator.operations import rollback
from orchestrator.plan import CreateDeployment, RegisterTaskDefinition, Step, WaitForDeployment, reattach
from orchestrator.policy import Decision, before_create, race
from orchestrator.poller import Followed
from orchestrator.reason import next_step, one_line
from orchestrator.status import running_task_definition
from orchestrator.whatruns import now_running

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.contract import ServiceOutputs
    from orchestrator.events import Reporter
    from orchestrator.executor import Executor
    from orchestrator.plan import ReleasePlan
    from orchestrator.policy import ReleasePolicy
    from orchestrator.poller import Followed, SharedPoller
    from orchestrator.target import Target

# Registrations and reads in flight at once (boto3 clients are thread-safe; AWS's TPS limits are not
# documented per call here, and the SDK retries throttling).
WORKERS = 8


@dataclass
class ServiceRelease:
    """One service's part of the release: its target, its plan, and how it went."""

    key: str
    target: Target
    plan: ReleasePlan
    reporter: Reporter
    executor: Executor
    state: str = "queued"
    reattached: bool = False
    reattached_to: str | None = None  # the task definition of the deployment re-attached to
    deployment_id: str | None = None
    outcome: str | None = None  # the deployment's end: Succeeded | traffic-shifted | Failed | Stopped | TimedOut
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    rollback_deployment_id: str | None = None
    rollback_status: str | None = None
    serving: str | None = None  # the task definition its primary task set runs at the end
    undone: bool = False  # stopped or rolled back because another service failed (--atomic)
    timed_out: bool = False  # its wait ran out (--timeout)
    started: float = 0.0

    @property
    def task_definition_arn(self) -> str | None:  # the revision this release registered
        return self.executor.written.get("task_definition_arn")

    @property
    def expected_task_definition(self) -> str | None:  # its own revision, or the re-attached deployment's
        return self.task_definition_arn or self.reattached_to

    @property
    def served_before(self) -> str | None:  # what the service ran when the release began
        return self.plan.preflight.live_task_definition_arn

    @property
    def ok(self) -> bool:
        return self.outcome in ("Succeeded", "traffic-shifted")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "status": _status_word(self),
            "state": self.state,
            "deployment_id": self.deployment_id,
            "task_definition_arn": self.expected_task_definition,
            "image": self.plan.image,
            "rollback_deployment_id": self.rollback_deployment_id,
            "serving_task_definition": self.serving,
        }
        if self.reattached:
            data["reattached"] = True
        if self.reason:
            data["reason"] = self.reason
        return data


def _status_word(r: ServiceRelease) -> str:
    if r.state == "skipped":
        return "Skipped"
    if r.state == "rolled-back" and r.undone:
        return "RolledBack"  # undone by --atomic; a deployment that failed on its own stays Failed
    if r.state == "not-followed":
        return "Created"
    return r.outcome or ("NotStarted" if r.deployment_id is None else "Unknown")


@dataclass(frozen=True)
class FleetOptions:
    max_parallel: int = 0  # 0: every deployment at once
    atomic: bool = False
    no_wait: bool = False


@dataclass
class Fleet:
    """Runs the services' plans together (see the module's docstring)."""

    command: str
    aws: Aws
    reporter: Reporter
    releases: list[ServiceRelease]
    options: FleetOptions
    lines: CommandLines = field(default_factory=Unspelled)  # how next steps read (the CLI spells them)
    aborted_by: str | None = None
    on_timeout: str = "leave"  # --on-timeout: leave a deployment whose wait ran out, or stop it with rollback
    policy: ReleasePolicy | None = None
    _poller: SharedPoller | None = None
    _by_deployment: dict[str, tuple[ServiceRelease, str]] = field(default_factory=dict)
    _described: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    # --- building -------------------------------------------------------------------------------

    @classmethod
    def prepare(
        cls,
        command: str,
        aws: Aws,
        reporter: Reporter,
        plans: list[tuple[Target, ReleasePlan]],
        options: FleetOptions,
        lines: CommandLines,
        executor_factory: Any,
    ) -> Fleet:
        releases = []
        for target, plan in plans:
            rep = for_service(reporter, target.service_key)
            releases.append(ServiceRelease(target.service_key, target, plan, rep, executor_factory(rep)))
        return cls(command, aws, reporter, releases, options, lines)

    def _command(self, step: Next, service: str | None = None) -> str:
        return self.lines.line(step, service=service, all_services=service is None)

    # --- running --------------------------------------------------------------------------------

    def run(self, policy: ReleasePolicy) -> dict[str, Any]:
        """Policies, registrations, deployments; returns the summary's fields or raises FleetFailed with
        them. The command emits FleetStarted (before validating) and the summary."""

        now = time.monotonic()
        for r in self.releases:
            r.started = now  # a row's clock runs from the start: registration included
            self._state(r, "queued")
        self.on_timeout = policy.on_timeout
        self.policy = policy
        with sigterm_as_interrupt():
            try:
                self._policies(policy)
                self._register_all()
                self._deploy_all(policy.stop_on_cancel)
            except KeyboardInterrupt:
                raise self._interrupted(policy.stop_on_cancel) from None
        return self._finish()

    def _state(self, r: ServiceRelease, state: str, detail: str = "") -> None:
        r.state = state
        elapsed = round(time.monotonic() - r.started, 3) if r.started else 0.0
        r.reporter.emit(ServiceState(state, detail, r.deployment_id, elapsed))

    def _policies(self, policy: ReleasePolicy) -> None:
        """Every service's release policy before the first write; a busy group (--if-active fail) or an
        older build ends the release with nothing written."""

        for r in self.releases:
            try:
                decision = before_create(policy, r.target.aws, r.target.service, r.plan, r.reporter)
            except KeyboardInterrupt:
                raise Interrupted("interrupted before this release wrote anything") from None
            except OrchestratorError as exc:
                r.reason = str(exc)
                self._state(r, "failed", str(exc))
                for other in self.releases:
                    if other is not r and other.state == "queued":
                        self._state(other, "skipped", f"{r.key}: {exc.message}")
                raise type(exc)(f"{r.key}: {exc.message}", hint=exc.hint, details=exc.details) from None
            if decision.reattach is not None:
                active = decision.reattach
                r.plan = reattach(r.plan, active.deployment_id, active.task_definition)
                r.reattached, r.reattached_to = True, active.task_definition
                r.deployment_id = active.deployment_id

    def _register_all(self) -> None:
        """Register every task definition (in parallel); interrupts wait until all are answered."""

        todo = [r for r in self.releases if any(isinstance(s, RegisterTaskDefinition) for s in r.plan.steps)]
        if not todo:
            return
        for r in todo:
            self._state(r, "registering")
        for name in ("ecs", "codedeploy"):  # made before the threads share them
            self.aws.client(name)
            self.aws.client(name, retries=False)

        def register(r: ServiceRelease) -> None:
            steps: list[Step] = [s for s in r.plan.steps if isinstance(s, RegisterTaskDefinition)]
            r.executor.execute(replace(r.plan, steps=steps))

        failures: list[tuple[ServiceRelease, BaseException]] = []
        with deferred_interrupts(), ThreadPoolExecutor(max_workers=min(WORKERS, len(todo))) as pool:
            futures = [(r, pool.submit(register, r)) for r in todo]
            for r, fut in futures:
                exc = fut.exception()
                if exc is None:
                    self._state(r, "registered", short_arn(r.task_definition_arn, "nothing"))
                else:
                    failures.append((r, exc))
        if failures:
            r, exc = failures[0]
            for bad, err in failures:
                bad.reason = str(err)
                self._state(bad, "failed", str(err))
            for other in self.releases:
                if other.state in ("queued", "registered"):
                    self._state(other, "skipped", f"{r.key} could not be registered; no deployment was created")
            if isinstance(exc, OrchestratorError):
                raise type(exc)(f"{r.key}: {exc.message}", hint=exc.hint, details=exc.details) from None
            raise exc

    def _deploy_all(self, stop_on_cancel: bool) -> None:
        self._poller = poller = engine_for(self.releases[0].target.service).poller(self.aws)
        pending = [r for r in self.releases if not r.reattached]
        for r in self.releases:
            if r.reattached and r.deployment_id:
                self._follow(r, r.deployment_id, "release")
                self._state(r, "deploying", "re-attached to the deployment in progress")
        limit = self.options.max_parallel or len(self.releases)
        while pending or poller.active:
            while pending and self.aborted_by is None and self._in_flight() < limit:
                self._create(pending.pop(0))
            if self.aborted_by is not None:
                for r in pending:
                    self._state(r, "skipped", f"not deployed: {self.aborted_by} failed (--atomic)")
                pending = []
            if self.options.no_wait:
                for r in self.releases:
                    if r.deployment_id and r.state == "deploying":
                        self._state(r, "not-followed", f"follow it with `{self._command(Next.STATUS)}`")
                return
            ended = poller.poll()
            self._verify_together(ended)
            for item in ended:
                self._ended(item)
            if pending or poller.active:
                poller.wait()

    def _verify_together(self, ended: list[Followed]) -> None:
        """Describe the services whose deployments just succeeded in as few calls as possible (ten per
        DescribeServices call); _release_ended checks each against its task definition."""

        done = [self._by_deployment[f.deployment_id] for f in ended if f.outcome == "Succeeded"]
        names = [
            (r.target.service.cluster_name, r.target.service.service_name) for r, role in done if role == "release"
        ]
        self._described = describe_services_many(self.aws, names) if len(names) > 1 else {}

    def _in_flight(self) -> int:
        return sum(1 for r in self.releases if r.state in ("deploying", "stopping"))

    def _create(self, r: ServiceRelease) -> None:
        """Create the service's deployment; a lost race applies --if-active again (policy.race)."""
        assert self.policy is not None
        policy = self.policy
        steps: list[Step] = [s for s in r.plan.steps if isinstance(s, CreateDeployment)]

        def decide(plan: ReleasePlan) -> Decision:
            return before_create(policy, r.target.aws, r.target.service, plan, r.reporter)

        try:
            _, active = race(policy, r.target, replace(r.plan, steps=steps), r.executor, r.reporter, decide)
        except OrchestratorError as exc:
            r.outcome, r.reason = "Failed", str(exc)
            self._state(r, "failed", r.reason)
            self._abort_if_atomic(r)
            return
        if active is not None:
            r.reattached, r.deployment_id, r.reattached_to = True, active.deployment_id, active.task_definition
            self._follow(r, r.deployment_id, "release")
            self._state(r, "deploying", "re-attached to the deployment in progress")
            return
        r.deployment_id = r.executor.written.get("deployment_id")
        assert r.deployment_id, "CreateDeployment returned no id"
        self._follow(r, r.deployment_id, "release")
        self._state(r, "deploying")

    def _follow(self, r: ServiceRelease, deployment_id: str, role: str, timeout: float | None = None) -> Followed:
        assert self._poller is not None
        wait = next((s for s in r.plan.steps if isinstance(s, WaitForDeployment)), None)
        svc = r.target.service
        item = Followed(
            deployment_id,
            r.reporter,
            f"{svc.cluster_name}:{svc.service_name}",
            until=wait.until if wait and role == "release" else "complete",
            waits=wait.waits if wait and role == "release" else WaitModel(),
            timeout=timeout or (wait.timeout if wait else 3600.0),
        )
        self._by_deployment[deployment_id] = (r, role)
        return self._poller.follow(item)

    # --- endings --------------------------------------------------------------------------------

    def _ended(self, item: Followed) -> None:
        r, role = self._by_deployment[item.deployment_id]
        if role == "release":
            self._release_ended(r, item)
        else:
            self._rollback_ended(r, item)

    def _release_ended(self, r: ServiceRelease, item: Followed) -> None:
        r.outcome = item.outcome
        view = item.view
        if item.ok:
            r.reporter.emit(DeploymentFinished(item.deployment_id, str(item.outcome)))
            if item.outcome == "Succeeded" and r.state != "stopping":
                svc = r.target.service
                arn = r.expected_task_definition or ""
                described = self._described.pop((svc.cluster_name, svc.service_name), None)
                try:
                    if described is not None:
                        live = live_of(described, svc.cluster_name, svc.service_name, arn)
                    else:
                        live = verify_live(self.aws, svc.cluster_name, svc.service_name, arn)
                except DeploymentFailed as exc:
                    r.outcome, r.reason = "Failed", str(exc)
                    self._state(r, "failed", str(exc))
                    self._abort_if_atomic(r)
                    return
                r.reporter.emit(live)
                r.serving = live.task_definition_arn
            if self.aborted_by is not None:
                # It finished while the others were being stopped (or before its stop arrived): undo it too.
                self._state(r, str(item.outcome).lower())
                self._roll_back_finished(r)
                return
            self._state(r, "succeeded" if item.outcome == "Succeeded" else "traffic-shifted")
            return
        if item.outcome == "TimedOut" and r.state != "stopping":
            r.timed_out = True
            still = (
                f"deployment {item.deployment_id} still {view.status if view else 'running'} after {item.timeout:.0f}s"
            )
            if self.on_timeout == "stop" and not r.reattached:
                r.reason = f"{still}; stopped with rollback (--on-timeout stop)"
                self._state(r, "failed", r.reason)
                if self._stop(r, undo=False):
                    self._follow(r, item.deployment_id, "release", timeout=600.0)
            else:
                r.reason = f"{still}; it keeps running (see it with `{self._command(Next.STATUS)}`)"
                self._state(r, "failed", r.reason)
            self._abort_if_atomic(r)
            return
        stopped_by_us = r.state == "stopping"
        r.reason = (
            self._failure_reason(r, item)
            if not stopped_by_us
            else r.reason
            if r.timed_out
            else f"stopped: {self.aborted_by} failed (--atomic)"
        )
        rollback = view.rollback_deployment_id if view else None
        if rollback is None:
            rollback = _rollback_after(self.aws, r.target.service, item.deployment_id)
        r.rollback_deployment_id = rollback
        r.reporter.emit(DeploymentFinished(item.deployment_id, str(item.outcome), r.reason or "", rollback))
        if not stopped_by_us:
            self._state(r, "failed" if item.outcome == "Failed" else "stopped", r.reason or "")
        if rollback:
            self._follow(r, rollback, "rollback")
            self._state(r, "rolling-back", f"rollback {rollback}")
        elif stopped_by_us:
            self._state(r, "rolled-back", "stopped before it changed anything")
        if not stopped_by_us:
            self._abort_if_atomic(r)

    def _rollback_ended(self, r: ServiceRelease, item: Followed) -> None:
        r.rollback_status = item.outcome
        r.reporter.emit(DeploymentFinished(item.deployment_id, str(item.outcome)))
        if item.ok:
            self._state(r, "rolled-back", f"rollback {item.deployment_id} succeeded")
        else:
            detail = f"rollback {item.deployment_id} {str(item.outcome).lower()}"
            r.reason = "; ".join(p for p in (r.reason, detail) if p)
            self._state(r, "failed", detail)

    def _failure_reason(self, r: ServiceRelease, item: Followed) -> str:
        assert item.view is not None
        svc = r.target.service
        engine = engine_for(svc)
        evidence = engine.failure_evidence(self.aws, item.view, svc)
        clues = engine.failure_clues(self.aws, item.view, svc, evidence=evidence)
        history = self._command(Next.HISTORY, r.key)
        short = [c for c in clues if not c.startswith("rolled back by")]
        r.details = {"failure": "; ".join(clues), "clues": clues, "evidence": evidence.to_dict()}
        return one_line(
            f"deployment {item.deployment_id} {str(item.outcome).lower()}", short, next_step(clues, history)
        )

    def _abort_if_atomic(self, failed: ServiceRelease) -> None:
        """--atomic: stop the deployments still running, roll back those that succeeded."""
        if not self.options.atomic or self.aborted_by is not None:
            return
        self.aborted_by = failed.key
        self.reporter.emit(
            Message(f"{failed.key} failed: undoing the other services' deployments (--atomic)", level="warning")
        )
        for r in self.releases:
            if r is failed:
                continue
            if r.state == "deploying" and r.deployment_id:
                self._stop(r)
            elif r.state in ("succeeded", "traffic-shifted"):
                self._roll_back_finished(r)

    def _stop(self, r: ServiceRelease, undo: bool = True) -> bool:
        assert r.deployment_id
        try:
            with deferred_interrupts():
                engine_for(r.target.service).stop(self.aws, r.deployment_id, rollback=True)
        except Exception as exc:
            if error_code(exc) == ALREADY_COMPLETED:
                return False  # it ended meanwhile; the poller sees how
            raise
        r.undone = undo
        self._state(r, "stopping", f"StopDeployment sent for {r.deployment_id}, with rollback")
        return True

    def _roll_back_finished(self, r: ServiceRelease) -> None:
        try:
            outcome = rollback(self.aws, r.target.service, r.reporter, wait=False)
        except OrchestratorError as exc:
            r.reason = f"could not roll back: {exc}"
            self._state(r, "failed", r.reason)
            return
        r.undone = True
        if outcome.deployment_id:
            r.rollback_deployment_id = outcome.deployment_id
            self._follow(r, outcome.deployment_id, "rollback")
            self._state(r, "rolling-back", f"redeploying {outcome.task_definition} (rollback {outcome.deployment_id})")

    def _interrupted(self, stop_on_cancel: bool) -> Interrupted:
        running = [r for r in self.releases if r.deployment_id and r.state in ("deploying", "stopping")]
        ours = [r for r in running if not r.reattached]
        if not running:
            written = any(r.task_definition_arn for r in self.releases)
            return Interrupted("interrupted" if written else "interrupted before anything was written")
        if stop_on_cancel and ours:
            shield = InterruptShield().up()
            try:
                self.reporter.emit(Message(f"cancelled: stopping {len(ours)} deployment(s) with rollback", "warning"))
                stopped = [r for r in ours if r.state == "stopping" or self._stop(r)]
            finally:
                shield.down(raise_pending=False)
            names = ", ".join(f"{r.key} ({r.deployment_id})" for r in stopped)
            try:  # follow the stops and rollbacks; a second Ctrl-C ends only the following
                assert self._poller is not None
                while self._poller.active:
                    for item in self._poller.poll():
                        self._ended(item)
                    self._poller.wait()
            except KeyboardInterrupt:
                return Interrupted(f"cancelled; stopped {names} with rollback; their rollbacks run on")
            self._read_serving()
            serving = ", ".join(f"{r.key} runs {short_arn(r.serving, 'nothing')}" for r in self.releases)
            return Interrupted(f"cancelled; stopped {names} with rollback; {serving}")
        now = [(r.key, now_running(self.aws, r.target.service, str(r.deployment_id))) for r in running]
        still = ", ".join(f"{key} ({st.deployment_id})" for key, st in now if not st.ended)
        said = [f"deployments {still} are still running in CodeDeploy"] if still else []
        said += [f"{key}: {st.phrase()}" for key, st in now if st.ended]  # ended between two polls
        return Interrupted(
            f"interrupted; {'; '.join(said)} "
            f"(see them with `{self._command(Next.STATUS)}`, stop one with `{self._command(Next.STOP, 'KEY')}`)"
        )

    def _read_serving(self) -> None:
        for r in self.releases:
            if r.serving is None or r.state in ("rolled-back", "failed", "stopped"):
                # a read for the summary; the outcome stands without it
                with contextlib.suppress(Exception):
                    r.serving = running_task_definition(self.aws, r.target.service)

    def _finish(self) -> dict[str, Any]:
        """The summary's fields; raises (with them in `self.result()`) unless every service succeeded."""

        if self.options.no_wait:
            # Not followed: only a create that failed (or was skipped after it, --atomic) is a failure.
            failed = [r for r in self.releases if r.state in ("failed", "skipped")]
            if not failed:
                return self.result("Created")
        else:
            self._read_serving()
            failed = [r for r in self.releases if not r.ok]
        if not failed:
            return self.result("Succeeded")
        first = next((r for r in failed if r.key == self.aborted_by), failed[0])
        clues = first.details.get("clues") or [first.reason or f"deployment {str(first.outcome).lower()}"]
        serving = ", ".join(f"{r.key} runs {short_arn(r.serving, 'nothing')}" for r in self.releases)
        if self.aborted_by is not None:
            # Only what is true: every service serves what it served before (read, not assumed).
            back = [r.key for r in self.releases if r.serving is None or r.serving != r.served_before]
            status = "RolledBack" if not back else "Failed"
            what = "every service rolled back" if not back else f"not rolled back: {', '.join(back)}"
            tail = f"{what} (--atomic): {serving}"
        else:
            status = "Failed"
            others = [r.key for r in failed if r is not first]
            also = f"; {', '.join(others)} failed too" if others else ""
            tail = f"{len(self.releases) - len(failed)} of {len(self.releases)} services succeeded{also}"
        see = self._command(Next.STATUS)
        head = f"{first.key}: deployment {first.deployment_id or '(none)'} {str(first.outcome or 'failed').lower()}"
        reason = one_line(head, clues, f"{tail}; see `{see}`")
        fields = self.result(status)
        fields["reason"] = reason
        error: type[OrchestratorError] = DeploymentFailed
        if all(r.timed_out for r in failed):
            error = TimedOut
        details = {r.key: {"reason": r.reason, **r.details} for r in failed}
        raise FleetFailed(error, reason, fields, {"services": details})

    def result(self, status: str) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "status": status,
            "services": {r.key: r.to_dict() for r in self.releases},
        }
        if self.options.atomic:
            fields["atomic"] = True
        if self._poller is not None:
            fields["polling_calls"] = self._poller.calls
        return fields


class FleetFailed(OrchestratorError):
    """Not every service succeeded: carries the summary's fields; exit code of `kind`."""

    def __init__(
        self, kind: type[OrchestratorError], reason: str, fields: dict[str, Any], details: dict[str, Any]
    ) -> None:
        super().__init__(reason, details=details)
        self.exit_code = kind.exit_code
        self.fields = fields


def _rollback_after(aws: Aws, service: ServiceOutputs, deployment_id: str) -> str | None:
    """The rollback the engine started for a failed or stopped deployment (it may appear a moment after
    the deployment ends), or None after a short grace."""
    return engine_for(service).rollback_of(aws, deployment_id, grace_s=2.0, wait_s=10.0)

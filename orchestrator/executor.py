"""The executor: runs a release plan (orchestrator/plan.py) step by step and emits events.

It fills each request's variables (`Var`) from the plan's bindings and the earlier steps' results,
sends it, and records what the summary reports (`result`).

Interrupts (Ctrl-C, SIGTERM): a write in flight finishes first, so AWS and the report agree; then the
executor reports what is still running and raises DeploymentInterrupted (exit 130). With the plan's
`on_cancel == "stop"` (--stop-on-cancel) it first stops the running deployment with rollback; with
`on_timeout == "stop"` (--on-timeout stop) a wait that runs out does the same and exits 3.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestrator import deployment, writes
from orchestrator.aws import EXPIRED_CODES, as_refusal, error_code, error_message, refusals
from orchestrator.engines.select import engine_for
from orchestrator.errors import AwsRefused, DeploymentFailed, InputError, Interrupted, OrchestratorError, TimedOut
from orchestrator.events import (
    DeploymentCreated,
    DeploymentFinished,
    Message,
    StepFinished,
    StepStarted,
)
from orchestrator.events import TaskDefinitionRegistered as Registered
from orchestrator.interrupts import InterruptShield, deferred_interrupts, sigterm_as_interrupt
from orchestrator.nextsteps import CommandLines, Next, Unspelled
from orchestrator.operations import stop
from orchestrator.plan import (
    CreateDeployment,
    RegisterTaskDefinition,
    ReleasePlan,
    RunPreTask,
    Step,
    Var,
    VerifyLive,
    WaitForDeployment,
    resolve,
)
from orchestrator.reason import next_step, one_line
from orchestrator.runtask import failure_reason, run_task
from orchestrator.whatruns import now_running

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.events import Reporter


class DeploymentInterrupted(Interrupted):
    """Ctrl-C or SIGTERM: carries what was written, so that callers can act on it."""

    def __init__(self, message: str, *, deployment_id: str | None, task_definition_arn: str | None) -> None:
        super().__init__(message)
        self.deployment_id = deployment_id
        self.task_definition_arn = task_definition_arn


@dataclass
class Executor:
    """Runs a plan; `result` holds what the summary reports, filled in as steps complete."""

    aws: Aws
    reporter: Reporter
    # How the next steps (follow, stop, history) read for this target; the CLI spells them.
    lines: CommandLines = field(default_factory=Unspelled)
    result: dict[str, Any] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    _values: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def written(self) -> dict[str, Any]:
        """What the runs so far produced (task_definition_arn, deployment_id), for a policy to bind."""
        return dict(self._values)

    def resolve(self, var: Var) -> Any:
        return self._values[var.name]

    def execute(self, plan: ReleasePlan) -> dict[str, Any]:

        self.started = time.monotonic()
        self._values.update(plan.bindings)
        self.result.update(image=plan.image, phases=self.phases)
        if plan.reattached:
            self.result["reattached"] = True
        # Stable summary keys; a plan may know some already (re-attaching to a deployment).
        for key in ("task_definition_arn", "deployment_id", "rollback_deployment_id"):
            self.result[key] = self._values.get(key, self.result.get(key))
        self.result.setdefault("status", "NotStarted")
        try:
            with sigterm_as_interrupt(), refusals():
                for step in plan.steps:
                    self._run(plan, step)
        except KeyboardInterrupt:
            raise self._interrupted(plan) from None
        finally:
            self.result["duration_s"] = round(time.monotonic() - self.started, 3)
        return self.result

    @property
    def follow_command(self) -> str:
        return self.lines.line(Next.FOLLOW)

    def _stop_command(self) -> str:
        return self.lines.line(Next.STOP)

    def _interrupted(self, plan: ReleasePlan) -> DeploymentInterrupted:
        dep = self._values.get("deployment_id")
        arn = self._values.get("task_definition_arn")
        self.result["status"] = "Interrupted"
        if dep and plan.reattached:
            msg = (
                f"interrupted; deployment {dep} (created by another release, re-attached) keeps running "
                f"(follow it with `{self.follow_command}`)"
            )
        elif dep:
            extra = self._stop_on_cancel(plan, dep) if plan.on_cancel == "stop" else None
            msg = extra or self._what_runs(plan, dep)
        elif arn:
            msg = f"interrupted before the deployment was created; task definition {arn} is registered but unused"
        else:
            msg = "interrupted before anything was written"
        return DeploymentInterrupted(msg, deployment_id=dep, task_definition_arn=arn)

    def _what_runs(self, plan: ReleasePlan, dep: str) -> str:
        """Ctrl-C while following `dep`: what is true now (orchestrator.whatruns), read once."""
        now = now_running(self.aws, plan.service, dep)
        if not now.ended:
            return (
                f"interrupted; deployment {dep} is still running in CodeDeploy "
                f"(follow it with `{self.follow_command}`, stop it with `{self._stop_command()}`)"
            )
        self.result["deployment_status"] = now.status
        if now.rollback_deployment_id:
            self.result["rollback_deployment_id"] = now.rollback_deployment_id
            return f"interrupted; {now.phrase()} in CodeDeploy (follow it with `{self.follow_command}`)"
        return f"interrupted; {now.phrase()}"

    def _timed(self, name: str, detail: str = "") -> _Timer:
        return _Timer(self, name, detail)

    def _run(self, plan: ReleasePlan, step: Step) -> None:

        if isinstance(step, RegisterTaskDefinition):
            # Results are recorded inside the deferred block: an interrupt raised at its end must see them.
            with self._timed("register", step.family), deferred_interrupts():
                with _rejected("ecs refused the task definition", InputError):
                    td, extras = writes.register_task_definition(self.aws, resolve(step.params, self._values))
                arn = str(td["taskDefinitionArn"])
                self._values[step.output.name] = arn
                self.result["task_definition_arn"] = arn
                if extras:
                    self.result["extra_task_definitions"] = extras
            self.reporter.emit(Registered(arn, str(td.get("family")), int(td.get("revision", 0)), step.image))
            for extra in extras:
                self.reporter.emit(
                    Message(
                        f"a retried RegisterTaskDefinition also registered {extra} (unused, same content); "
                        "deregister it if you want it gone",
                        level="warning",
                    )
                )
        elif isinstance(step, RunPreTask):
            self._pre_task(plan, step)
        elif isinstance(step, CreateDeployment):
            arn = self.resolve(step.task_definition)
            with (
                self._timed("create", f"{step.application}/{step.group}"),
                deferred_interrupts(),
                _rejected(f"CodeDeploy refused the deployment (task definition {arn} is registered)", DeploymentFailed),
            ):
                dep = engine_for(plan.service).start(self.aws, resolve(step.params, self._values))
                self._values[step.output.name] = dep
                url = engine_for(plan.service).console_url(plan.region, dep)
                self.result.update(deployment_id=dep, status="Created", console_url=url)
            self.reporter.emit(DeploymentCreated(dep, step.application, step.group, url))
        elif isinstance(step, WaitForDeployment):
            dep = self.resolve(step.deployment)
            t0 = time.monotonic()
            try:
                res = engine_for(plan.service).watch(
                    self.aws,
                    dep,
                    self.reporter,
                    until=step.until,
                    timeout=step.timeout,
                    target_id=step.target_id,
                    waits=step.waits,
                )
            except TimedOut as exc:
                # the same hint, with the options that name this target
                exc.hint = f"follow it with `{self.follow_command}`, or stop it with `{self._stop_command()}`"
                self.result["status"] = "TimedOut"
                self.phases["watch"] = round(time.monotonic() - t0, 3)
                if plan.on_timeout == "stop":
                    raise self._stop_on_timeout(plan, dep, exc) from exc
                raise
            except Exception as exc:
                self.phases["watch"] = round(time.monotonic() - t0, 3)
                lost = _lost_while_following(dep, exc, self.result, self.follow_command)
                if lost is exc:  # not AWS going away: the error as it is (never its own cause)
                    raise
                raise lost from exc
            self.phases.update(res.phases)
            self.phases["watch"] = round(time.monotonic() - t0, 3)
            self.result["status"] = res.outcome
            self.result["polls"] = res.polls
            rollback = res.view.rollback_deployment_id
            if rollback:
                self.result["rollback_deployment_id"] = rollback
            if not res.ok and rollback:
                self._follow_rollback(plan, rollback, step, t0)
            if not res.ok:
                self._failed(plan, dep, res)
            self.reporter.emit(DeploymentFinished(dep, res.outcome, "", None))
        elif isinstance(step, VerifyLive):
            with self._timed("verify", f"{step.cluster}/{step.service}"):
                live = deployment.verify_live(self.aws, step.cluster, step.service, self.resolve(step.task_definition))
            self.reporter.emit(live)

    def _failed(self, plan: ReleasePlan, dep: str, res: Any) -> None:
        """Report the failure: a short one-line reason that ends with what to do next (the error line),
        the whole story in the summary's `details`."""

        engine = engine_for(plan.service)
        evidence = engine.failure_evidence(self.aws, res.view, plan.service)
        clues = engine.failure_clues(self.aws, res.view, plan.service, evidence=evidence)
        rollback = res.view.rollback_deployment_id
        status = self.result.get("rollback_status")
        outcome = ""
        if rollback:
            outcome = f"rolled back by {rollback} ({(status or 'in progress').lower()})"
        history = self.lines.line(Next.HISTORY)
        tail = "; ".join(p for p in (outcome, next_step(clues, history)) if p)
        short_clues = [c for c in clues if not c.startswith("rolled back by")]
        reason = one_line(f"deployment {dep} {res.outcome.lower()}", short_clues, tail)
        full = "; ".join([*clues, outcome] if outcome else clues)
        self.result["reason"] = reason
        self.result["details"] = {"failure": full, "clues": clues, "evidence": evidence.to_dict()}
        # The reason is printed once: on the `error:` line (stderr, every output mode); the reporters'
        # deployment_finished line names the outcome, the JSON event keeps the full text.
        self.reporter.emit(DeploymentFinished(dep, res.outcome, full, rollback, failed_command=True))
        raise DeploymentFailed(reason, details=self.result["details"])

    def _stop_on_cancel(self, plan: ReleasePlan, deployment_id: str) -> str:
        """--stop-on-cancel: stop the deployment with rollback, follow the rollback, say what runs."""

        requested = False
        with sigterm_as_interrupt():
            # Further Ctrl-C / SIGTERM are held until CodeDeploy has answered StopDeployment: the stop is
            # sent exactly once, and "requested" is said only once it was.
            shield = InterruptShield().up()

            def answered() -> None:
                nonlocal requested
                requested = True
                shield.down()  # a signal held meanwhile now stops the following, not the stop

            self.reporter.emit(Message(f"cancelled: stopping {deployment_id} with rollback", level="warning"))
            try:
                outcome = stop(
                    self.aws,
                    plan.service,
                    self.reporter,
                    rollback=True,
                    deployment_id=deployment_id,
                    timeout_s=600.0,
                    on_requested=answered,
                )
            except KeyboardInterrupt:
                if not requested:  # only if the shield could not hold signals (not the main thread)
                    self.result["status"] = "Interrupted"
                    return f"cancelled again before the stop was sent; deployment {deployment_id} is still running"
                self.result["status"] = "StopRequested"
                return (
                    f"cancelled again; CodeDeploy accepted the stop of {deployment_id} and its rollback runs on "
                    f"(follow it with `{self.follow_command}`)"
                )
            except InputError:  # it had already ended: say how, and what runs now (its rollback, maybe)
                self.result["status"] = "Interrupted"
                return self._what_runs(plan, deployment_id).replace("interrupted;", "cancelled;", 1)
            except Exception as exc:  # the interruption stays the outcome; say what state is left
                self.result["status"] = "StopFailed"
                return f"cancelled; stopping {deployment_id} failed: {exc}"
            finally:
                shield.down(raise_pending=False)
        self.result.update(
            status="RolledBack" if outcome.rollback_deployment_id else outcome.status,
            rollback_deployment_id=outcome.rollback_deployment_id,
            running_task_definition=outcome.task_definition,
        )
        after = f" by {outcome.rollback_deployment_id}" if outcome.rollback_deployment_id else ""
        return (
            f"cancelled; deployment {deployment_id} stopped and rolled back{after}; "
            f"production runs {outcome.task_definition}"
        )

    def _stop_on_timeout(self, plan: ReleasePlan, deployment_id: str, timed_out: TimedOut) -> OrchestratorError:
        """--on-timeout stop: stop the deployment with rollback, follow the rollback, and return the
        TimedOut (exit 3) that says what happened."""

        what = timed_out.message.removesuffix("; it keeps running")
        self.reporter.emit(Message(f"{what}: stopping it with rollback (--on-timeout stop)", level="warning"))
        try:
            outcome = stop(
                self.aws, plan.service, self.reporter, rollback=True, deployment_id=deployment_id, timeout_s=600.0
            )
        except InputError:
            return TimedOut(f"{what}; it ended before it could be stopped")
        except OrchestratorError as exc:
            self.result["status"] = "StopFailed"
            return TimedOut(f"{what}; stopping it failed: {exc}", hint=f"stop it with `{self._stop_command()}`")
        self.result.update(
            status="TimedOut",
            stopped_on_timeout=True,
            rollback_deployment_id=outcome.rollback_deployment_id,
            running_task_definition=outcome.task_definition,
        )
        after = f" by {outcome.rollback_deployment_id}" if outcome.rollback_deployment_id else ""
        return TimedOut(
            f"{what}; stopped it and rolled back{after} (--on-timeout stop); production runs {outcome.task_definition}"
        )

    def _pre_task(self, plan: ReleasePlan, step: RunPreTask) -> None:

        done: list[dict[str, Any]] = self.result.setdefault("pre_tasks", [])
        if any(d["index"] == step.index and d["exit_code"] == 0 for d in done):
            return  # ran already (the create lost a race and the plan runs again)
        arn = self.resolve(step.task_definition)
        with self._timed(f"pre-task {step.index}", step.text), _status_on(self.result):
            outcome = run_task(
                self.aws,
                step.spec,
                arn,
                plan.rendered.taskdef,
                step.container,
                list(step.command),
                self.reporter,
                timeout=step.timeout,
                poll_s=step.poll_s,
                started_by="orchestrator-pre-task",
            )
            done.append(
                {"index": step.index, "command": step.text, **outcome.to_dict(), "exit_code": outcome.exit_code}
            )
            if outcome.exit_code != 0:  # raised inside the timer: no "done" line for a failed pre-task
                self.result["status"] = "PreTaskFailed"
                reason = failure_reason(outcome, f"pre-task {step.index} ({step.text})")
                raise DeploymentFailed(f"{reason}; no deployment was created (task definition {arn} is registered)")

    def _follow_rollback(self, plan: ReleasePlan, rollback: str, step: WaitForDeployment, t0: float) -> None:
        """Follow the automatic rollback (within what is left of the budget) so the report says where
        production traffic ended up; a rollback that outlives the budget is only reported."""

        left = step.timeout - (time.monotonic() - t0)
        if left <= 1:
            return
        self.reporter.emit(Message(f"following rollback deployment {rollback}"))
        try:
            res = engine_for(plan.service).watch(
                self.aws, rollback, self.reporter, until="complete", timeout=left, target_id=step.target_id, waits=None
            )
        except TimedOut:
            self.result["rollback_status"] = "InProgress"
            return
        self.result["rollback_status"] = res.outcome


def _lost_while_following(dep: str, exc: Exception, result: dict[str, Any], follow: str) -> Exception:
    """AWS unreachable or refusing mid-watch: exit 4, naming the deployment that runs on and how to
    follow it (not a TimedOut: nothing timed out, we lost sight of it)."""

    refused = as_refusal(exc)
    if refused is None:
        return exc
    result["status"] = "Unknown"
    if error_code(exc) in EXPIRED_CODES:
        return AwsRefused(
            f"AWS credentials expired while following deployment {dep}; it keeps running in CodeDeploy",
            hint=f"with fresh credentials, follow it with `{follow}`",
        )
    return AwsRefused(
        f"lost AWS while following deployment {dep} ({refused.message}); it keeps running in CodeDeploy",
        hint=f"follow it with `{follow}` or `aws deploy get-deployment --deployment-id {dep}`",
    )


@contextmanager
def _status_on(result: dict[str, Any]) -> Iterator[None]:
    """The summary's status when a pre-task times out or is interrupted (it was stopped with StopTask)."""
    try:
        yield
    except TimedOut:
        result["status"] = "TimedOut"
        raise
    except Interrupted:
        result["status"] = "Interrupted"
        raise


@contextmanager
def _rejected(what: str, error: type[OrchestratorError]) -> Iterator[None]:
    """An AWS error on a write that is not a refusal (those are exit 4): one line with AWS's own words."""

    try:
        yield
    except Exception as exc:
        if not error_code(exc) or as_refusal(exc) is not None:
            raise
        raise error(f"{what}: {error_code(exc)}: {error_message(exc)}") from exc


class _Timer:
    def __init__(self, ex: Executor, name: str, detail: str) -> None:
        self.ex, self.name, self.detail = ex, name, detail

    def __enter__(self) -> None:
        self.t0 = time.monotonic()
        self.ex.reporter.emit(StepStarted(self.name, self.detail))

    def __exit__(self, *exc: object) -> None:
        took = round(time.monotonic() - self.t0, 3)
        self.ex.phases[self.name] = took
        if exc[0] is None:
            self.ex.reporter.emit(StepFinished(self.name, self.detail, took))

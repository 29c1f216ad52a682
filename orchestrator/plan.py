"""The release plan as data, and the executor that runs it.

`build_plan` turns validated inputs into a list of steps; later steps refer to earlier steps' results
through `Var` (the registered task definition ARN, the deployment id). `Executor.execute` runs the steps
and emits events; `describe_plan` renders the same steps for `--dry-run` without running anything.

Interrupts (Ctrl-C, SIGTERM): a write in flight finishes first, so AWS and the report agree; then the
executor reports what is still running and raises DeploymentInterrupted (exit 130). `on_interrupt`
lets a caller act on a running deployment first (e.g. stop it with rollback).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestrator.deployment import WaitModel
from orchestrator.errors import AwsRefused, DeploymentFailed, InputError, Interrupted, OrchestratorError, TimedOut
from orchestrator.events import (
    DeploymentCreated,
    DeploymentFinished,
    Message,
    PlanRendered,
    StepFinished,
    StepStarted,
)
from orchestrator.events import TaskDefinitionRegistered as Registered

if TYPE_CHECKING:
    from orchestrator.appspec import AppSpec
    from orchestrator.aws import Aws
    from orchestrator.contract import ServiceOutputs
    from orchestrator.report import Reporter
    from orchestrator.taskdef import Rendered
    from orchestrator.validate import Preflight


@dataclass(frozen=True)
class Var:
    """The result of an earlier step, known only when the plan runs."""

    name: str

    def __str__(self) -> str:
        return f"<{self.name}>"


@dataclass(frozen=True)
class RegisterTaskDefinition:
    taskdef: dict[str, Any]
    image: str
    output: Var = Var("task_definition_arn")


@dataclass(frozen=True)
class CreateDeployment:
    application: str
    group: str
    appspec: AppSpec
    task_definition: Var
    description: str
    deployment_config: str | None
    output: Var = Var("deployment_id")


@dataclass(frozen=True)
class WaitForDeployment:
    deployment: Var
    until: str
    timeout: float
    target_id: str
    waits: WaitModel


@dataclass(frozen=True)
class VerifyLive:
    cluster: str
    service: str
    task_definition: Var


Step = RegisterTaskDefinition | CreateDeployment | WaitForDeployment | VerifyLive


@dataclass
class ReleasePlan:
    command: str
    region: str
    service: ServiceOutputs
    rendered: Rendered
    appspec: AppSpec
    preflight: Preflight
    image: str
    steps: list[Step]


def git_sha(cwd: str | None = None) -> str | None:
    """The commit being released: $GITHUB_SHA in Actions, else `git rev-parse HEAD`, else None."""
    sha = os.environ.get("GITHUB_SHA")
    if sha:
        return sha
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


# The tags `orchestrator build` writes: the full commit SHA, or `<sha>-dirty-<UTC timestamp>`.
_SHA_TAG = re.compile(r"^([0-9a-f]{40})(?:-dirty-[0-9A-Za-z._-]+)?$")


def image_commit(image: str) -> str | None:
    """The commit an image was built from, when its tag says so (the tag `orchestrator build` writes)."""
    name = image.partition("@")[0]
    last = name.rsplit("/", 1)[-1]
    _, colon, tag = last.partition(":")
    m = _SHA_TAG.match(tag) if colon else None
    return m.group(1) if m else None


def build_commit(image: str, checkout: Callable[[], str | None] = lambda: git_sha()) -> str | None:
    """The build a release carries: the image's own commit, else (the image says nothing) the checkout's."""
    return image_commit(image) or checkout()


def description_for(command: str, image: str, sha: str | None) -> str:
    """`key=value` tokens that `orchestrator history` reads back (git=, image=)."""
    return f"orchestrator {command} git={sha or 'unknown'} image={image or 'unknown'}"


def build_plan(
    command: str,
    region: str,
    service: ServiceOutputs,
    rendered: Rendered,
    spec: AppSpec,
    preflight: Preflight,
    *,
    deployment_config: str | None,
    until: str = "complete",
    no_wait: bool = False,
    timeout: float,
    time_scale: float = 1.0,
    description: str | None = None,
    commit: str | None = None,
) -> ReleasePlan:
    """`commit`: the build the release carries when the caller knows it (`release --build` built the
    image from it); else the image's SHA tag, else the checkout's (build_commit)."""
    from orchestrator.deployment import wait_model
    from orchestrator.taskdef import image_of

    image = rendered.image or image_of(rendered.taskdef, spec.container_name)
    register = RegisterTaskDefinition(taskdef=rendered.taskdef, image=image)
    create = CreateDeployment(
        application=service.codedeploy_app_name,
        group=service.codedeploy_deployment_group_name,
        appspec=spec,
        task_definition=register.output,
        description=description or description_for(command, image, commit or build_commit(image)),
        deployment_config=deployment_config,
    )
    steps: list[Step] = [register, create]
    if not no_wait:
        steps.append(
            WaitForDeployment(
                deployment=create.output,
                until=until,
                timeout=timeout,
                target_id=f"{service.cluster_name}:{service.service_name}",
                waits=wait_model(preflight.group, preflight.config, time_scale),
            )
        )
        steps.append(VerifyLive(service.cluster_name, service.service_name, register.output))
    return ReleasePlan(command, region, service, rendered, spec, preflight, image, steps)


def _summary_of(step: Step) -> tuple[str, str, dict[str, Any]]:
    """(call, one-line summary, parameters) for the dry run."""
    if isinstance(step, RegisterTaskDefinition):
        td = step.taskdef
        return "ecs.RegisterTaskDefinition", f"family {td.get('family')}, image {step.image}", td
    if isinstance(step, CreateDeployment):
        from orchestrator.appspec import content

        text, _ = content(step.appspec.with_task_definition(str(step.task_definition)))
        params: dict[str, Any] = {
            "applicationName": step.application,
            "deploymentGroupName": step.group,
            "revision": {
                "revisionType": "AppSpecContent",
                "appSpecContent": {"content": text, "sha256": "<sha256 of the content>"},
            },
            "description": step.description,
        }
        if step.deployment_config:
            params["deploymentConfigName"] = step.deployment_config
        cfg = step.deployment_config or "the group's config"
        return "codedeploy.CreateDeployment", f"{step.application}/{step.group} with {cfg}", params
    if isinstance(step, WaitForDeployment):
        return (
            "codedeploy.GetDeployment + GetDeploymentTarget (polling)",
            f"until {step.until}, at most {step.timeout:.0f}s",
            {"targetId": step.target_id, "until": step.until, "timeout_s": step.timeout},
        )
    return (
        "ecs.DescribeServices",
        f"check that {step.cluster}/{step.service}'s primary task set runs {step.task_definition}",
        {"cluster": step.cluster, "services": [step.service]},
    )


def describe_plan(plan: ReleasePlan, live_taskdef: dict[str, Any] | None, *, show_values: bool = False) -> PlanRendered:
    """The dry run's report. Container environment values are redacted (diff and request) unless
    `show_values`: a stable short hash still shows which ones change."""
    from orchestrator.ecs_read import without_empty
    from orchestrator.taskdef import redact_environment

    hide = (lambda doc: doc) if show_values else redact_environment
    new_doc = hide(plan.rendered.taskdef)
    live_taskdef = hide(live_taskdef) if live_taskdef else live_taskdef
    new = json.dumps(without_empty(new_doc), indent=2, sort_keys=True).splitlines()
    old = json.dumps(without_empty(live_taskdef), indent=2, sort_keys=True).splitlines() if live_taskdef else []
    live_arn = plan.preflight.live_task_definition_arn
    diff = "\n".join(
        difflib.unified_diff(old, new, fromfile=live_arn or "(none)", tofile=plan.rendered.source, lineterm="")
    )
    calls = []
    for step in plan.steps:
        call, summary, params = _summary_of(step)
        if isinstance(step, RegisterTaskDefinition):
            params = new_doc
        calls.append({"call": call, "summary": summary, "params": params})
    return PlanRendered(
        taskdef_diff=diff,
        live_task_definition_arn=live_arn,
        appspec=plan.appspec.with_task_definition(str(Var("task_definition_arn"))),
        calls=tuple(calls),
    )


class DeploymentInterrupted(Interrupted):
    """Ctrl-C or SIGTERM: carries what was written, so that callers can act on it."""

    def __init__(self, message: str, *, deployment_id: str | None, task_definition_arn: str | None) -> None:
        super().__init__(message)
        self.deployment_id = deployment_id
        self.task_definition_arn = task_definition_arn


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a cancelled CI job) behaves like Ctrl-C."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class InterruptShield:
    """Hold Ctrl-C and SIGTERM from `up()` until `down()`: a request that must reach AWS exactly once
    (stopping a cancelled deployment) and the reads it needs first cannot be cut short by a second
    Ctrl-C. `down()` restores the handlers and raises KeyboardInterrupt if a signal was held."""

    active: InterruptShield | None = None  # the shield that is up; deferred_interrupts() defers to it

    def __init__(self) -> None:
        self.pending: list[int] = []
        self._previous: tuple[Any, Any] | None = None

    def _hold(self, signum: int, frame: Any) -> None:
        self.pending.append(signum)

    def up(self) -> InterruptShield:
        try:
            self._previous = (signal.signal(signal.SIGINT, self._hold), signal.signal(signal.SIGTERM, self._hold))
        except ValueError:  # not the main thread: leave signals alone
            return self
        InterruptShield.active = self
        return self

    def down(self, *, raise_pending: bool = True) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous[0])
            signal.signal(signal.SIGTERM, self._previous[1])
            self._previous = None
            InterruptShield.active = None
        if raise_pending and self.pending:
            self.pending.clear()
            raise KeyboardInterrupt


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Let a write in flight finish: an interrupt arriving meanwhile is raised after the block."""
    if InterruptShield.active is not None:  # already held, until the shield comes down
        yield
        return
    pending: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        pending.append(signum)

    try:
        prev_int = signal.signal(signal.SIGINT, handler)
        prev_term = signal.signal(signal.SIGTERM, handler)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, prev_int)
        signal.signal(signal.SIGTERM, prev_term)
    if pending:
        raise KeyboardInterrupt


@dataclass
class Executor:
    """Runs a plan; `result` holds what the summary reports, filled in as steps complete."""

    aws: Aws
    reporter: Reporter
    on_interrupt: Callable[[str], str | None] | None = None
    # --on-timeout stop: given the deployment and the timeout, act on it and return the error to raise.
    on_timeout: Callable[[str, TimedOut], OrchestratorError] | None = None
    # The command that follows the deployment again (with the options that name the target).
    follow_command: str = "orchestrator status --watch"
    values: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)

    def resolve(self, var: Var) -> Any:
        return self.values[var.name]

    def execute(self, plan: ReleasePlan) -> dict[str, Any]:
        from orchestrator.aws import refusals

        self.started = time.monotonic()
        self.result.update(image=plan.image, phases=self.phases)
        # Stable summary keys; a caller may have filled some in already (re-attaching to a deployment).
        for key in ("task_definition_arn", "deployment_id", "rollback_deployment_id"):
            self.result.setdefault(key, self.values.get(key))
        self.result.setdefault("status", "NotStarted")
        try:
            with sigterm_as_interrupt(), refusals():
                for step in plan.steps:
                    self._run(plan, step)
        except KeyboardInterrupt:
            raise self._interrupted() from None
        finally:
            self.result["duration_s"] = round(time.monotonic() - self.started, 3)
        return self.result

    def _stop_command(self) -> str:
        return self.follow_command.replace("status --watch", "stop", 1)

    def _interrupted(self) -> DeploymentInterrupted:
        dep = self.values.get("deployment_id")
        arn = self.values.get("task_definition_arn")
        self.result["status"] = "Interrupted"
        if dep:
            extra = self.on_interrupt(dep) if self.on_interrupt else None
            msg = extra or (
                f"interrupted; deployment {dep} is still running in CodeDeploy "
                f"(follow it with `{self.follow_command}`, stop it with `{self._stop_command()}`)"
            )
        elif arn:
            msg = f"interrupted before the deployment was created; task definition {arn} is registered but unused"
        else:
            msg = "interrupted before anything was written"
        return DeploymentInterrupted(msg, deployment_id=dep, task_definition_arn=arn)

    def _timed(self, name: str, detail: str = "") -> _Timer:
        return _Timer(self, name, detail)

    def _run(self, plan: ReleasePlan, step: Step) -> None:
        from orchestrator import deployment, writes

        if isinstance(step, RegisterTaskDefinition):
            # Results are recorded inside the deferred block: an interrupt raised at its end must see them.
            with self._timed("register", step.taskdef.get("family", "")), deferred_interrupts():
                with _rejected("ecs refused the task definition", InputError):
                    td, extras = writes.register_task_definition(self.aws, step.taskdef)
                arn = str(td["taskDefinitionArn"])
                self.values[step.output.name] = arn
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
        elif isinstance(step, CreateDeployment):
            arn = self.resolve(step.task_definition)
            with (
                self._timed("create", f"{step.application}/{step.group}"),
                deferred_interrupts(),
                _rejected(f"CodeDeploy refused the deployment (task definition {arn} is registered)", DeploymentFailed),
            ):
                dep = deployment.create_deployment(
                    self.aws,
                    step.application,
                    step.group,
                    step.appspec.with_task_definition(arn),
                    step.description,
                    step.deployment_config,
                )
                self.values[step.output.name] = dep
                url = deployment.console_url(plan.region, dep)
                self.result.update(deployment_id=dep, status="Created", console_url=url)
            self.reporter.emit(DeploymentCreated(dep, step.application, step.group, url))
        elif isinstance(step, WaitForDeployment):
            dep = self.resolve(step.deployment)
            t0 = time.monotonic()
            try:
                res = deployment.watch(
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
                if self.on_timeout is not None:
                    raise self.on_timeout(dep, exc) from exc
                raise
            except Exception as exc:
                self.phases["watch"] = round(time.monotonic() - t0, 3)
                raise _lost_while_following(dep, exc, self.result, self.follow_command) from exc
            self.phases.update(res.phases)
            self.phases["watch"] = round(time.monotonic() - t0, 3)
            self.result["status"] = res.outcome
            self.result["polls"] = res.polls
            rollback = res.view.rollback_deployment_id
            if rollback:
                self.result["rollback_deployment_id"] = rollback
            if not res.ok and rollback:
                self._follow_rollback(rollback, step, t0)
            if not res.ok:
                reason = deployment.explain_failure(
                    self.aws, res.view, plan.service.cluster_name, plan.service.service_name
                )
                if self.result.get("rollback_status") == "Succeeded":
                    reason += "; the rollback succeeded: production traffic is back on the original task set"
                elif self.result.get("rollback_status"):
                    reason += f"; the rollback is {self.result['rollback_status']}"
                self.result["reason"] = reason
                self.reporter.emit(DeploymentFinished(dep, res.outcome, reason, rollback))
                raise DeploymentFailed(f"deployment {dep} {res.outcome.lower()}: {reason}")
            self.reporter.emit(DeploymentFinished(dep, res.outcome, "", None))
        elif isinstance(step, VerifyLive):
            with self._timed("verify", f"{step.cluster}/{step.service}"):
                live = deployment.verify_live(self.aws, step.cluster, step.service, self.resolve(step.task_definition))
            self.reporter.emit(live)

    def _follow_rollback(self, rollback: str, step: WaitForDeployment, t0: float) -> None:
        """Follow the automatic rollback (within what is left of the budget) so the report says where
        production traffic ended up; a rollback that outlives the budget is only reported."""
        from orchestrator import deployment
        from orchestrator.errors import TimedOut

        left = step.timeout - (time.monotonic() - t0)
        if left <= 1:
            return
        self.reporter.emit(Message(f"following rollback deployment {rollback}"))
        try:
            res = deployment.watch(self.aws, rollback, self.reporter, timeout=left, target_id=step.target_id)
        except TimedOut:
            self.result["rollback_status"] = "InProgress"
            return
        self.result["rollback_status"] = res.outcome


def _lost_while_following(dep: str, exc: Exception, result: dict[str, Any], follow: str) -> Exception:
    """AWS unreachable or refusing mid-watch: exit 4, naming the deployment that runs on and how to
    follow it (not a TimedOut: nothing timed out, we lost sight of it)."""
    from orchestrator.aws import as_refusal

    refused = as_refusal(exc)
    if refused is None:
        return exc
    result["status"] = "Unknown"
    return AwsRefused(
        f"lost AWS while following deployment {dep} ({refused.message}); it keeps running in CodeDeploy",
        hint=f"follow it with `{follow}` or `aws deploy get-deployment --deployment-id {dep}`",
    )


@contextmanager
def _rejected(what: str, error: type[OrchestratorError]) -> Iterator[None]:
    """An AWS error on a write that is not a refusal (those are exit 4): one line with AWS's own words."""
    from orchestrator.aws import as_refusal, error_code, error_message

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

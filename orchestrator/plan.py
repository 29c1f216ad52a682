"""The release plan as data: the exact requests a release sends, and how they were chosen.

`build_plan` turns validated inputs into a list of steps. The two writes are instruction objects that
hold the API call's very parameters (as aws/chalice's planner does): `RegisterTaskDefinition.params` is
what `ecs.register_task_definition` gets, `CreateDeployment.params` what `codedeploy.create_deployment`
gets, description (cut at CodeDeploy's 512 characters, release token included) and all. What is known
only at run time is a `Var` placeholder (the registered task definition ARN; the deployment id) that
the executor (orchestrator/executor.py) fills in; `describe_plan` renders the same objects for
`--dry-run`, placeholders shown as `<name>`.

Policies change the plan, not the executor: `bind` supplies a value the plan would have produced (a
task definition registered in a lost race) and drops the step that produces it; `reattach` follows a
deployment another release created; `on_cancel`/`on_timeout` say what the executor does with a running
deployment when the command is cancelled or its wait runs out.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from orchestrator.appspec import content
from orchestrator.deployment import WaitModel, wait_model
from orchestrator.description import DeploymentDescription, release_token
from orchestrator.ecs_read import without_empty
from orchestrator.engines.select import engine_for
from orchestrator.events import PlanRendered
from orchestrator.images import image_commit
from orchestrator.taskdef import image_of, redact_environment

if TYPE_CHECKING:
    from orchestrator.appspec import AppSpec
    from orchestrator.contract import ServiceOutputs
    from orchestrator.runtask import RunSpec
    from orchestrator.taskdef import Rendered
    from orchestrator.validate import Preflight


@dataclass(frozen=True)
class Var:
    """The result of an earlier step, known only when the plan runs."""

    name: str

    def __str__(self) -> str:
        return f"<{self.name}>"


@dataclass(frozen=True)
class AppSpecContent:
    """CreateDeployment's `revision.appSpecContent`: the AppSpec with the task definition that the
    plan registers, so known only at run time (its content and sha256 both depend on the ARN)."""

    appspec: AppSpec
    task_definition: Var

    def resolve(self, arn: str) -> dict[str, str]:

        text, sha = content(self.appspec.with_task_definition(arn))
        return {"content": text, "sha256": sha}

    def placeholder(self) -> dict[str, str]:
        return {"content": self.resolve(str(self.task_definition))["content"], "sha256": "<sha256 of the content>"}


@dataclass(frozen=True)
class RegisterTaskDefinition:
    """`ecs.RegisterTaskDefinition(**params)`: the rendered task definition."""

    params: dict[str, Any]
    image: str
    output: Var = Var("task_definition_arn")

    @property
    def family(self) -> str:
        return str(self.params.get("family", ""))


@dataclass(frozen=True)
class RunPreTask:
    """`--pre-task`: a one-off task with the new task definition; the release goes on only if it exits 0."""

    index: int  # 1-based, in the order given
    text: str  # the command as given
    command: tuple[str, ...]
    container: str
    spec: RunSpec
    task_definition: Var
    timeout: float
    poll_s: float = 2.0


@dataclass(frozen=True)
class CreateDeployment:
    """The engine's start request (`params`, CodeDeploy's CreateDeployment parameters for the CodeDeploy
    engine), sent once its variables are filled in. `revision` is the part of it that names the
    registered task definition; `application`/`group` name where it deploys (for the report)."""

    params: dict[str, Any]
    revision: AppSpecContent
    application: str
    group: str
    output: Var = Var("deployment_id")

    @property
    def deployment_config(self) -> str | None:
        return self.params.get("deploymentConfigName")

    @property
    def task_definition(self) -> Var:
        return self.revision.task_definition


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


Step = RegisterTaskDefinition | RunPreTask | CreateDeployment | WaitForDeployment | VerifyLive


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
    git_sha: str | None = None  # the build this release carries (also in the description, for history)
    bindings: dict[str, Any] = field(default_factory=dict)  # values known before the run
    reattached: bool = False  # following a deployment another release created
    on_cancel: str = "leave"  # Ctrl-C/SIGTERM with a deployment running: leave it, or stop it with rollback
    on_timeout: str = "leave"  # the wait ran out: leave the deployment, or stop it with rollback


def resolve(value: Any, values: Mapping[str, Any]) -> Any:
    """`value` with every Var (and AppSpecContent) filled in from `values`: the request to send."""
    if isinstance(value, Var):
        return values[value.name]
    if isinstance(value, AppSpecContent):
        return value.resolve(str(values[value.task_definition.name]))
    if isinstance(value, dict):
        return {k: resolve(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, values) for v in value]
    return value


def with_placeholders(value: Any) -> Any:
    """`value` as the dry run shows it: every Var as `<name>`."""
    if isinstance(value, Var):
        return str(value)
    if isinstance(value, AppSpecContent):
        return value.placeholder()
    if isinstance(value, dict):
        return {k: with_placeholders(v) for k, v in value.items()}
    if isinstance(value, list):
        return [with_placeholders(v) for v in value]
    return value


def bind(plan: ReleasePlan, **values: Any) -> ReleasePlan:
    """The plan with these values known in advance: the steps that would produce them are dropped."""
    steps = [
        s
        for s in plan.steps
        if not (isinstance(s, RegisterTaskDefinition | CreateDeployment) and s.output.name in values)
    ]
    return replace(plan, steps=steps, bindings={**plan.bindings, **values})


def reattach(plan: ReleasePlan, deployment_id: str, task_definition_arn: str | None) -> ReleasePlan:
    """Follow (and verify) a deployment another release created instead of writing anything. Neither a
    timeout nor a cancel of this release stops theirs."""
    bound = bind(plan, deployment_id=deployment_id, task_definition_arn=task_definition_arn)
    # That deployment's release ran its own pre-tasks.
    steps: list[Step] = [
        s for s in bound.steps if not isinstance(s, RegisterTaskDefinition | RunPreTask | CreateDeployment)
    ]
    return replace(bound, steps=steps, reattached=True, on_cancel="leave", on_timeout="leave")


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


def build_commit(image: str, checkout: Callable[[], str | None] = lambda: git_sha()) -> str | None:
    """The build a release carries: the image's own commit, else (the image says nothing) the checkout's."""
    return image_commit(image) or checkout()


def description_for(command: str, image: str, sha: str | None) -> str:
    """What the deployment says it is: `key=value` tokens that `orchestrator history` reads back."""
    return DeploymentDescription(f"orchestrator {command}", sha or "", image or "").text()


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
    time_scale: float | None = 1.0,
    description: str | None = None,
    commit: str | None = None,
    pre_tasks: tuple[tuple[str, tuple[str, ...]], ...] = (),
    run_spec: RunSpec | None = None,
    pre_task_timeout: float = 3600.0,
    poll_s: float = 2.0,
) -> ReleasePlan:
    """`commit`: the build the release carries when the caller knows it (`release --build` built the
    image from it); else the image's SHA tag, else the checkout's (build_commit)."""

    image = rendered.image or image_of(rendered.taskdef, spec.container_name)
    sha = commit or build_commit(image)
    register = RegisterTaskDefinition(params=rendered.taskdef, image=image)
    revision = AppSpecContent(spec, register.output)
    create = CreateDeployment(
        engine_for(service).start_request(
            service,
            revision,
            description or description_for(command, image, sha),
            deployment_config,
            # finds the deployment again if CreateDeployment's answer is lost (orchestrator.writes)
            release_token(),
        ),
        revision,
        service.codedeploy_app_name,
        service.codedeploy_deployment_group_name,
    )
    steps: list[Step] = [register]
    if pre_tasks:
        assert run_spec is not None, "pre-tasks need the service's run spec"
        for i, (text, argv) in enumerate(pre_tasks, 1):
            steps.append(
                RunPreTask(i, text, argv, service.container_name, run_spec, register.output, pre_task_timeout, poll_s)
            )
    steps.append(create)
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
    return ReleasePlan(command, region, service, rendered, spec, preflight, image, steps, git_sha=sha)


def _summary_of(step: Step) -> tuple[str, str, dict[str, Any]]:
    """(call, one-line summary, parameters) for the dry run: the writes' very parameters."""
    if isinstance(step, RegisterTaskDefinition):
        return "ecs.RegisterTaskDefinition", f"family {step.family}, image {step.image}", step.params
    if isinstance(step, RunPreTask):
        run_params = step.spec.run_task_params()
        run_params.update(
            taskDefinition=str(step.task_definition),
            overrides={"containerOverrides": [{"name": step.container, "command": list(step.command)}]},
        )
        return (
            "ecs.RunTask + DescribeTasks, GetLogEvents (polling)",
            f"pre-task {step.index}: {step.text!r} in {step.container}; no deployment unless it exits 0 "
            f"(at most {step.timeout:.0f}s)",
            run_params,
        )
    if isinstance(step, CreateDeployment):
        cfg = step.deployment_config or "the group's config"
        return (
            "codedeploy.CreateDeployment",
            f"{step.application}/{step.group} with {cfg}",
            with_placeholders(step.params),
        )
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
            params = hide(params)
        calls.append({"call": call, "summary": summary, "params": params})
    return PlanRendered(
        taskdef_diff=diff,
        live_task_definition_arn=live_arn,
        appspec=plan.appspec.with_task_definition(str(Var("task_definition_arn"))),
        calls=tuple(calls),
    )

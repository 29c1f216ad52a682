"""`orchestrator run -- COMMAND...`: a one-off ECS task in the service's cluster and network (orchestrator/runtask.py).

Only typer and the standard library at module level.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrator.commands.common import (
    EnvOpt,
    OutputOpt,
    OutputsFileOpt,
    SandboxOpt,
    ServiceOpt,
    TerraformDirOpt,
)
from orchestrator.commands.release import ContainerEnvOpt

if TYPE_CHECKING:
    pass

DEFAULT_TIMEOUT_S = 3600.0


def register(app: typer.Typer) -> None:
    from orchestrator.commands.common import command

    command(app, "run")(run)


def run(
    command: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="COMMAND...", help="The command, after `--` (it replaces the container's command; no shell)."
        ),
    ] = None,
    taskdef: Annotated[
        Path | None,
        typer.Option(
            "--taskdef",
            metavar="FILE",
            help="Task definition template to render and register first (default: taskdef.json unless --live).",
        ),
    ] = None,
    live: Annotated[
        bool, typer.Option("--live", help="Run the live task definition (the primary task set's); registers nothing.")
    ] = False,
    image: Annotated[
        str | None,
        typer.Option("--image", "-i", metavar="URI", help="With --taskdef: the image of the service's container."),
    ] = None,
    container_env: ContainerEnvOpt = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", min=1, metavar="SECONDS", help="Seconds to wait for the task to stop; then stop it (exit 3)."
        ),
    ] = DEFAULT_TIMEOUT_S,
    terraform_dir: TerraformDirOpt = Path("terraform"),
    env: EnvOpt = None,
    outputs_file: OutputsFileOpt = None,
    sandbox: SandboxOpt = False,
    service: ServiceOpt = None,
    output: OutputOpt = "auto",
) -> None:
    """Run COMMAND once as an ECS task of the service (e.g. migrations), stream its logs, exit with its exit code.

    The task runs in the service's cluster, subnets and security groups, with its launch type. With a
    rendered task definition (the default) a new revision is registered first; --live registers nothing.
    A task that does not start exits 1 with ECS's stoppedReason; Ctrl-C stops the task (exit 130).
    """
    from orchestrator.errors import InputError
    from orchestrator.taskdef import parse_env_pairs

    env_pairs = parse_env_pairs(container_env)
    argv = list(command or [])
    if not argv:
        raise InputError("no command given", hint="orchestrator run [OPTIONS] -- COMMAND [ARG...]")
    if live and taskdef is not None:
        raise InputError("--live and --taskdef exclude each other")
    if live and (image or env_pairs):
        what = "--image" if image else "--container-env"
        raise InputError(f"{what} needs a rendered task definition", hint="drop --live (renders taskdef.json)")
    template = None if live else (taskdef or Path("taskdef.json"))
    code = execute(
        argv,
        template,
        image=image,
        container_env=env_pairs,
        timeout=timeout,
        where=(terraform_dir, env, outputs_file, sandbox, service),
        output=output,
    )
    if code:
        raise typer.Exit(code)


def execute(
    argv: list[str],
    template: Path | None,
    *,
    image: str | None,
    container_env: dict[str, str] | None = None,
    timeout: float,
    where: tuple[Path, str | None, Path | None, bool, str | None],
    output: str,
) -> int:
    """Validate, register if needed, run; always end the event stream with the summary. Returns the exit code."""
    from orchestrator.aws import as_refusal
    from orchestrator.commands.common import reporter
    from orchestrator.errors import ExitCode, Interrupted, OrchestratorError
    from orchestrator.events import Summary
    from orchestrator.interrupts import sigterm_as_interrupt
    from orchestrator.runtask import poll_interval, run_task
    from orchestrator.target import resolve_target

    rep = reporter(output)
    result: dict[str, Any] = {"task_command": argv}
    try:
        with sigterm_as_interrupt():
            try:
                target = resolve_target(*where)
                svc = target.service
                result["service"] = target.service_key
                arn, td, spec = _task_definition(target, template, image, container_env, rep, result)
                result["task_definition_arn"] = arn
                outcome = run_task(
                    target.aws,
                    spec,
                    arn,
                    td,
                    svc.container_name,
                    argv,
                    rep,
                    timeout=timeout,
                    poll_s=poll_interval(target.time_scale),
                )
            except KeyboardInterrupt:
                raise Interrupted("interrupted") from None
            except Exception as exc:
                refused = as_refusal(exc)
                if refused is None:
                    raise
                raise refused from exc
    except OrchestratorError as exc:
        result.setdefault("reason", exc.message)
        rep.emit(Summary("run", False, int(exc.exit_code), result))
        rep.close()
        raise
    except BaseException:
        rep.close()
        raise
    result.update(outcome.to_dict())
    if outcome.exit_code is None:
        from orchestrator.runtask import failure_reason

        reason = failure_reason(outcome)
        result["reason"] = reason
        rep.emit(Summary("run", False, int(ExitCode.DEPLOYMENT_FAILED), result))
        rep.close()
        raise OrchestratorError(reason)
    ok = outcome.exit_code == 0
    if not ok:
        result["reason"] = f"the command exited with code {outcome.exit_code}"
    rep.emit(Summary("run", ok, outcome.exit_code, result))
    rep.close()
    return outcome.exit_code


def _task_definition(
    target: Any,
    template: Path | None,
    image: str | None,
    container_env: dict[str, str] | None,
    rep: Any,
    result: dict[str, Any],
) -> tuple[str, dict[str, Any], Any]:
    """The task definition the task runs, and where it runs: the template rendered and registered (the
    first write, once every check passed), or with no template the service's live one."""
    from orchestrator.arns import short_arn
    from orchestrator.aws import refusals
    from orchestrator.errors import OrchestratorError
    from orchestrator.events import Message, TaskDefinitionRegistered
    from orchestrator.interrupts import deferred_interrupts
    from orchestrator.runtask import check_container, service_run_spec
    from orchestrator.taskdef import load_and_render

    svc = target.service
    ecs = target.aws.client("ecs")
    rendered = None
    if template is not None:
        rendered = load_and_render(template, target.outputs, svc, image=image, container_env=container_env)
        check_container(rendered.taskdef, svc.container_name, str(template))
    spec = service_run_spec(target.aws, svc.cluster_name, svc.service_name)
    if rendered is not None:
        with refusals(), deferred_interrupts():
            td = ecs.register_task_definition(**rendered.taskdef)["taskDefinition"]
        arn = str(td["taskDefinitionArn"])
        result["registered"] = True
        rep.emit(TaskDefinitionRegistered(arn, str(td.get("family")), int(td.get("revision", 0)), rendered.image))
        rep.emit(Message(f"registered a new revision for this run: {short_arn(arn)}"))
        return arn, dict(td), spec
    if not spec.live_task_definition:
        raise OrchestratorError(f"service {svc.service_name} has no live task definition")
    arn = spec.live_task_definition
    with refusals():
        td = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    check_container(td, svc.container_name, arn)
    result["registered"] = False
    return arn, dict(td), spec

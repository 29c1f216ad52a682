"""Day-2 commands on running services: diff, tasks, scale, logs (issue 23).

Thin: options -> targets -> the domain (drift, service_tasks, scale, service_logs) -> events. Only
typer and the standard library at module level.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrator.commands.common import (
    AllServicesOpt,
    EnvOpt,
    OutputOpt,
    OutputsFileOpt,
    SandboxOpt,
    ServicesOpt,
    TerraformDirOpt,
    TimeoutOpt,
    WaitOpt,
    command,
)
from orchestrator.errors import ExitCode, OrchestratorError

if TYPE_CHECKING:
    from orchestrator.report import Reporter
    from orchestrator.target import Target

Where = tuple[Path, str | None, Path | None, bool, list[str] | None, bool]


class Different(OrchestratorError):
    """`diff` found a difference: exit 1, a drift check for CI."""

    exit_code = ExitCode.DEPLOYMENT_FAILED

    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = {**result, "status": "Different"}


def _targets(where: Where) -> list[Target]:
    from orchestrator.target import resolve_targets

    terraform_dir, env, outputs_file, sandbox, service, every = where
    return resolve_targets(terraform_dir, env, outputs_file, sandbox, service or [], every)


def _tagged(rep: Reporter, target: Target, many: bool) -> Reporter:
    from orchestrator.events import for_service

    return for_service(rep, target.service_key) if many else rep


def diff(
    terraform_dir: TerraformDirOpt = Path("terraform"),
    env: EnvOpt = None,
    outputs_file: OutputsFileOpt = None,
    sandbox: SandboxOpt = False,
    service: ServicesOpt = None,
    every: AllServicesOpt = False,
    output: OutputOpt = "auto",
    taskdef: Annotated[
        Path | None,
        typer.Option(
            "--taskdef",
            metavar="FILE",
            help="Task definition template; default: services/KEY/taskdef.json, else taskdef.json.",
        ),
    ] = None,
    appspec: Annotated[
        Path | None,
        typer.Option(
            "--appspec", metavar="FILE", help="AppSpec; default: services/KEY/appspec.json, else appspec.json."
        ),
    ] = None,
    image: Annotated[
        str | None,
        typer.Option("--image", "-i", metavar="URI", help="Image a release would set; default: the live image."),
    ] = None,
    container_env: Annotated[
        list[str] | None,
        typer.Option(
            "--container-env", metavar="KEY=VALUE", help="Container variable a release would set (repeatable)."
        ),
    ] = None,
    deployment_config: Annotated[
        str | None,
        typer.Option(
            "--deployment-config",
            metavar="NAME",
            help="CodeDeploy configuration a release would use; default: the group's.",
        ),
    ] = None,
    show_values: Annotated[
        bool, typer.Option("--show-values", help="Show container environment values (masked by default).")
    ] = False,
) -> None:
    """The task definition (and AppSpec, deployment configuration) a release would send against what runs.

    Exit 0 when equal, 1 when different (a drift check for CI). Environment values are masked."""
    from orchestrator.commands.ops import run_command

    def body(rep: Reporter) -> dict[str, Any]:
        from orchestrator.aws import refusals
        from orchestrator.day2_events import DriftFound
        from orchestrator.drift import compute_drift
        from orchestrator.servicefiles import files_for
        from orchestrator.taskdef import parse_env_pairs

        env_pairs = parse_env_pairs(container_env)
        targets = _targets((terraform_dir, env, outputs_file, sandbox, service, every))
        files = files_for([t.service_key for t in targets], taskdef=taskdef, appspec=appspec)
        many = len(targets) > 1
        services: dict[str, Any] = {}
        for target in targets:
            with refusals():
                found = compute_drift(
                    target,
                    files[target.service_key],
                    image=image,
                    container_env=env_pairs,
                    deployment_config=deployment_config,
                    show_values=show_values,
                )
            _tagged(rep, target, many).emit(
                DriftFound(
                    service=target.service_key,
                    live_task_definition_arn=found.live_task_definition_arn,
                    equal=found.equal,
                    taskdef_diff=found.taskdef_diff,
                    appspec_diff=found.appspec_diff,
                    deployment_config_diff=found.config_diff,
                    notes=found.notes,
                )
            )
            services[target.service_key] = {
                "equal": found.equal,
                "live_task_definition_arn": found.live_task_definition_arn,
            }
        result: dict[str, Any] = (
            {"services": services} if many else {"service": targets[0].service_key, **services[targets[0].service_key]}
        )
        differ = [k for k, v in services.items() if not v["equal"]]
        if differ:
            raise Different(f"differs from what runs: {', '.join(differ)}", result)
        return result

    run_command("diff", output, body)


def tasks(
    terraform_dir: TerraformDirOpt = Path("terraform"),
    env: EnvOpt = None,
    outputs_file: OutputsFileOpt = None,
    sandbox: SandboxOpt = False,
    service: ServicesOpt = None,
    every: AllServicesOpt = False,
    output: OutputOpt = "auto",
) -> None:
    """The service's running tasks per revision: id, revision, status, health, target health and its
    reason, started; and each revision's last stopped task (reason, exit code)."""
    from orchestrator.commands.ops import run_command

    def body(rep: Reporter) -> dict[str, Any]:
        import dataclasses

        from orchestrator.aws import refusals
        from orchestrator.day2_events import TaskSeen
        from orchestrator.events import Message
        from orchestrator.service_tasks import by_revision, read_tasks

        targets = _targets((terraform_dir, env, outputs_file, sandbox, service, every))
        many = len(targets) > 1
        services: dict[str, Any] = {}
        for target in targets:
            out = _tagged(rep, target, many)
            with refusals():
                views = read_tasks(target.aws, target.service)
            if not any(v.desired_status == "RUNNING" for v in views):
                out.emit(Message(f"{target.service.service_name}: no running tasks"))
            for v in views:
                names = [f.name for f in dataclasses.fields(TaskSeen) if f.name != "service_key"]
                out.emit(TaskSeen(**{n: getattr(v, n) for n in names}))
            services[target.service_key] = {"revisions": by_revision(views)}
        if many:
            return {"services": services}
        return {"service": targets[0].service_key, **services[targets[0].service_key]}

    run_command("tasks", output, body)


def scale(
    count: Annotated[int, typer.Option("--count", "-c", metavar="N", help="The service's desired count.")],
    terraform_dir: TerraformDirOpt = Path("terraform"),
    env: EnvOpt = None,
    outputs_file: OutputsFileOpt = None,
    sandbox: SandboxOpt = False,
    service: ServicesOpt = None,
    every: AllServicesOpt = False,
    output: OutputOpt = "auto",
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
) -> None:
    """Set the service's desired count; refused while a deployment is in progress. Waits until the
    service is steady (as the services-stable waiter: running equals desired) unless --no-wait."""
    from orchestrator.commands.ops import run_command

    def body(rep: Reporter) -> dict[str, Any]:
        from orchestrator.aws import refusals
        from orchestrator.commands.common import CliLines
        from orchestrator.events import Message
        from orchestrator.scale import autoscaling_range, check_scale, set_count, wait_steady

        targets = _targets((terraform_dir, env, outputs_file, sandbox, service, every))
        with refusals():
            # Every service checked before the first write.
            lines = CliLines((terraform_dir, env, outputs_file, sandbox))
            before = {t.service_key: check_scale(t.aws, t.service, count, lines, t.service_key) for t in targets}
            for target in targets:
                span = autoscaling_range(target.aws, target.service)
                if span is not None:
                    _tagged(rep, target, len(targets) > 1).emit(
                        Message(
                            f"{target.service.service_name}: Application Auto Scaling manages its count "
                            f"(min {span[0]}, max {span[1]}): its policies may change {count} again",
                            level="warning",
                        )
                    )
                set_count(target.aws, target.service, count)
                was = int(before[target.service_key].get("desiredCount", 0))
                _tagged(rep, target, len(targets) > 1).emit(
                    Message(f"{target.service.service_name}: desired count {was} -> {count}")
                )
            services: dict[str, Any] = {}
            for target in targets:
                scale_ = target.time_scale or 1.0
                got: dict[str, Any] = before[target.service_key]
                if wait:
                    # The services-stable waiter's pace (15 s, 40 attempts), on the endpoint's clock.
                    got = wait_steady(
                        target.aws,
                        target.service,
                        _tagged(rep, target, len(targets) > 1),
                        timeout_s=timeout or 600 * scale_,
                        interval_s=max(0.05, 15 * scale_),
                    )
                services[target.service_key] = {
                    "desired": count,
                    "running": int(got.get("runningCount", 0)) if wait else None,
                }
        result: dict[str, Any] = (
            {"services": services}
            if len(targets) > 1
            else {
                "service": targets[0].service_key,
                **services[targets[0].service_key],
            }
        )
        if not wait:
            result["message"] = f"desired count set to {count}, not waited for"
        return result

    run_command("scale", output, body, writes=True)


def logs(
    terraform_dir: TerraformDirOpt = Path("terraform"),
    env: EnvOpt = None,
    outputs_file: OutputsFileOpt = None,
    sandbox: SandboxOpt = False,
    service: ServicesOpt = None,
    every: AllServicesOpt = False,
    output: OutputOpt = "auto",
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep reading, new tasks too, until Ctrl-C.")] = False,
    since: Annotated[
        str, typer.Option("--since", metavar="DURATION", help="From this long ago: 30s, 10m, 2h, 1d.")
    ] = "10m",
    revision: Annotated[
        str | None,
        typer.Option("--revision", metavar="current|previous|ARN", help="Only the tasks of this task definition."),
    ] = None,
    task: Annotated[str | None, typer.Option("--task", metavar="ID", help="Only this task (id or ARN).")] = None,
) -> None:
    """The service's awslogs lines across its tasks, interleaved by time, each prefixed with its task and
    container. --follow keeps reading (tasks that start later too) until Ctrl-C (exit 130)."""
    import sys

    from orchestrator.errors import Interrupted
    from orchestrator.report import GuardedStream, make_reporter
    from orchestrator.result import CommandResult

    # Not the pipe-safe reporter of the other commands: once stdout is gone (`| head`), logs stop.
    stdout = GuardedStream(sys.stdout)
    rep = make_reporter(output, stdout)  # type: ignore[arg-type]
    try:
        from orchestrator.aws import refusals
        from orchestrator.service_logs import LogFollower, parse_duration, show_logs

        since_s = parse_duration(since)
        targets = _targets((terraform_dir, env, outputs_file, sandbox, service, every))
        many = len(targets) > 1
        if many and (task or (revision not in (None, "current", "previous"))):
            from orchestrator.errors import InputError

            flag = f"--task {task}" if task else f"--revision {revision}"
            raise InputError(
                f"{flag} names one service's task or revision, and logs was given {len(targets)} services",
                hint="name the service with --service KEY",
            )
        followers = [
            LogFollower(
                t.aws, t.service, since_s=since_s, revision=revision, task=task, key=t.service_key if many else None
            )
            for t in targets
        ]
        with refusals():
            result = show_logs(
                followers,
                rep,
                follow=follow,
                interval_s=max(0.1, 2.0 * (targets[0].time_scale or 1.0)),
                stop=lambda: stdout.broken or _reader_gone(sys.stdout),
            )
        result = (
            {"services": [t.service_key for t in targets], **result}
            if many
            else {"service": targets[0].service_key, **result}
        )
    except KeyboardInterrupt:
        rep.emit(CommandResult.failed("logs", Interrupted("logs interrupted")).summary())
        rep.close()
        raise Interrupted("logs interrupted") from None
    except Exception as exc:
        error = _one_line(exc)
        if error is None:
            raise
        rep.emit(CommandResult.failed("logs", error).summary())
        rep.close()
        if error is exc:
            raise
        raise error from exc
    if not stdout.broken:
        rep.emit(CommandResult("logs", fields=result).summary())
    rep.close()


def _one_line(exc: BaseException) -> OrchestratorError | None:
    """An error as the CLI's one line (as the other read-only commands: another AWS error is exit 2)."""
    from orchestrator.aws import as_refusal, error_code, error_message
    from orchestrator.errors import InputError

    if isinstance(exc, OrchestratorError):
        return exc
    refused: OrchestratorError | None = as_refusal(exc)
    if refused is None and error_code(exc):
        refused = InputError(f"AWS {error_code(exc)}: {error_message(exc)}")
    return refused


def _reader_gone(stream: Any) -> bool:
    """stdout is a pipe whose reader has gone (`logs --follow | head -1`): poll reports POLLERR on the
    write end, so --follow stops without waiting for a line to fail on."""
    import select

    try:
        poller = select.poll()
        poller.register(stream.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def register(app: typer.Typer) -> None:
    command(app, "diff")(diff)
    command(app, "tasks")(tasks)
    command(app, "scale")(scale)
    command(app, "logs")(logs)

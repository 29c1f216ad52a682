"""Operations between and during releases: status, history, rollback, stop, approve, doctor.

Only typer and the standard library at module level: the domain modules (and boto3) load inside the
commands.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrator.commands.common import (
    AllServicesOpt,
    EnvOpt,
    OutputOpt,
    OutputsFileOpt,
    SandboxOpt,
    ServiceOpt,
    ServicesOpt,
    TerraformDirOpt,
    TimeoutOpt,
    WaitOpt,
    command,
    several,
)
from orchestrator.commands.release import NotifyOpt
from orchestrator.errors import ExitCode, OrchestratorError

if TYPE_CHECKING:
    from orchestrator.report import Reporter
    from orchestrator.target import Target

DeploymentIdOpt = Annotated[
    str | None,
    typer.Option("--deployment-id", metavar="ID", help="The deployment to act on (default: the group's active one)."),
]


def run_command(
    command: str,
    output: str,
    body: Callable[[Reporter], dict[str, Any]],
    writes: bool = False,
    notify: list[str] | None = None,
) -> None:
    """Run a command body with a reporter in the commands' envelope (commands.common.run_command); the
    event stream always ends with the summary. Any other AWS error becomes one line: exit 2 for the
    read-only commands (a missing or miswired resource), exit 1 for those that act on a deployment."""
    from orchestrator.commands.common import finish_command, reporter
    from orchestrator.commands.common import run_command as envelope
    from orchestrator.notify import notify_urls, with_notify

    rep = with_notify(reporter(output), notify_urls(notify) if notify is not None else ())
    result = envelope(
        command,
        rep,
        lambda: body(rep),
        interrupted=lambda: f"{command} interrupted",
        explain=lambda exc: _one_line_error(exc, writes),
    )
    finish_command(command, rep, result)


def _target(
    terraform_dir: Path, env: str | None, outputs_file: Path | None, sandbox: bool, service: str | None
) -> Target:
    from orchestrator.target import resolve_target

    return resolve_target(terraform_dir, env, outputs_file, sandbox, service)


def _not_followed(
    result: dict[str, Any], wait: bool, where: tuple[Path, str | None, Path | None, bool, str | None]
) -> dict[str, Any]:
    """With --no-wait: the summary says what was done and how to follow it, not that it succeeded."""
    if wait:
        return result
    from orchestrator.commands.common import target_args

    follow = f"orchestrator status --watch {target_args(*where)}".strip()
    dep = result.get("deployment_id")
    done = {
        "StopRequested": f"deployment {dep} asked to stop",
        "Created": f"deployment {dep} created",
        "Approved": f"deployment {dep} approved",
        "TerminationWaitEnded": f"termination wait of deployment {dep} ended",
    }.get(str(result.get("status")), f"deployment {dep} is {result.get('status')}")
    return {**result, "message": f"{done}, not followed; follow it with `{follow}`"}


def status(
    terraform_dir: TerraformDirOpt = Path("terraform"),
    env: EnvOpt = None,
    outputs_file: OutputsFileOpt = None,
    sandbox: SandboxOpt = False,
    service: ServicesOpt = None,
    every: AllServicesOpt = False,
    output: OutputOpt = "auto",
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Follow the active deployment live to its end, then show the status again (one service only).",
        ),
    ] = False,
    timeout: TimeoutOpt = None,
) -> None:
    """What runs now: primary task set, image, traffic split, counts, the active and the last deployment.

    Several services (--service repeated, --all): a section each; exit code the worst of the services'."""
    if several(service, every):
        if watch:
            return run_command("status", output, _refuse_watch)
        return _for_each_service(
            "status",
            output,
            (terraform_dir, env, outputs_file, sandbox, service, every),
            lambda target, rep: _status_fields(target, _status_report(target, rep)),
        )

    def body(rep: Reporter) -> dict[str, Any]:
        target = _target(terraform_dir, env, outputs_file, sandbox, service[0] if service else None)
        st = _status_report(target, rep)
        if watch and st.active is not None:
            from orchestrator.operations import follow

            follow(target.aws, target.service, st.active.deployment_id, rep, timeout_s=timeout)
            st = _status_report(target, rep)
        return {"service": target.service_key, **_status_fields(target, st)}

    run_command("status", output, body)


def _refuse_watch(rep: Reporter) -> dict[str, Any]:
    from orchestrator.errors import InputError

    raise InputError(
        "--watch follows one service's deployment, and --all/--service repeated name several",
        hint="name the one to watch with --service KEY",
    )


def _status_report(target: Target, rep: Reporter) -> Any:
    """Read the service's status and report it (one `status` event)."""
    from orchestrator.aws import refusals
    from orchestrator.events import StatusReport
    from orchestrator.status import read_status

    with refusals():
        st = read_status(target.aws, target.service)
    rep.emit(
        StatusReport(
            service=st.service,
            cluster=st.cluster,
            controller=st.controller,
            task_definition=st.task_definition,
            image=st.image,
            running=st.running,
            desired=st.desired,
            production=st.production,
            test=st.test,
            task_sets=tuple(t.to_dict() for t in st.task_sets),
            active_deployment=st.active.to_dict() if st.active else None,
            lifecycle=st.lifecycle,
            last_deployment=st.last.to_dict() if st.last else None,
            rolled_back_deployment=st.rolled_back.to_dict() if st.rolled_back else None,
        )
    )
    return st


def _status_fields(target: Target, st: Any) -> dict[str, Any]:
    """The summary's fields of one service's status."""
    return {
        "task_definition": st.task_definition,
        "image": st.image,
        "production": st.production,
        "running": st.running,
        "desired": st.desired,
        "active_deployment_id": st.active.deployment_id if st.active else None,
        "active_status": st.active.status if st.active else None,
        "last_deployment_id": st.last.deployment_id if st.last else None,
        "last_status": st.last.status if st.last else None,
        "last_rollback_of": st.last.rollback_of if st.last else None,
    }


def history(
    terraform_dir: TerraformDirOpt = Path("terraform"),
    env: EnvOpt = None,
    outputs_file: OutputsFileOpt = None,
    sandbox: SandboxOpt = False,
    service: ServicesOpt = None,
    every: AllServicesOpt = False,
    output: OutputOpt = "auto",
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="How many deployments (of each service), newest first.")
    ] = 10,
) -> None:
    """Recent deployments of the group: status, creator, task definition, image, git SHA, times, rollbacks.

    Several services (--service repeated, --all): a section each; exit code the worst of the services'."""
    if several(service, every):
        where = (terraform_dir, env, outputs_file, sandbox, service, every)
        return _for_each_service("history", output, where, lambda target, rep: _history(target, rep, limit))

    def body(rep: Reporter) -> dict[str, Any]:
        target = _target(terraform_dir, env, outputs_file, sandbox, service[0] if service else None)
        return {"service": target.service_key, **_history(target, rep, limit)}

    run_command("history", output, body)


def _history(target: Target, rep: Reporter, limit: int) -> dict[str, Any]:
    """Report one service's recent deployments (`history_entry` events); the summary's fields."""
    from orchestrator.aws import refusals
    from orchestrator.events import HistoryEntry, Message
    from orchestrator.history import load_history

    with refusals():
        records = load_history(target.aws, target.service, limit=limit)
    if not records:
        rep.emit(
            Message(
                f"no deployments yet in {target.service.codedeploy_app_name}/"
                f"{target.service.codedeploy_deployment_group_name}"
            )
        )
    for r in records:
        rep.emit(HistoryEntry(**r.to_dict()))
    return {"count": len(records), "deployments": [r.deployment_id for r in records]}


class ServicesFailed(OrchestratorError):
    """Some services of a multi-service read could not be read: the worst of their exit codes; `result`
    carries every service's part of the summary."""

    def __init__(self, message: str, exit_code: int, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.exit_code = ExitCode(exit_code)
        self.result = result


def _for_each_service(
    command: str,
    output: str,
    where: tuple[Path, str | None, Path | None, bool, list[str] | None, bool],
    read: Callable[[Target, Reporter], dict[str, Any]],
) -> None:
    """A read-only command for several services: each service's events tagged with its key (a section
    each), one failing service does not hide the others, and the summary has `services: {KEY: {...}}`."""

    def body(rep: Reporter) -> dict[str, Any]:
        from orchestrator.events import Message, for_service
        from orchestrator.result import STATUS_OF_EXIT
        from orchestrator.target import resolve_targets

        services: dict[str, dict[str, Any]] = {}
        failures: list[tuple[str, OrchestratorError]] = []
        terraform_dir, env, outputs_file, sandbox, service, every = where
        for target in resolve_targets(terraform_dir, env, outputs_file, sandbox, service or [], every):
            tagged = for_service(rep, target.service_key)
            try:
                services[target.service_key] = {"status": "Succeeded", **read(target, tagged)}
            except Exception as exc:
                error = _one_line_error(exc, writes=False)
                if error is None:
                    raise
                failures.append((target.service_key, error))
                services[target.service_key] = {"status": STATUS_OF_EXIT[int(error.exit_code)], "reason": str(error)}
                tagged.emit(Message(f"{target.service_key}: {error}", level="error"))
        result = {"services": services}
        if failures:
            worst = max(int(error.exit_code) for _, error in failures)
            text = "; ".join(f"{key}: {error}" for key, error in failures)
            raise ServicesFailed(
                f"{command}: {len(failures)} of {len(services)} services failed: {text}", worst, result
            )
        return result

    run_command(command, output, body)


def _one_line_error(exc: BaseException, writes: bool) -> OrchestratorError | None:
    """An error as the CLI's one line: an orchestrator error as it is; AWS unreachable or refusing
    (exit 4); any other AWS error exit 2 for the read-only commands (a missing or miswired resource),
    exit 1 for those that act on a deployment. None: not an error the CLI explains."""
    from orchestrator.aws import as_refusal, error_code, error_message
    from orchestrator.errors import DeploymentFailed, InputError

    if isinstance(exc, OrchestratorError):
        return exc
    refused: OrchestratorError | None = as_refusal(exc)
    if refused is None and error_code(exc):
        kind = DeploymentFailed if writes else InputError
        refused = kind(f"AWS {error_code(exc)}: {error_message(exc)}")
    return refused


def rollback(
    terraform_dir: TerraformDirOpt = Path("terraform"),
    env: EnvOpt = None,
    outputs_file: OutputsFileOpt = None,
    sandbox: SandboxOpt = False,
    service: ServicesOpt = None,
    all_services: AllServicesOpt = False,
    output: OutputOpt = "auto",
    to: Annotated[
        str | None,
        typer.Option("--to", help="Task definition to return to (family:revision or ARN); default: the previous one."),
    ] = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    notify: NotifyOpt = None,
) -> None:
    """Roll back: stop the deployment in progress, or redeploy the previous good task definition.

    Several services (--service repeated, --all): each one's rollback is decided first, then all run at once.

    Either way through CodeDeploy, never the ECS service API; ends by confirming what serves production.
    """

    def body(rep: Reporter) -> dict[str, Any]:
        from orchestrator import operations

        if several(service, all_services):
            return _rollback_many(
                rep, (terraform_dir, env, outputs_file, sandbox), service or [], all_services, to, wait, timeout
            )
        where = (terraform_dir, env, outputs_file, sandbox, service[0] if service else None)
        target = _target(*where)
        outcome = operations.rollback(target.aws, target.service, rep, to=to, timeout_s=timeout, wait=wait)
        return _not_followed(outcome.to_dict(), wait, where)

    run_command("rollback", output, body, writes=True, notify=notify or [])


def _rollback_many(
    rep: Reporter,
    where: tuple[Path, str | None, Path | None, bool],
    services: list[str],
    every: bool,
    to: str | None,
    wait: bool,
    timeout: float | None,
) -> dict[str, Any]:
    """`rollback --all` / several --service: every service's rollback decided, then run and followed together."""
    from orchestrator.commands.common import target_args
    from orchestrator.errors import InputError
    from orchestrator.fleet import FleetFailed
    from orchestrator.rollback_all import rollback_many
    from orchestrator.target import resolve_targets

    if to:
        raise InputError("--to names one service's task definition; with several services it cannot apply")
    targets = resolve_targets(*where, services, every)
    try:
        again = target_args(*where, None)
        return rollback_many(
            targets[0].aws,
            targets,
            rep,
            wait=wait,
            timeout_s=timeout,
            follow_line=lambda key: f"orchestrator status {again} --service {key}".strip(),
        )
    except FleetFailed as exc:
        exc.result = exc.fields  # type: ignore[attr-defined]  # run_command's summary reads it
        raise


def stop(
    terraform_dir: TerraformDirOpt = Path("terraform"),
    env: EnvOpt = None,
    outputs_file: OutputsFileOpt = None,
    sandbox: SandboxOpt = False,
    service: ServiceOpt = None,
    output: OutputOpt = "auto",
    no_rollback: Annotated[
        bool, typer.Option("--no-rollback", help="Stop without rolling back (traffic stays where it is).")
    ] = False,
    deployment_id: DeploymentIdOpt = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
) -> None:
    """Stop the deployment in progress; with rollback (the default) follow the rollback to its end."""

    def body(rep: Reporter) -> dict[str, Any]:
        from orchestrator import operations

        where = (terraform_dir, env, outputs_file, sandbox, service)
        target = _target(*where)
        outcome = operations.stop(
            target.aws,
            target.service,
            rep,
            rollback=not no_rollback,
            deployment_id=deployment_id,
            timeout_s=timeout,
            wait=wait,
        )
        return _not_followed(outcome.to_dict(), wait, where)

    run_command("stop", output, body, writes=True)


def approve(
    terraform_dir: TerraformDirOpt = Path("terraform"),
    env: EnvOpt = None,
    outputs_file: OutputsFileOpt = None,
    sandbox: SandboxOpt = False,
    service: ServiceOpt = None,
    output: OutputOpt = "auto",
    deployment_id: DeploymentIdOpt = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    termination_wait: Annotated[
        bool,
        typer.Option(
            "--termination-wait",
            help="End the termination wait now instead: the original tasks stop without waiting out the "
            "group's terminationWaitTimeInMinutes (ContinueDeployment TERMINATION_WAIT); no fast rollback after.",
        ),
    ] = False,
) -> None:
    """Let a deployment that waits for approval (ready option STOP_DEPLOYMENT) shift production traffic;
    with --termination-wait, end a deployment's termination wait early."""

    def body(rep: Reporter) -> dict[str, Any]:
        from orchestrator import operations

        where = (terraform_dir, env, outputs_file, sandbox, service)
        target = _target(*where)
        outcome = operations.approve(
            target.aws,
            target.service,
            rep,
            deployment_id=deployment_id,
            wait=wait,
            timeout_s=timeout,
            termination_wait=termination_wait,
        )
        return _not_followed(outcome.to_dict(), wait, where)

    run_command("approve", output, body, writes=True)


def doctor(
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
            help="Task definition template to check (default: services/<key>/taskdef.json, else taskdef.json). "
            "Only with one service.",
        ),
    ] = None,
    appspec: Annotated[
        Path | None,
        typer.Option(
            "--appspec",
            metavar="FILE",
            help="AppSpec to check (default: services/<key>/appspec.json, else appspec.json). Only with one service.",
        ),
    ] = None,
    deployment_config: Annotated[
        str | None, typer.Option("--deployment-config", help="Check this deployment config instead of the group's.")
    ] = None,
) -> None:
    """Pre-flight checks of the stack a release relies on, as a pass/fail table (exit 2 when any fails).

    Several services (--service repeated, --all): each service's checks, from its own files, in turn."""
    if several(service, every):
        return _doctor_services(
            terraform_dir, env, outputs_file, sandbox, service, every, output, taskdef, appspec, deployment_config
        )

    def body(rep: Reporter) -> dict[str, Any]:
        from orchestrator.doctor import DoctorFailed, run_doctor

        results = run_doctor(
            rep,
            lambda: _target(terraform_dir, env, outputs_file, sandbox, service[0] if service else None),
            taskdef,
            appspec,
            deployment_config,
        )
        summary = _doctor_counts(results)
        failed = [r.check for r in results if r.status == "fail"]
        if failed:
            raise DoctorFailed(f"doctor: {len(failed)} check(s) failed: {'; '.join(failed)}", summary)
        return summary

    run_command("doctor", output, body)


def _doctor_counts(results: list[Any]) -> dict[str, Any]:
    from orchestrator.doctor import FAIL

    return {
        "checks": {r.check: r.status for r in results},
        "passed": sum(r.status == "pass" for r in results),
        "failed": sum(r.status == FAIL for r in results),
        "skipped": sum(r.status == "skipped" for r in results),
    }


def _doctor_services(
    terraform_dir: Path,
    env: str | None,
    outputs_file: Path | None,
    sandbox: bool,
    service: list[str] | None,
    every: bool,
    output: str,
    taskdef: Path | None,
    appspec: Path | None,
    deployment_config: str | None,
) -> None:
    def body(rep: Reporter) -> dict[str, Any]:
        from orchestrator.doctor import DoctorFailed, run_doctor_services
        from orchestrator.servicefiles import files_for
        from orchestrator.target import resolve_targets

        targets = resolve_targets(terraform_dir, env, outputs_file, sandbox, service or [], every)
        files_for([t.service_key for t in targets], taskdef=taskdef, appspec=appspec)  # refuses --taskdef/--appspec
        results = run_doctor_services(rep, targets, deployment_config)
        services = {
            key: {"status": "Failed" if counts["failed"] else "Succeeded", **counts}
            for key, counts in ((key, _doctor_counts(rows)) for key, rows in results.items())
        }
        summary = {
            "passed": sum(s["passed"] for s in services.values()),
            "failed": sum(s["failed"] for s in services.values()),
            "skipped": sum(s["skipped"] for s in services.values()),
            "services": services,
        }
        failed = [f"{key}: {r.check}" for key, rows in results.items() for r in rows if r.status == "fail"]
        if failed:
            bad = [key for key, s in services.items() if s["failed"]]
            raise DoctorFailed(
                f"doctor: {len(failed)} check(s) failed in {len(bad)} of {len(services)} services: {'; '.join(failed)}",
                summary,
            )
        return summary

    run_command("doctor", output, body)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    for name, fn in (
        ("status", status),
        ("history", history),
        ("rollback", rollback),
        ("stop", stop),
        ("approve", approve),
        ("doctor", doctor),
    ):
        command(app, name)(fn)

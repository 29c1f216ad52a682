"""`orchestrator render`, `release` and `deploy FILE`: the release pipeline's commands.

Only typer and the standard library at module level: boto3, rich and the domain modules are imported
inside the commands so that `orchestrator --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrator.commands.common import (
    AllServicesOpt,
    CliLines,
    EnvOpt,
    OutputOpt,
    OutputsFileOpt,
    SandboxOpt,
    ServicesOpt,
    TerraformDirOpt,
    TimeoutOpt,
    WaitOpt,
    command,
    finish_command,
    run_command,
    several,
)
from orchestrator.commands.common import (
    reporter as make_reporter,
)

if TYPE_CHECKING:
    from orchestrator.taskdef import Rendered

TaskdefOpt = Annotated[
    Path | None,
    typer.Option(
        "--taskdef",
        metavar="FILE",
        help="Task definition template (JSON); default: services/KEY/taskdef.json, else taskdef.json.",
    ),
]
AppspecOpt = Annotated[
    Path | None,
    typer.Option(
        "--appspec",
        metavar="FILE",
        help="AppSpec (JSON or YAML); default: services/KEY/appspec.json, else appspec.json.",
    ),
]
ImageOpt = Annotated[
    str | None,
    typer.Option("--image", "-i", metavar="URI", help="Image of the service's container (sets ${image})."),
]
ImagesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--image",
        "-i",
        metavar="[KEY=]URI",
        help="Image of the service's container (sets ${image}): URI for every service (a monorepo image), "
        "KEY=URI for one service (repeatable).",
    ),
]
MaxParallelOpt = Annotated[
    int,
    typer.Option(
        "--max-parallel", min=0, metavar="N", help="With several services: at most N deployments at once (0: all)."
    ),
]
AtomicOpt = Annotated[
    bool,
    typer.Option(
        "--atomic",
        help="With several services: when one fails or is stopped, stop the others with rollback and roll back "
        "those already done, so that every service serves what it served before.",
    ),
]
ContainerOpt = Annotated[
    str | None,
    typer.Option(
        "--container",
        metavar="NAME",
        help="Container whose image --image sets (default: container_name from the outputs).",
    ),
]
# `-e` was its short form; next to --env it misled, so it is only a deprecated spelling now.
ContainerEnvOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--container-env",
        metavar="KEY=VALUE",
        help="Set a variable in the container's environment (repeatable).",
    ),
]
DeploymentConfigOpt = Annotated[
    str | None,
    typer.Option(
        "--deployment-config",
        metavar="NAME",
        help="CodeDeploy deployment config (default: the deployment group's).",
    ),
]
WaitUntilOpt = Annotated[
    str,
    typer.Option(
        "--wait-until",
        metavar="complete|traffic-shifted",
        help="complete: until CodeDeploy reports the end (after the termination wait); "
        "traffic-shifted: until production traffic is all on green.",
    ),
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Print the plan (task definition diff, AppSpec, calls); write nothing.")
]
# Release policies (orchestrator/policy.py, see docs/operations.md).
IfActiveOpt = Annotated[
    str,
    typer.Option(
        "--if-active",
        metavar="fail|wait|replace",
        help="When a deployment is in progress: fail (default), wait for it, or replace it (stop it with rollback).",
    ),
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Deploy even a build older than the one running.")]
StopOnCancelOpt = Annotated[
    bool, typer.Option("--stop-on-cancel", help="On Ctrl-C or SIGTERM stop the deployment with rollback.")
]
OnTimeoutOpt = Annotated[
    str,
    typer.Option(
        "--on-timeout",
        metavar="leave|stop",
        help="When --timeout runs out: leave the deployment running (default) or stop it with rollback (exit 3).",
    ),
]
BuildOpt = Annotated[
    bool,
    typer.Option(
        "--build",
        help="Build and push the image first (`orchestrator build`), once every check has passed; release its digest.",
    ),
]
BuildContextOpt = Annotated[
    Path | None,
    typer.Option("--build-context", metavar="DIR", help="With --build: the build context (default as `build`)."),
]
BuilderOpt = Annotated[
    str, typer.Option("--builder", metavar="NAME", help="With --build: auto, docker, buildah or podman.")
]
ShowValuesOpt = Annotated[
    bool,
    typer.Option(
        "--show-values",
        help="Print container environment values (redacted as *** plus a short hash by default).",
    ),
]
# Release gates and signals (orchestrator/runtask.py, orchestrator/notify.py).
PreTaskOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--pre-task",
        metavar="COMMAND",
        help="Run COMMAND (split like a shell, no shell) as a one-off task with the new task definition "
        "before the deployment; a non-zero exit ends the release (exit 1), no deployment. Repeatable, in order.",
    ),
]
PreTaskTimeoutOpt = Annotated[
    float, typer.Option("--pre-task-timeout", min=1, help="Seconds each --pre-task may run (then stopped, exit 3).")
]
NotifyOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--notify",
        metavar="URL",
        help="POST the summary as JSON (Slack-compatible `text`) to URL when the command ends; a failure only "
        "warns. Repeatable; also $ORCHESTRATOR_NOTIFY_URLS.",
    ),
]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    command(app, "render")(render)
    command(app, "release")(release)
    command(app, "deploy")(deploy)


def render(
    out_file: Annotated[
        Path | None,
        typer.Option("--out-file", metavar="FILE", help="Write the rendered task definition here (default: stdout)."),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out-dir",
            metavar="DIR",
            help="Write each service's rendered task definition to DIR/<key>.json (needed with several services).",
        ),
    ] = None,
    taskdef: Annotated[
        Path | None,
        typer.Option(
            "--taskdef",
            metavar="FILE",
            help="Task definition template (JSON); default: services/<key>/taskdef.json, else taskdef.json. "
            "Only with one service.",
        ),
    ] = None,
    image: ImagesOpt = None,
    container: ContainerOpt = None,
    container_env: ContainerEnvOpt = None,
    terraform_dir: TerraformDirOpt = Path("terraform"),
    env: EnvOpt = None,
    outputs_file: OutputsFileOpt = None,
    sandbox: SandboxOpt = False,
    service: ServicesOpt = None,
    every: AllServicesOpt = False,
    show_values: ShowValuesOpt = False,
) -> None:
    """Render the task definition (placeholders, image, environment) and validate it. Calls no AWS API.

    To stdout, container environment values are redacted unless --show-values; --out-file FILE holds the real
    values (that file is what `deploy FILE` registers). Several services (--service repeated, --all): each
    one's file goes to --out-dir DIR as DIR/<key>.json, written only once every service has rendered."""
    from orchestrator.errors import InputError
    from orchestrator.release.prepare import image_for
    from orchestrator.servicefiles import files_for
    from orchestrator.target import load_outputs
    from orchestrator.taskdef import load_and_render, parse_env_pairs, redact_environment

    env_pairs = parse_env_pairs(container_env)
    if out_file is not None and out_dir is not None:
        raise InputError("--out-file and --out-dir exclude each other", hint="--out-dir DIR writes DIR/<key>.json")
    outputs, _ = load_outputs(terraform_dir, env, outputs_file, sandbox)
    keys = outputs.select(service, every)
    if len(keys) > 1 and out_dir is None:
        where = "--out-file FILE" if out_file is not None else "stdout"
        raise InputError(
            f"render of {len(keys)} services ({', '.join(keys)}) writes one file each, not {where}",
            hint="pass --out-dir DIR (writes DIR/<key>.json)",
        )
    files = files_for(keys, taskdef=taskdef)
    images = image_for(image or [], keys)
    # Every service renders and validates before the first file is written.
    rendered = {
        key: load_and_render(
            files[key].taskdef,
            outputs,
            outputs.services[key],
            image=images[key],
            container=container,
            container_env=env_pairs,
        )
        for key in keys
    }
    for one in rendered.values():
        mask_environment(one.taskdef)
    if out_dir is not None:
        _write_rendered(out_dir, rendered)
    elif out_file is None:
        doc = rendered[keys[0]].taskdef
        sys.stdout.write(json.dumps(doc if show_values else redact_environment(doc), indent=2) + "\n")
    else:
        _write_rendered_file(out_file, rendered[keys[0]])


def _write_rendered_file(path: Path, rendered: Rendered) -> None:
    """One rendered task definition, unredacted (what `deploy` registers); one line on stderr says so."""
    from orchestrator.errors import InputError
    from orchestrator.taskdef import environment_values

    try:
        path.write_text(json.dumps(rendered.taskdef, indent=2) + "\n")
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    count = len(environment_values(rendered.taskdef))
    clear = f"; it holds {count} container environment value(s) in clear: keep it out of logs" if count else ""
    typer.echo(f"wrote {path} (image {rendered.image}){clear}", err=True)


def _write_rendered(out_dir: Path, rendered: dict[str, Rendered]) -> None:
    """DIR/<key>.json for each service; the folder is made (and checked) before any file is written."""
    from orchestrator.errors import InputError

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(f"{out_dir}: exists and is not a directory", hint="--out-dir names a folder") from None
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot create the folder: {exc.strerror or exc}") from None
    for key, one in rendered.items():
        _write_rendered_file(out_dir / f"{key}.json", one)


def mask_environment(taskdef: dict[str, Any] | None) -> None:
    """Under GitHub Actions: `::add-mask::` every container environment value before anything is printed."""
    from orchestrator.report.github import active, mask_secret
    from orchestrator.taskdef import environment_values

    if taskdef and active():
        for value in environment_values(taskdef):
            mask_secret(value)


def release(
    image: ImagesOpt = None,
    taskdef: TaskdefOpt = None,
    appspec: AppspecOpt = None,
    container: ContainerOpt = None,
    container_env: ContainerEnvOpt = None,
    deployment_config: DeploymentConfigOpt = None,
    wait_until: WaitUntilOpt = "complete",
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    dry_run: DryRunOpt = False,
    terraform_dir: TerraformDirOpt = Path("terraform"),
    env: EnvOpt = None,
    outputs_file: OutputsFileOpt = None,
    sandbox: SandboxOpt = False,
    service: ServicesOpt = None,
    all_services: AllServicesOpt = False,
    max_parallel: MaxParallelOpt = 0,
    atomic: AtomicOpt = False,
    output: OutputOpt = "auto",
    if_active: IfActiveOpt = "fail",
    force: ForceOpt = False,
    stop_on_cancel: StopOnCancelOpt = False,
    on_timeout: OnTimeoutOpt = "leave",
    build: BuildOpt = False,
    build_context: BuildContextOpt = None,
    builder: BuilderOpt = "auto",
    show_values: ShowValuesOpt = False,
    pre_task: PreTaskOpt = None,
    pre_task_timeout: PreTaskTimeoutOpt = 3600.0,
    notify: NotifyOpt = None,
) -> None:
    """Render, validate, register the task definition, deploy it blue/green through CodeDeploy, and follow it.

    Several services (--service repeated, --all): every service is validated before the first write, then
    every task definition is registered and the deployments run in parallel, followed in one view."""
    from orchestrator.errors import InputError
    from orchestrator.release.request import BuildOptions, Source
    from orchestrator.taskdef import parse_env_pairs

    if build and image:
        raise InputError("--build and --image exclude each other", hint="--build releases the image it pushes")
    source = Source(
        images=tuple(image or ()),
        taskdef=taskdef,
        appspec=appspec,
        container=container,
        container_env=tuple(parse_env_pairs(container_env).items()),
    )
    _release(
        "release",
        source,
        build=BuildOptions(build_context, builder) if build else None,
        **_common(locals()),
    )


def deploy(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="A task definition rendered earlier (`orchestrator render --out-file FILE`); with several "
            "services, the directory `orchestrator render --out-dir DIR` wrote (DIR/KEY.json per service).",
        ),
    ],
    appspec: AppspecOpt = None,
    deployment_config: DeploymentConfigOpt = None,
    wait_until: WaitUntilOpt = "complete",
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    dry_run: DryRunOpt = False,
    terraform_dir: TerraformDirOpt = Path("terraform"),
    env: EnvOpt = None,
    outputs_file: OutputsFileOpt = None,
    sandbox: SandboxOpt = False,
    service: ServicesOpt = None,
    all_services: AllServicesOpt = False,
    max_parallel: MaxParallelOpt = 0,
    atomic: AtomicOpt = False,
    output: OutputOpt = "auto",
    if_active: IfActiveOpt = "fail",
    force: ForceOpt = False,
    stop_on_cancel: StopOnCancelOpt = False,
    on_timeout: OnTimeoutOpt = "leave",
    show_values: ShowValuesOpt = False,
    pre_task: PreTaskOpt = None,
    pre_task_timeout: PreTaskTimeoutOpt = 3600.0,
    notify: NotifyOpt = None,
) -> None:
    """Register exactly FILE and deploy it blue/green through CodeDeploy, then follow it (CI's deploy job).

    Several services (--service repeated, --all): FILE is the directory `render --out-dir` wrote."""
    from orchestrator.release.request import Source

    _release("deploy", Source(appspec=appspec, prerendered=file), build=None, **_common(locals()))


def _common(given: dict[str, Any]) -> dict[str, Any]:
    """The options `release` and `deploy` share, by name."""
    names = (
        "deployment_config wait_until wait timeout dry_run terraform_dir env outputs_file sandbox service "
        "all_services max_parallel atomic output if_active force stop_on_cancel on_timeout show_values "
        "pre_task pre_task_timeout notify"
    )
    return {name: given[name] for name in names.split()}


def _release(
    command: str,
    source: Any,
    *,
    build: Any,
    deployment_config: str | None,
    wait_until: str,
    wait: bool,
    timeout: float | None,
    dry_run: bool,
    terraform_dir: Path,
    env: str | None,
    outputs_file: Path | None,
    sandbox: bool,
    service: list[str] | None,
    all_services: bool,
    max_parallel: int,
    atomic: bool,
    output: str,
    if_active: str,
    force: bool,
    stop_on_cancel: bool,
    on_timeout: str,
    show_values: bool,
    pre_task: list[str] | None,
    pre_task_timeout: float,
    notify: list[str] | None,
) -> None:
    """Options -> a typed ReleaseRequest -> orchestrator.release.run.release -> the summary."""
    from orchestrator.fleet import FleetOptions
    from orchestrator.notify import notify_urls, with_notify
    from orchestrator.policy import ReleasePolicy
    from orchestrator.release.request import Gates, ReleaseOutcome, ReleaseRequest, WaitOptions
    from orchestrator.release.run import release
    from orchestrator.report.github import mask_secret
    from orchestrator.runtask import parse_commands
    from orchestrator.target import resolve_targets

    many = several(service, all_services)
    # Checked before the reporter exists: a bad URL or command is exit 2 with nothing sent or written.
    urls = notify_urls(notify)
    request = ReleaseRequest(
        command,
        source,
        several=many,
        deployment_config=deployment_config,
        wait=WaitOptions(wait_until, not wait, timeout),
        policy=ReleasePolicy(if_active, force, stop_on_cancel, on_timeout),
        fleet=FleetOptions(max_parallel=max_parallel, atomic=atomic),
        gates=Gates(parse_commands(pre_task or [], "--pre-task"), pre_task_timeout),
        build=build,
        dry_run=dry_run,
        show_values=show_values,
        mask=mask_environment,
        mask_value=mask_secret,
    )
    if many:
        request.validate()  # several services: bad options end the command before any output
    where = (terraform_dir, env, outputs_file, sandbox)
    lines = CliLines(where, service[0] if service and not many else None)
    outcome = ReleaseOutcome(command)

    def body() -> ReleaseOutcome:
        if not many:
            request.validate()
        targets = resolve_targets(*where, service or [], all_services)
        return release(targets, request, rep, lines, outcome)

    rep = with_notify(make_reporter(output), urls)
    ended = run_command(
        command,
        rep,
        body,
        failed_fields=outcome.failed,
        interrupted=lambda: "interrupted" if outcome.wrote() else "interrupted before anything was written",
    )
    if ended.message:
        ended.fields["message"] = ended.message
    if ended.status is not None:
        ended.fields["status"] = str(ended.status)
    finish_command(command, rep, ended.fields)

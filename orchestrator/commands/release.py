"""`orchestrator render`, `release` and `deploy FILE`: the release pipeline's commands.

Only typer and the standard library at module level: boto3, rich and the domain modules are imported
inside the commands so that `orchestrator --help` stays fast.
"""

from __future__ import annotations

import json
import sys
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
    ServicesOpt,
    TerraformDirOpt,
    TimeoutOpt,
    WaitOpt,
    command,
    several,
)

if TYPE_CHECKING:
    from orchestrator.report import Reporter
    from orchestrator.target import Target
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
    from orchestrator.commands.release_many import image_for
    from orchestrator.errors import InputError
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
    from orchestrator.servicefiles import service_files
    from orchestrator.taskdef import load_and_render, parse_env_pairs

    env_pairs = parse_env_pairs(container_env)
    if build and image:
        raise InputError("--build and --image exclude each other", hint="--build releases the image it pushes")
    if several(service, all_services):
        from orchestrator.commands.release_many import Many, run_many

        return run_many(
            Many(
                command="release",
                images=image or [],
                taskdef=taskdef,
                appspec=appspec,
                container=container,
                container_env=env_pairs,
                prerendered=None,
                build=build,
                pre_tasks=pre_task or [],
            ),
            deployment_config=deployment_config,
            wait_until=wait_until,
            no_wait=not wait,
            timeout=timeout,
            dry_run=dry_run,
            where=(terraform_dir, env, outputs_file, sandbox),
            services=(service or [], all_services),
            output=output,
            policy=(if_active, force, stop_on_cancel, on_timeout),
            fleet=(max_parallel, atomic),
            show_values=show_values,
            notify=notify or [],
        )
    only = service[0] if service else None

    def render_it(target: Target, built: str | None) -> Rendered:
        from orchestrator.commands.release_many import image_for

        # Before the build, checks run against a stand-in for the image the build will push.
        given = image_for(image or [], [target.service_key])[target.service_key]
        chosen = built or given or (f"{target.service.ecr_repository_url}:to-be-built" if build else None)
        files = service_files(target.service_key, taskdef=taskdef)
        return load_and_render(
            files.taskdef, target.outputs, target.service, image=chosen, container=container, container_env=env_pairs
        )

    def build_it(target: Target, rep: Reporter) -> tuple[str, str | None]:
        from orchestrator.build import build_for_target

        built = build_for_target(target, rep, context=build_context, builder=builder)
        return built.image, built.git_sha  # the commit the image was built (and labelled) from

    _pipeline(
        "release",
        render_it,
        appspec,
        deployment_config=deployment_config,
        wait_until=wait_until,
        no_wait=not wait,
        timeout=timeout,
        dry_run=dry_run,
        where=(terraform_dir, env, outputs_file, sandbox, only),
        output=output,
        policy=(if_active, force, stop_on_cancel, on_timeout),
        build=build_it if build else None,
        show_values=show_values,
        gates=(pre_task or [], pre_task_timeout, notify or []),
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
    from orchestrator.taskdef import load_prerendered

    if several(service, all_services):
        from orchestrator.commands.release_many import Many, run_many

        return run_many(
            Many(
                command="deploy",
                images=[],
                taskdef=None,
                appspec=appspec,
                container=None,
                container_env=[],
                prerendered=file,
                build=False,
                pre_tasks=pre_task or [],
            ),
            deployment_config=deployment_config,
            wait_until=wait_until,
            no_wait=not wait,
            timeout=timeout,
            dry_run=dry_run,
            where=(terraform_dir, env, outputs_file, sandbox),
            services=(service or [], all_services),
            output=output,
            policy=(if_active, force, stop_on_cancel, on_timeout),
            fleet=(max_parallel, atomic),
            show_values=show_values,
            notify=notify or [],
        )
    only = service[0] if service else None

    def render_it(target: Target, built: str | None) -> Rendered:
        return load_prerendered(file)

    _pipeline(
        "deploy",
        render_it,
        appspec,
        deployment_config=deployment_config,
        wait_until=wait_until,
        no_wait=not wait,
        timeout=timeout,
        dry_run=dry_run,
        where=(terraform_dir, env, outputs_file, sandbox, only),
        output=output,
        policy=(if_active, force, stop_on_cancel, on_timeout),
        show_values=show_values,
        gates=(pre_task or [], pre_task_timeout, notify or []),
    )


def _pipeline(
    command: str,
    render_it: Callable[[Target, str | None], Rendered],
    appspec_given: Path | None,
    *,
    deployment_config: str | None,
    wait_until: str,
    no_wait: bool,
    timeout: float | None,
    dry_run: bool,
    where: tuple[Path, str | None, Path | None, bool, str | None],
    output: str,
    policy: tuple[str, bool, bool, str] = ("fail", False, False, "leave"),
    build: Callable[[Target, Reporter], tuple[str, str | None]] | None = None,
    show_values: bool = False,
    gates: tuple[list[str], float, list[str]] = ([], 3600.0, []),
) -> None:
    """Validate everything, then plan; run the plan (or only describe it for --dry-run). Ends with a summary."""
    from orchestrator import appspec as appspec_mod
    from orchestrator.aws import as_refusal
    from orchestrator.commands.common import reporter, target_args
    from orchestrator.deployment import UNTIL_CHOICES, default_timeout
    from orchestrator.errors import InputError, Interrupted, OrchestratorError
    from orchestrator.events import Message, Validated
    from orchestrator.executor import Executor
    from orchestrator.interrupts import sigterm_as_interrupt
    from orchestrator.notify import notify_urls, with_notify
    from orchestrator.plan import build_plan, describe_plan
    from orchestrator.policy import ReleasePolicy, run_release
    from orchestrator.result import CommandResult
    from orchestrator.runtask import parse_commands, poll_interval
    from orchestrator.target import resolve_target
    from orchestrator.taskdef import placeholder_values
    from orchestrator.validate import preflight

    pre_task_texts, pre_task_timeout, notify = gates
    # Checked before the reporter exists: a bad URL or command is exit 2 with nothing sent or written.
    urls = notify_urls(notify)
    pre_tasks = parse_commands(pre_task_texts, "--pre-task")
    rep = with_notify(reporter(output), urls)
    result: dict[str, Any] = {"dry_run": dry_run} if dry_run else {}
    executor: Executor | None = None
    try:
        with sigterm_as_interrupt():
            try:
                if wait_until not in UNTIL_CHOICES:
                    raise InputError(f"--wait-until {wait_until!r} is not one of {', '.join(UNTIL_CHOICES)}")
                if no_wait and wait_until != "complete":
                    raise InputError("--no-wait and --wait-until exclude each other")
                release_policy = ReleasePolicy(*policy)
                release_policy.validate()
                target = resolve_target(*where)
                follow_command = f"orchestrator status --watch {target_args(*where)}".strip()
                result["service"] = target.service_key
                from orchestrator.servicefiles import service_files

                appspec_path = service_files(target.service_key, appspec=appspec_given).appspec
                rendered = render_it(target, None)
                mask_environment(rendered.taskdef)
                # The AppSpec's hooks may name outputs-contract functions (${smoke_test_function_name}).
                hook_values = placeholder_values(target.outputs, target.service, None)
                spec = appspec_mod.load_and_validate(appspec_path, rendered.taskdef, hook_values)
                for note in spec.notes:
                    rep.emit(Message(note))
                pre = preflight(target.aws, target.service, deployment_config)
                built_commit: str | None = None
                run_spec = _pre_task_spec(target, rendered) if pre_tasks else None
                if build is not None and not dry_run:
                    # The push is the first write, so it comes only after every check above has passed.
                    image, built_commit = build(target, rep)
                    rendered = render_it(target, image)
                    spec = appspec_mod.load_and_validate(appspec_path, rendered.taskdef, hook_values)
                hooks = len(spec.doc.get("Hooks") or [])
                if built_commit is None:
                    from orchestrator.build import ecr_image_commit
                    from orchestrator.plan import image_commit
                    from orchestrator.taskdef import image_of

                    # The image's own commit: its tag, else the tags ECR holds for it (checkout: last).
                    released = rendered.image or image_of(rendered.taskdef, spec.container_name)
                    built_commit = image_commit(released) or ecr_image_commit(target.aws, released)
                budget = float(timeout) if timeout else default_timeout(pre.group, pre.config, wait_until, hooks)
                plan = build_plan(
                    command,
                    target.outputs.aws_region,
                    target.service,
                    rendered,
                    spec,
                    pre,
                    deployment_config=deployment_config,
                    until=wait_until,
                    no_wait=no_wait,
                    timeout=budget,
                    time_scale=target.time_scale or 1.0,
                    commit=built_commit,
                    pre_tasks=pre_tasks,
                    run_spec=run_spec,
                    pre_task_timeout=pre_task_timeout,
                    poll_s=poll_interval(target.time_scale),
                )
                result.update(image=plan.image, deployment_config=pre.config_name, timeout_s=budget)
                rep.emit(Validated(pre.checks, pre.config_name, budget))
                # Release policies (--if-active, --force, --stop-on-cancel, re-attach; orchestrator/policy.py) run
                # here: everything is validated and the plan is data.
                if dry_run:
                    live = _live_taskdef(target, pre.live_task_definition_arn)
                    mask_environment(live)
                    rep.emit(describe_plan(plan, live, show_values=show_values))
                    result["status"] = "DryRun"
                    result["message"] = "dry run, nothing was written"
                else:
                    executor = Executor(target.aws, rep, follow_command=follow_command)
                    result.update(run_release(release_policy, target, plan, executor, rep))
                    if result.get("status") == "traffic-shifted":
                        # CI stops here; a later step reports the end (or ends the wait early).
                        approve_command = follow_command.replace("status --watch", "approve --termination-wait", 1)
                        result["message"] = (
                            f"production traffic is on the replacement; deployment {result.get('deployment_id')} "
                            f"ends after the termination wait: follow it with `{follow_command}`, "
                            f"or end the wait now with `{approve_command}`"
                        )
                    if no_wait and result.get("deployment_id"):
                        made = "in progress (another release's)" if result.get("reattached") else "created"
                        result["message"] = (
                            f"deployment {result['deployment_id']} {made}, not followed; "
                            f"follow it with `{follow_command}`"
                        )
            except KeyboardInterrupt:
                # The executor reports interrupts after its first write itself; this one came before.
                written = executor is not None and bool(executor.written)
                raise Interrupted("interrupted" if written else "interrupted before anything was written") from None
            except Exception as exc:
                refused = as_refusal(exc)  # e.g. the endpoint went away mid-watch: exit 4, still with a summary
                if refused is None:
                    raise
                raise refused from exc
    except OrchestratorError as exc:
        if executor is not None:
            result.update(executor.result)
        rep.emit(CommandResult.failed(command, exc, result).summary())
        rep.close()
        raise
    except BaseException:
        rep.close()
        raise
    rep.emit(CommandResult(command, fields=result).summary())
    rep.close()


def _pre_task_spec(target: Target, rendered: Rendered) -> Any:
    """Where pre-tasks run (the service's network and launch settings); checks the container exists."""
    from orchestrator.runtask import check_container, service_run_spec

    check_container(rendered.taskdef, target.service.container_name, rendered.source)
    return service_run_spec(target.aws, target.service.cluster_name, target.service.service_name)


def _live_taskdef(target: Target, arn: str | None) -> dict[str, Any] | None:
    """The live task definition, as register would take it, for the dry run's diff."""
    if not arn:
        return None
    from orchestrator.aws import refusals
    from orchestrator.ecs_read import without_empty
    from orchestrator.taskdef import strip_read_only

    with refusals():
        td = target.aws.client("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
    live = strip_read_only(td, arn)
    # describe fills in defaults that nobody wrote; keep only what a template would carry.
    return without_empty(live)

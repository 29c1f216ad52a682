"""`orchestrator build`: build the service image, tag it with the commit, push it to ECR, print its digest."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from orchestrator.commands.common import (
    EnvOpt,
    OutputOpt,
    OutputsFileOpt,
    SandboxOpt,
    ServiceOpt,
    TerraformDirOpt,
    command,
)

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.build import BuildSpec


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    command(app, "build")(build)


def build(
    context: Annotated[
        Path | None,
        typer.Option(
            "--context", "-c", metavar="DIR", help="Build context (default: . if it has a Dockerfile, else app/)."
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", metavar="DOCKERFILE", help="Dockerfile (default: <context>/Dockerfile)."),
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", "-t", help="Extra tag besides the commit SHA (repeatable)."),
    ] = None,
    builder: Annotated[
        str,
        typer.Option(
            "--builder",
            metavar="NAME",
            help="auto (docker with a running engine, else buildah, else podman), docker, buildah or podman.",
        ),
    ] = "auto",
    build_arg: Annotated[
        list[str] | None,
        typer.Option("--build-arg", metavar="KEY=VALUE", help="KEY=VALUE passed to the build (repeatable)."),
    ] = None,
    platform: Annotated[str | None, typer.Option("--platform", help="Target platform, e.g. linux/amd64.")] = None,
    repository: Annotated[
        str | None,
        typer.Option(
            "--repository",
            metavar="HOST/PATH",
            help="Push here instead of the outputs' ecr_repository_url (host/path).",
        ),
    ] = None,
    no_push: Annotated[bool, typer.Option("--no-push", help="Build and tag only: no login, no push.")] = False,
    require_clean: Annotated[
        bool, typer.Option("--require-clean", help="Refuse a build context with uncommitted changes.")
    ] = False,
    terraform_dir: TerraformDirOpt = Path("terraform"),
    env: EnvOpt = None,
    outputs_file: OutputsFileOpt = None,
    sandbox: SandboxOpt = False,
    service: ServiceOpt = None,
    output: OutputOpt = "auto",
) -> None:
    """Build the image, tag it with the git commit SHA, log in to ECR and push; print repository@digest.

    The tag is the full commit SHA (`<sha>-dirty-<time>` when the build context has uncommitted
    changes). With --sandbox the image goes to the sandbox's local docker-registry.
    """
    from orchestrator.commands.common import reporter as make_reporter
    from orchestrator.errors import OrchestratorError
    from orchestrator.result import CommandResult

    rep = make_reporter(output)
    try:
        spec, aws = _spec(
            context=context,
            file=file,
            tags=tuple(tag or ()),
            builder=builder,
            build_args=tuple(build_arg or ()),
            platform=platform,
            repository=repository,
            push=not no_push,
            require_clean=require_clean,
            terraform_dir=terraform_dir,
            env=env,
            outputs_file=outputs_file,
            sandbox=sandbox,
            service=service,
        )
        from orchestrator.build import build_and_push
        from orchestrator.report.github import mask_secret

        result = build_and_push(spec, rep, aws, mask=mask_secret)
    except OrchestratorError as exc:
        rep.emit(CommandResult.failed("build", exc).summary())
        rep.close()
        raise
    rep.emit(CommandResult("build", fields={**result.to_dict(), "duration_s": result.duration_s}).summary())
    rep.close()


def _spec(
    *,
    context: Path | None,
    file: Path | None,
    tags: tuple[str, ...],
    builder: str,
    build_args: tuple[str, ...],
    platform: str | None,
    repository: str | None,
    push: bool,
    require_clean: bool,
    terraform_dir: Path,
    env: str | None,
    outputs_file: Path | None,
    sandbox: bool,
    service: str | None,
) -> tuple[BuildSpec, Aws | None]:
    """Where to push (and with which AWS clients to log in) from the options."""
    from orchestrator.aws import Aws
    from orchestrator.build import BuildSpec, default_context
    from orchestrator.errors import InputError
    from orchestrator.images import ECR_HOST, check_repository

    aws: Aws | None = None
    login = False
    if repository is not None and not sandbox:
        repo = check_repository(repository)
        match = ECR_HOST.match(repo.split("/", 1)[0].split(":", 1)[0])
        if match:
            aws, login = Aws(match.group("region")), True
        elif outputs_file is not None:
            from orchestrator.target import resolve_target

            aws = resolve_target(terraform_dir, env, outputs_file, False, service).aws
    else:
        from orchestrator.target import resolve_target

        target = resolve_target(terraform_dir, env, outputs_file, sandbox, service)
        aws = target.aws
        repo = check_repository(repository or target.service.ecr_repository_url)
        login = ECR_HOST.match(repo.split("/", 1)[0]) is not None
        if target.sandbox_registry and push:
            from orchestrator.target import sandbox_repository

            repo, login = sandbox_repository(repo)
    if push and login and aws is None:
        raise InputError("an ECR login needs AWS credentials and a region")
    return (
        BuildSpec(
            repository=repo,
            context=context if context is not None else default_context(),
            dockerfile=file,
            tags=tags,
            builder=builder,
            build_args=build_args,
            platform=platform,
            push=push,
            login=login,
            require_clean=require_clean,
        ),
        aws,
    )

"""`orchestrator adopt`: a running service into this project's files and Terraform (read-only on AWS)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrator.commands.common import EnvOpt, OutputOpt, OutputsFileOpt, SandboxOpt, TerraformDirOpt, command

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.report import Reporter

_KEY = r"^[a-z0-9][a-z0-9_-]{0,31}$"


def adopt(
    cluster: Annotated[str, typer.Option("--cluster", metavar="NAME", help="The ECS cluster of the service.")],
    ecs_service: Annotated[str, typer.Option("--ecs-service", metavar="NAME", help="The ECS service to adopt.")],
    key: Annotated[
        str | None,
        typer.Option("--key", metavar="KEY", help="Its service key (outputs, services/KEY/); default: its name."),
    ] = None,
    container: Annotated[
        str | None,
        typer.Option("--container", metavar="NAME", help="The service's own container; default: the load balancer's."),
    ] = None,
    omit_env: Annotated[
        list[str] | None,
        typer.Option(
            "--omit-env", metavar="NAME", help="Leave this variable out of the files (it becomes a `secrets` entry)."
        ),
    ] = None,
    plain_env: Annotated[
        list[str] | None,
        typer.Option("--plain-env", metavar="NAME", help="Keep this variable as a plain value: it only looks secret."),
    ] = None,
    top_level: Annotated[
        bool, typer.Option("--top-level", help="Write ./taskdef.json and ./appspec.json instead of services/KEY/.")
    ] = False,
    project_root: Annotated[
        Path, typer.Option("--project-root", metavar="DIR", help="Where the files go (terraform/ beneath it).")
    ] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that exist.")] = False,
    region: Annotated[
        str | None,
        typer.Option("--region", metavar="REGION", help="AWS region; default: the outputs', else $AWS_REGION."),
    ] = None,
    terraform_dir: TerraformDirOpt = Path("terraform"),
    env: EnvOpt = None,
    outputs_file: OutputsFileOpt = None,
    sandbox: SandboxOpt = False,
    output: OutputOpt = "auto",
) -> None:
    """Write a running ECS service's files (task definition template, AppSpec, outputs entry) and the
    Terraform import blocks that bring it under this project, from what runs. Reads AWS, writes nothing there."""
    from orchestrator.commands.ops import run_command

    def body(rep: Reporter) -> dict[str, Any]:
        import re

        from orchestrator import adopt_terraform as tf
        from orchestrator.adopt import build_adoption, read_live
        from orchestrator.aws import refusals
        from orchestrator.day2_events import FileWritten, ImportSkipped
        from orchestrator.errors import InputError
        from orchestrator.events import Message

        name = key or ecs_service
        if not re.match(_KEY, name):
            raise InputError(
                f"--key {name!r}: 1-32 lower-case letters, digits, - or _ (a Terraform map key and a folder)"
            )
        aws, aws_region = _aws(terraform_dir, env, outputs_file, sandbox, region)
        with refusals():
            live = read_live(aws, cluster, ecs_service)
            root = project_root / (tf.CODEDEPLOY_ROOT if live.engine == "codedeploy" else tf.ECS_NATIVE_ROOT)
            adoption = build_adoption(
                aws,
                aws_region,
                live,
                key=name,
                container=container,
                omit_env=tuple(omit_env or ()),
                plain_env=tuple(plain_env or ()),
                top_level=top_level,
                root_addresses=tf.root_addresses(root),
                root_imports=tf.root_import_targets(root),
            )
        existing = [p for p in adoption.files if (project_root / p).exists()]
        if existing and not force:
            raise InputError(f"{project_root / existing[0]} exists; nothing written", hint="--force overwrites")
        for rel, text in adoption.files.items():  # every check above has passed: now the writes
            path = project_root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            rep.emit(FileWritten(str(path), _what(rel)))
        for resource, reason in adoption.skipped:
            rep.emit(ImportSkipped(resource, reason))
        for note in adoption.notes:
            rep.emit(Message(note, level="warning" if "secret" in note else "info"))
        rep.emit(Message(f"import blocks: {', '.join(adoption.imports) or 'none'}"))
        return {
            "service": name,
            "deployment_engine": adoption.engine,
            "files": sorted(str(project_root / p) for p in adoption.files),
            "imports": list(adoption.imports),
            "not_imported": [r for r, _ in adoption.skipped],
        }

    run_command("adopt", output, body)


def _what(rel: str) -> str:
    if rel.endswith("taskdef.json"):
        return "task definition template"
    if rel.endswith("appspec.json"):
        return "AppSpec"
    if rel.endswith("outputs.json"):
        return "outputs entry (--outputs-file until Terraform holds the service)"
    if rel.endswith(".tf"):
        return "Terraform import blocks"
    return "the `services` entry for the tfvars"


def _aws(
    terraform_dir: Path, env: str | None, outputs_file: Path | None, sandbox: bool, region: str | None
) -> tuple[Aws, str]:
    """AWS clients: the sandbox's or the outputs' region and endpoint, else --region / $AWS_REGION."""
    from orchestrator.aws import Aws
    from orchestrator.errors import InputError

    endpoint = None
    if sandbox or outputs_file is not None or env is not None:
        from orchestrator.target import load_outputs

        outputs, info = load_outputs(terraform_dir, env, outputs_file, sandbox)
        region = region or outputs.aws_region
        endpoint = info.endpoint if info is not None else None
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise InputError(
            "no AWS region", hint="pass --region, set AWS_REGION, or name the outputs (--sandbox, --outputs-file)"
        )
    return Aws(region, endpoint_url=endpoint, sandbox=sandbox), region


def register(app: typer.Typer) -> None:
    command(app, "adopt")(adopt)

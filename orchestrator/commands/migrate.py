"""`orchestrator migrate --to ecs`: move CodeDeploy services to ECS's own blue/green in place.

Thin: options in, domain out (orchestrator/migrate.py, orchestrator/migration_run.py).
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
    command,
)

if TYPE_CHECKING:
    from orchestrator.migrate import MigrationSettings
    from orchestrator.report import Reporter

MigrationFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--migration-file",
        metavar="FILE",
        help="terraform/ecs-native's `migration` output as JSON (default: read it with terraform output).",
    ),
]


def _settings(
    terraform_dir: Path, env: str | None, migration_file: Path | None, sandbox: bool
) -> dict[str, MigrationSettings]:
    import json

    from orchestrator.errors import InputError
    from orchestrator.migrate import parse_migration

    if migration_file is not None:
        try:
            raw = json.loads(migration_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{migration_file}: no such file") from None
        except json.JSONDecodeError as exc:
            raise InputError(f"{migration_file}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
        return parse_migration(raw, str(migration_file))
    if sandbox:
        raise InputError("--sandbox needs --migration-file FILE (the rules and roles to switch to)")
    from orchestrator.settings import choose_env
    from orchestrator.terraform import ECS_NATIVE_SUBDIR, Workspace

    root = terraform_dir / ECS_NATIVE_SUBDIR
    data = Workspace(root, choose_env(terraform_dir, env)).output_json()
    if "migration" not in data:
        raise InputError(
            f"terraform output in {root} has no `migration` output",
            hint="apply terraform/ecs-native's rules and roles first (docs/migration.md step 2)",
        )
    return parse_migration(data["migration"], f"terraform output ({root})")


def migrate(
    to: Annotated[str, typer.Option("--to", help="The deployment engine to move to: ecs.")],
    terraform_dir: TerraformDirOpt = Path("terraform"),
    env: EnvOpt = None,
    outputs_file: OutputsFileOpt = None,
    sandbox: SandboxOpt = False,
    service: ServicesOpt = None,
    every: AllServicesOpt = False,
    migration_file: MigrationFileOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and show the plan; change nothing.")] = False,
    output: OutputOpt = "auto",
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", min=1, metavar="SECONDS", help="Give up following a switch after this long (exit 3)."
        ),
    ] = 3600,
) -> None:
    """Switch CodeDeploy services to the ECS deployment controller in place (docs/migration.md).

    Every precondition of every service is checked before anything is written; then UpdateService, the
    service deployment it starts followed and verified, and the Terraform steps that follow. There is no
    --to codedeploy: AWS documents no in-place switch back (docs/migration.md, "The way back")."""
    from orchestrator.commands.ops import run_command

    def body(rep: Reporter) -> dict[str, Any]:
        from orchestrator.errors import InputError
        from orchestrator.migration_run import run_migration
        from orchestrator.target import resolve_targets

        if to != "ecs":
            hint = "AWS documents no in-place switch back to CODE_DEPLOY: see docs/migration.md, The way back"
            raise InputError(f"--to {to!r}: only `--to ecs` is supported", hint=hint)
        targets = resolve_targets(terraform_dir, env, outputs_file, sandbox, list(service or []), every)
        settings = _settings(terraform_dir, env, migration_file, sandbox)
        return run_migration(targets, settings, rep, dry_run=dry_run, timeout_s=timeout)

    run_command("migrate", output, body, writes=not dry_run)


def register(app: typer.Typer) -> None:
    """Add `migrate` to the root app."""
    command(app, "migrate")(migrate)

"""The `orchestrator` command line. Thin: heavy imports happen inside the commands that need them."""

from __future__ import annotations

import sys

import typer

from orchestrator import __version__
from orchestrator.commands import adopt, build, day2, infra, migrate, ops, release, sandbox, sandbox_ecs
from orchestrator.commands import run as run_command
from orchestrator.commands.common import CONTEXT_SETTINGS

# Plain (click-style) help: Typer's rich help imports rich.markdown and friends, which alone costs
# more than the rest of the start-up (`make bench` compares it with `aws --version`).
app = typer.Typer(
    name="orchestrator",
    help="Release ECS services blue/green through AWS CodeDeploy, on infrastructure made by Terraform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings=CONTEXT_SETTINGS,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"orchestrator {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Release ECS services blue/green through AWS CodeDeploy."""


sandbox_ecs.register(sandbox.app)  # `sandbox ecs-fault` (ECS-native deployments)
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(infra.app, name="infra")
release.register(app)
build.register(app)
ops.register(app)
migrate.register(app)
run_command.register(app)
day2.register(app)
adopt.register(app)


def error_text(message: str) -> str:
    """`error: <message>`, one line for logs and pipes. On a terminal, each command the message suggests
    follows on a line of its own, whole: a terminal that wraps the sentence would cut it in two."""
    text = f"error: {message}"
    if not sys.stderr.isatty():
        return text
    from orchestrator.report.hints import with_command_lines

    return with_command_lines(text)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; errors become one line on stderr."""
    # typer >= 0.2x parses with its own copy of click: its usage errors, Exit and Abort are not click's.
    # The real click is imported only where an older typer needs it (it costs start-up time).
    try:
        from typer._click.exceptions import ClickException
    except ImportError:  # pragma: no cover - older typer
        from click import ClickException  # type: ignore[assignment]

    from orchestrator.errors import ExitCode, OrchestratorError

    try:
        result = app(args=argv, prog_name="orchestrator", standalone_mode=False)
    except OrchestratorError as exc:
        for line in str(exc).splitlines() or [""]:  # several problems: one line each
            typer.echo(error_text(line), err=True)
        from orchestrator.report.github import annotate_error

        annotate_error(str(exc))  # under GitHub Actions, unless a reporter already did
        return int(exc.exit_code)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except ClickException as exc:
        exc.show()
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("interrupted", err=True)
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:
        if "click" in sys.modules:  # the real click's own Exit/Abort/usage errors, if anything raised them
            import click

            if isinstance(exc, click.exceptions.Exit):
                return int(exc.exit_code)
            if isinstance(exc, click.ClickException):
                exc.show()
                return int(exc.exit_code)
            if isinstance(exc, click.Abort):
                typer.echo("interrupted", err=True)
                return int(ExitCode.INTERRUPTED)
        from orchestrator.aws import as_refusal

        refused = as_refusal(exc)
        if refused is None:
            raise
        typer.echo(error_text(str(refused)), err=True)
        return int(refused.exit_code)
    return int(result) if isinstance(result, int) else 0


def main() -> None:
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()

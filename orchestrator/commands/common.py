"""Options and helpers every command shares: where the outputs come from, which service, which output.

The CLI's vocabulary (docs/release.md#one-vocabulary): `--output/-o` is always the output format,
`--out-file` a file to write, `--env` the environment, `--container-env KEY=VALUE` a container
variable, `--wait/--no-wait` and `--timeout` the same on every command that follows a deployment.
Old spellings still parse (with a one-line warning) through `Command`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar

import typer
from typer.core import TyperCommand

if TYPE_CHECKING:
    from orchestrator.report import Reporter

T = TypeVar("T")

# `-h` works wherever `--help` does (the root's context settings reach every subcommand).
CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"]}

# Deprecated spellings, per command path: old token -> the tokens that replace it.
DEPRECATED: dict[str, dict[str, tuple[str, ...]]] = {
    "render": {"-o": ("--out-file",), "--output-file": ("--out-file",), "-e": ("--container-env",)},
    "release": {"-e": ("--container-env",)},
    "sandbox status": {"--json": ("--output", "json")},
}


def rewrite_deprecated(
    args: Sequence[str], aliases: dict[str, tuple[str, ...]], takes_value: set[str]
) -> tuple[list[str], list[tuple[str, str]]]:
    """Replace deprecated option spellings in args; return the new args and (old, new) pairs used.

    Values of options (the token after `--image`, say) and everything after `--` are left alone.
    """
    out: list[str] = []
    used: list[tuple[str, str]] = []
    i = 0
    while i < len(args):
        tok = args[i]
        if tok == "--":
            out.extend(args[i:])
            break
        name, eq, value = tok.partition("=") if tok.startswith("--") else (tok, "", "")
        attached = None
        if name not in aliases and not tok.startswith("--") and len(tok) > 2 and tok[:2] in aliases:
            name, attached = tok[:2], tok[2:]  # -oFILE
        if name in aliases:
            new = aliases[name]
            used.append((name, " ".join(new)))
            out.extend(new)
            if eq or attached is not None:
                out.append(value if eq else str(attached))
            elif new[-1] in takes_value and i + 1 < len(args):
                out.append(args[i + 1])
                i += 1
        else:
            out.append(tok)
            if name in takes_value and not eq and i + 1 < len(args):
                out.append(args[i + 1])
                i += 1
        i += 1
    return out, used


def _is_flag(param: Any) -> bool:
    return bool(getattr(param, "is_flag", False) or getattr(param, "count", False))


class Command(TyperCommand):
    """Every orchestrator command: deprecated spellings still work (with a warning on stderr), and the
    help shows a name for each option's value (FILE, SECONDS, ...) instead of Typer's `<bool>`/`<str>`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if param.param_type_name == "option" and param.metavar is None and not _is_flag(param):
                name = param.name or "value"
                param.metavar = "SECONDS" if name.endswith("timeout") else name.upper()
            elif param.param_type_name == "argument":
                # Typer prints `FILE <path>`: the name alone says it.
                setattr(param, "display_type_rich", lambda ctx: None)  # noqa: B010

    @staticmethod
    def _path(ctx: Any) -> str:
        """`sandbox fault`: the command's words without the program's name."""
        names = []
        node = ctx
        while node is not None and node.parent is not None:
            names.append(node.info_name or "")
            node = node.parent
        return " ".join(reversed(names))

    def format_options(self, ctx: Any, formatter: Any) -> None:
        """The options in groups (commands/helptext.py), in plain text like the rest of the help."""
        from orchestrator.commands.helptext import grouped

        args, opts = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None and param.param_type_name == "argument":
                args.append(record)
            elif record is not None and param.param_type_name == "option":
                opts.append((max(param.opts, key=len), record))
        if args:
            with formatter.section("Arguments"):
                formatter.write_dl(args)
        for title, records in grouped(self._path(ctx), opts):
            with formatter.section(title):
                formatter.write_dl(records)

    def format_epilog(self, ctx: Any, formatter: Any) -> None:
        """Examples, each on a line of its own as typed (never re-wrapped)."""
        from orchestrator.commands.helptext import EXAMPLES

        super().format_epilog(ctx, formatter)
        examples = EXAMPLES.get(self._path(ctx), ())
        if examples:
            with formatter.section("Examples"):
                for line in examples:
                    formatter.write(f"{'':>{formatter.current_indent}}{line}\n")

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        aliases = DEPRECATED.get(self._path(ctx))
        if aliases:
            takes_value = {
                opt
                for p in self.params
                if p.param_type_name == "option" and not _is_flag(p)
                for opt in (*p.opts, *p.secondary_opts)
            }
            args, used = rewrite_deprecated(args, aliases, takes_value)
            for old, new in dict.fromkeys(used):
                typer.echo(f"warning: {old} is deprecated; use {new}", err=True)
        return list(super().parse_args(ctx, args))


def command(app: typer.Typer, name: str | None = None) -> Any:
    """`app.command(name)` with the orchestrator's Command class."""
    return app.command(name, cls=Command)


TerraformDirOpt = Annotated[
    Path, typer.Option("--terraform-dir", metavar="DIR", help="Terraform root whose outputs describe the stack.")
]
EnvOpt = Annotated[
    str | None,
    typer.Option(
        "--env",
        metavar="NAME",
        help="Environment (terraform/envs/NAME.tfvars and .backend.hcl); default: $ORCHESTRATOR_ENV, "
        "else default_env in orchestrator.toml or pyproject.toml [tool.orchestrator].",
    ),
]
OutputsFileOpt = Annotated[
    Path | None,
    typer.Option("--outputs-file", metavar="FILE", help="Read the outputs from this `terraform output -json` file."),
]
SandboxOpt = Annotated[bool, typer.Option("--sandbox", help="Use the running embedded sandbox.")]
ServiceOpt = Annotated[
    str | None,
    typer.Option("--service", "-s", metavar="KEY", help="Service key in the outputs (optional if only one)."),
]
# Commands that act on several services at once (issue 13): --service repeated, or --all.
ServicesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--service",
        "-s",
        metavar="KEY",
        help="Service key in the outputs (optional if only one); repeat it to act on several services.",
    ),
]
AllServicesOpt = Annotated[bool, typer.Option("--all", help="Every service in the outputs.")]


def several(service: list[str] | None, every: bool) -> bool:
    """A command acts on several services (one row or section and one `services` entry each) with --all
    or --service repeated; else on one, as before (the only one, or the one --service names)."""
    return every or len(service or []) > 1


OutputOpt = Annotated[
    str,
    typer.Option(
        "--output",
        "-o",
        metavar="FORMAT",
        help="auto (rich on a terminal, plain lines otherwise), rich, plain or json.",
    ),
]
WaitOpt = Annotated[
    bool,
    typer.Option(
        "--wait/--no-wait",
        help="Follow the deployment to its end (default), or return once it is created or requested "
        "and say how to follow it.",
    ),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=1,
        metavar="SECONDS",
        help="Give up following after this long (exit 3). Default: computed from the deployment group's ready "
        "and termination waits and the config's canary/linear intervals, plus 15 minutes.",
    ),
]


def target_args(
    terraform_dir: Path, env: str | None, outputs_file: Path | None, sandbox: bool, service: str | None
) -> str:
    """The options that name this target again, for the next command a message suggests."""
    import shlex

    if sandbox:
        parts = ["--sandbox"]
    elif outputs_file is not None:
        parts = ["--outputs-file", str(outputs_file)]
    else:
        parts = ["--env", env] if env else []
        if terraform_dir != Path("terraform"):
            parts += ["--terraform-dir", str(terraform_dir)]
    if service:
        parts += ["--service", service]
    return " ".join(shlex.quote(p) for p in parts)


class CliLines:
    """The next steps (orchestrator.nextsteps.Step) as this CLI's command lines, with the options that
    name the target again; `service`: the command's own service (one service named by --service)."""

    VERBS: ClassVar[dict[str, str]] = {
        "follow": "status --watch",
        "status": "status",
        "stop": "stop",
        "history": "history",
        "approve-termination-wait": "approve --termination-wait",
    }

    def __init__(self, where: tuple[Path, str | None, Path | None, bool], service: str | None = None) -> None:
        self.where, self.service = where, service

    def line(self, step: Any, *, service: str | None = None, all_services: bool = False) -> str:
        again = target_args(*self.where, None if all_services else service or self.service)
        return " ".join(p for p in ("orchestrator", self.VERBS[str(step)], again, "--all" if all_services else "") if p)


def reporter(output: str) -> Reporter:
    from orchestrator.report import make_cli_reporter

    return make_cli_reporter(output)


def run_command(
    command: str,
    rep: Reporter,
    body: Callable[[], T],
    *,
    failed_fields: Callable[[Any], dict[str, Any]] = lambda exc: getattr(exc, "result", {}),
    interrupted: Callable[[], str] = lambda: "interrupted",
    explain: Callable[[Exception], Any] | None = None,
) -> T:
    """The one envelope of every command that talks to AWS: SIGTERM as Ctrl-C, an interrupt as exit 130,
    an AWS refusal as exit 4 (`explain` may turn other AWS errors into one line too), and on failure
    the summary with what was done (`failed_fields(exc)`: the domain's fields) before the error goes on
    to the exit code. The caller emits the success summary (finish_command)."""
    from orchestrator.aws import as_refusal
    from orchestrator.errors import Interrupted, OrchestratorError
    from orchestrator.interrupts import sigterm_as_interrupt
    from orchestrator.result import CommandResult

    try:
        with sigterm_as_interrupt():  # a cancelled CI job ends like Ctrl-C: summary, exit 130
            try:
                return body()
            except KeyboardInterrupt:
                raise Interrupted(interrupted()) from None
            except OrchestratorError:
                raise
            except Exception as exc:
                # e.g. the endpoint went away mid-watch: exit 4, still with a summary
                refused = explain(exc) if explain is not None else as_refusal(exc)
                if refused is None:
                    raise
                raise refused from exc
    except OrchestratorError as exc:
        rep.emit(CommandResult.failed(command, exc, failed_fields(exc)).summary())
        rep.close()
        raise
    except BaseException:
        rep.close()
        raise


def finish_command(command: str, rep: Reporter, fields: dict[str, Any]) -> None:
    """The summary of a command that succeeded."""
    from orchestrator.result import CommandResult

    rep.emit(CommandResult(command, fields=fields).summary())
    rep.close()

"""`orchestrator infra plan|apply|destroy|output|version`: Terraform for the stack, one environment at a time.

Terraform's own output is streamed line by line (under a rich status on a terminal). `apply` and
`destroy` first save a plan, show it, ask (unless --auto-approve), then apply exactly that plan.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrator.commands.common import EnvOpt, TerraformDirOpt, command

if TYPE_CHECKING:
    from collections.abc import Iterator

    from orchestrator.contract import Outputs
    from orchestrator.terraform import LineSink, Workspace

app = typer.Typer(
    help="Plan, apply, destroy the stack with Terraform, or print its outputs.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

InitOpt = Annotated[bool, typer.Option("--init", help="Run `terraform init -reconfigure` first, even if not needed.")]
AutoApproveOpt = Annotated[
    bool, typer.Option("--auto-approve", "-y", help="Apply the saved plan without asking (CI, make).")
]
VarOpt = Annotated[
    list[str] | None,
    typer.Option("--var", metavar="NAME=VALUE", help="Extra Terraform variable NAME=VALUE (repeatable)."),
]
TargetOpt = Annotated[
    list[str] | None,
    typer.Option("--target", metavar="ADDRESS", help="Limit to this resource address (repeatable)."),
]
DEFAULT_DIR = Path("terraform")


class _Streamer:
    """Prints Terraform's lines; on a terminal, under a spinner saying what runs."""

    def __init__(self) -> None:
        self.tty = sys.stdout.isatty()
        if self.tty:
            from rich.console import Console

            self.console = Console(highlight=False)

    def line(self, text: str) -> None:
        if self.tty:
            from rich.text import Text

            self.console.print(Text.from_ansi(text), soft_wrap=True)
        else:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()

    @contextmanager
    def status(self, what: str) -> Iterator[None]:
        if not self.tty:
            sys.stderr.write(f"==> {what}\n")
            sys.stderr.flush()
            yield
            return
        with self.console.status(f"[bold]{what}[/] …"):
            yield


def _workspace(terraform_dir: Path, env: str | None, need_credentials: bool) -> Workspace:
    from orchestrator.settings import choose_env
    from orchestrator.terraform import Workspace, check_credentials

    ws = Workspace(terraform_dir, choose_env(terraform_dir, env, other_targets=False))
    if need_credentials:
        check_credentials()
    return ws


def _vars(var: list[str] | None) -> dict[str, str]:
    from orchestrator.errors import InputError

    out: dict[str, str] = {}
    for item in var or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InputError(f"--var {item!r}: expected NAME=VALUE")
        out[name.strip()] = value
    return out


def _label(ws: Workspace, what: str) -> str:
    from orchestrator.terraform import describe_executable

    env = f" ({ws.env})" if ws.env else ""
    return f"terraform {what}{env} in {ws.terraform_dir} with {describe_executable(ws.executable)}"


def _plan(
    ws: Workspace,
    out: _Streamer,
    sink: LineSink,
    *,
    destroy: bool,
    plan_file: str | None,
    var: list[str] | None,
    target: list[str] | None,
) -> int:
    """Run `terraform plan`; return 0 (no changes) or 2 (changes), Terraform's detailed exit code."""
    from python_terraform import IsFlagged, IsNotFlagged

    options = {
        "input": False,
        "no_color": IsFlagged if not out.tty else IsNotFlagged,
        "detailed_exitcode": IsFlagged,
        "destroy": IsFlagged if destroy else IsNotFlagged,
        "out": plan_file,
        "target": list(target or []),
        **ws.var_options(),
    }
    extra = _vars(var)
    if extra:
        options["var"] = [f"{k}={v}" for k, v in extra.items()]
    with out.status(_label(ws, "plan -destroy" if destroy else "plan")):
        return ws.run("plan", on_line=sink, ok_codes=(0, 2), **options)


def _init(ws: Workspace, out: _Streamer, force: bool) -> None:
    if force or ws.needs_init():
        with out.status(_label(ws, "init")):
            ws.init(out.line, force=True)


def _plan_and_apply(
    terraform_dir: Path,
    env: str | None,
    init: bool,
    auto_approve: bool,
    destroy: bool,
    var: list[str] | None,
    target: list[str] | None,
) -> None:
    import tempfile

    from python_terraform import IsFlagged, IsNotFlagged

    from orchestrator.errors import InputError

    ws = _workspace(terraform_dir, env, need_credentials=True)
    if not auto_approve and not sys.stdin.isatty():
        raise InputError(
            "refusing to change infrastructure without a terminal to confirm on", hint="pass --auto-approve"
        )
    out = _Streamer()
    _init(ws, out, init)
    with tempfile.TemporaryDirectory(prefix="orchestrator-plan-") as tmp:
        plan_file = str(Path(tmp) / "tfplan")
        code = _plan(ws, out, out.line, destroy=destroy, plan_file=plan_file, var=var, target=target)
        if code == 0:
            out.line("No changes: the infrastructure matches the configuration.")
            return
        what = "destroy everything above" if destroy else "apply the plan above"
        if not auto_approve and not typer.confirm(f"{what.capitalize()}?", default=False):
            from orchestrator.errors import Interrupted

            raise Interrupted(f"not confirmed; nothing was {'destroyed' if destroy else 'applied'}")
        with out.status(_label(ws, "apply")):
            ws.run(
                "apply",
                plan_file,
                on_line=out.line,
                input=False,
                no_color=IsFlagged if not out.tty else IsNotFlagged,
            )


@command(app)
def plan(
    env: EnvOpt = None,
    terraform_dir: TerraformDirOpt = DEFAULT_DIR,
    init: InitOpt = False,
    destroy: Annotated[bool, typer.Option("--destroy", help="Plan the destruction of everything.")] = False,
    var: VarOpt = None,
    target: TargetOpt = None,
) -> None:
    """Show what `apply` would change (exit 0 either way; errors exit 2, refused credentials 4)."""
    ws = _workspace(terraform_dir, env, need_credentials=True)
    out = _Streamer()
    _init(ws, out, init)
    _plan(ws, out, out.line, destroy=destroy, plan_file=None, var=var, target=target)


@command(app)
def apply(
    env: EnvOpt = None,
    terraform_dir: TerraformDirOpt = DEFAULT_DIR,
    init: InitOpt = False,
    auto_approve: AutoApproveOpt = False,
    var: VarOpt = None,
    target: TargetOpt = None,
) -> None:
    """Plan, confirm, then apply exactly that plan (`make infra ENV=dev`)."""
    _plan_and_apply(terraform_dir, env, init, auto_approve, destroy=False, var=var, target=target)


@command(app)
def destroy(
    env: EnvOpt = None,
    terraform_dir: TerraformDirOpt = DEFAULT_DIR,
    init: InitOpt = False,
    auto_approve: AutoApproveOpt = False,
    var: VarOpt = None,
    target: TargetOpt = None,
) -> None:
    """Plan the destruction, confirm, then destroy (`make destroy ENV=dev`)."""
    _plan_and_apply(terraform_dir, env, init, auto_approve, destroy=True, var=var, target=target)


@command(app)
def output(
    env: EnvOpt = None,
    terraform_dir: TerraformDirOpt = DEFAULT_DIR,
    init: InitOpt = False,
    check: Annotated[
        bool, typer.Option("--check/--no-check", help="Validate the outputs against the orchestrator's contract.")
    ] = True,
) -> None:
    """Print `terraform output -json` (the outputs contract) to stdout; exit 2 when there is nothing applied."""
    import json

    from orchestrator.contract import parse_outputs

    ws = _workspace(terraform_dir, env, need_credentials=False)
    if ws.env is not None:
        from orchestrator.terraform import check_credentials

        check_credentials()
    sink = _stderr_sink()
    if init:
        ws.init(sink, force=True)
    data = ws.output_json(sink)
    if check:
        outputs = parse_outputs(data, f"terraform output ({terraform_dir})")
        data = _with_ecs_native(outputs, terraform_dir, ws.env) or data
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _with_ecs_native(outputs: Outputs, terraform_dir: Path, env: str | None) -> dict[str, Any] | None:
    """The one contract of both roots (a plain {"aws_region", "services"} map, as --outputs-file
    accepts it) when the ECS-native root beside this one is in use; None otherwise."""
    from dataclasses import asdict

    from orchestrator.contract import merge_outputs, parse_outputs
    from orchestrator.terraform import ecs_native_output_json

    found = ecs_native_output_json(terraform_dir, env)
    if found is None:
        return None
    root, raw = found
    merged = merge_outputs(outputs, parse_outputs(raw, f"terraform output ({root})"))
    typer.echo(f"merged with the services of {root}", err=True)
    return {"aws_region": merged.aws_region, "services": {k: asdict(v) for k, v in merged.services.items()}}


@command(app)
def version(terraform_dir: TerraformDirOpt = DEFAULT_DIR) -> None:
    """Say which Terraform the orchestrator runs (PATH or bundled) and its version."""
    from orchestrator.terraform import describe_executable, terraform_executable

    exe = terraform_executable()
    typer.echo(f"terraform: {describe_executable(exe)} ({exe})")
    import subprocess

    proc = subprocess.run([exe, "version"], capture_output=True, text=True, check=False)
    first = next((line for line in proc.stdout.splitlines() if line.strip()), "")
    if proc.returncode != 0 or not first:
        from orchestrator.errors import InputError

        raise InputError(f"{exe} version failed: {(proc.stderr or proc.stdout).strip()[:200]}")
    typer.echo(first)


def _stderr_sink() -> LineSink:
    def sink(line: str) -> None:
        sys.stderr.write(line + "\n")

    return sink

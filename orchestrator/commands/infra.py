"""`orchestrator infra ...` (being built; see its issue)."""

from __future__ import annotations

import typer

app = typer.Typer(help="infra commands.", no_args_is_help=True)

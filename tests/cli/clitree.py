"""The real CLI's command tree (Typer's click objects), for tests that walk every command."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def root() -> Any:
    import typer.main

    from orchestrator.cli import app

    return typer.main.get_command(app)


def walk(group: Any | None = None, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, command) for the root and every group and command under it."""
    group = group if group is not None else root()
    yield path, group
    for name, sub in sorted(getattr(group, "commands", {}).items()):
        yield from walk(sub, (*path, name))


def resolve(words: list[str]) -> tuple[tuple[str, ...], Any, list[str]]:
    """Follow command words from the root: (path, command, the remaining words)."""
    cmd, path = root(), ()
    rest = list(words)
    while rest and hasattr(cmd, "commands") and rest[0] in cmd.commands:
        cmd = cmd.commands[rest[0]]
        path = (*path, rest.pop(0))
    return path, cmd, rest


def options(cmd: Any) -> dict[str, Any]:
    """Every option spelling of a command (including --help/-h) → its parameter."""
    out: dict[str, Any] = {"--help": None, "-h": None}
    for p in cmd.params:
        if p.param_type_name == "option":
            for opt in (*p.opts, *p.secondary_opts):
                out[opt] = p
    return out


def takes_value(param: Any) -> bool:
    return param is not None and not (getattr(param, "is_flag", False) or getattr(param, "count", False))


def write_outputs(path: Any) -> Any:
    """A valid outputs file (the contract's keys, one service `web`) for commands that only read it."""
    import json

    from support.outputs import service_values

    svc = service_values("web")
    path.write_text(json.dumps({"aws_region": "eu-west-1", "services": {"web": svc}}))
    return path

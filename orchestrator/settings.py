"""Project-level settings: which environment a command acts on when none is given.

In order: `--env`, then $ORCHESTRATOR_ENV, then `default_env` in `orchestrator.toml`, then
`default_env` under `[tool.orchestrator]` in `pyproject.toml` — both files read from the current
directory (where `terraform/`, `taskdef.json` and `appspec.json` are looked for too).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import InputError

ENV_VAR = "ORCHESTRATOR_ENV"
SETTINGS_FILE = "orchestrator.toml"


@dataclass(frozen=True)
class DefaultEnv:
    """The default environment and where it was set (for messages)."""

    name: str
    source: str


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib

    from orchestrator import userfile

    text = userfile.read_text(path, "settings file")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise userfile.too_deep(str(path)) from None


def _setting(table: dict[str, Any], where: str) -> str | None:
    value = table.get("default_env")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InputError(f'{where}: default_env must be a non-empty string, e.g. default_env = "dev"')
    return value.strip()


def default_env(directory: Path | None = None) -> DefaultEnv | None:
    """The environment to use when the command line names none, or None when nothing sets one."""
    from_env = os.environ.get(ENV_VAR, "").strip()
    if from_env:
        return DefaultEnv(from_env, f"${ENV_VAR}")
    base = directory or Path(".")
    own = base / SETTINGS_FILE
    if own.is_file():
        name = _setting(_read_toml(own), f"{own}")
        if name:
            return DefaultEnv(name, str(own))
    pyproject = base / "pyproject.toml"
    if pyproject.is_file():
        # Cheap check first: most pyproject.toml files have no orchestrator table at all.
        try:
            text = pyproject.read_text(errors="replace")
        except OSError:
            return None
        if "tool.orchestrator" in text:
            tool = _read_toml(pyproject).get("tool", {}).get("orchestrator", {})
            if isinstance(tool, dict):
                name = _setting(tool, f"{pyproject} [tool.orchestrator]")
                if name:
                    return DefaultEnv(name, f"{pyproject} [tool.orchestrator]")
    return None


def known_envs(terraform_dir: Path) -> list[str]:
    """Environments of a Terraform root (envs/NAME.tfvars); empty for a root without environments."""
    envs = terraform_dir / "envs"
    return sorted(p.name.removesuffix(".tfvars") for p in envs.glob("*.tfvars")) if envs.is_dir() else []


def choose_env(terraform_dir: Path, env: str | None, *, other_targets: bool = True) -> str | None:
    """The environment to read or change: the given one, else the default; None for a root without
    environments. Without either on a root that has environments (or no root at all, when the
    command could also use --sandbox or --outputs-file), one line says how to choose."""
    if env:
        return env
    found = default_env()
    envs = known_envs(terraform_dir)
    if found is not None:
        if envs and found.name not in envs:
            raise InputError(
                f"{found.source} names environment {found.name!r}, which {terraform_dir}/envs does not have "
                f"({', '.join(envs)})",
                hint="pass --env NAME or change the default",
            )
        return found.name
    if envs or (other_targets and not terraform_dir.is_dir()):
        where = f" ({', '.join(envs)})" if envs else ""
        others = ", --sandbox or --outputs-file FILE" if other_targets else ""
        raise InputError(
            f"no environment chosen: pass --env NAME{where}{others}, "
            f'or set a default with {ENV_VAR}=NAME or default_env = "NAME" in {SETTINGS_FILE}'
        )
    return None

"""Where each service's task definition template and AppSpec live.

The convention scales from one service to many: `services/<key>/taskdef.json` and
`services/<key>/appspec.json` belong to the service `<key>` (the key of the Terraform root's `services`
map); a service without its own file uses the top-level `taskdef.json` / `appspec.json`, which are
templates (`${service_name}`, `${container_name}`, ... are filled in per service) and are all a
single-service project needs. The Terraform root's bootstrap task definition follows the same rule
(terraform/main.tf, `taskdef_path`).

`--taskdef FILE` / `--appspec FILE` name the files of one service; a command acting on several services
refuses them (each service's files come from the convention).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import InputError

SERVICES_DIR = "services"
TASKDEF = "taskdef.json"
APPSPEC = "appspec.json"


@dataclass(frozen=True)
class ServiceFiles:
    key: str
    taskdef: Path
    appspec: Path


def _pick(root: Path, key: str, name: str) -> Path:
    own = root / SERVICES_DIR / key / name
    try:
        exists = own.exists()
    except OSError:  # a key too long for a file name (ENAMETOOLONG): no such file
        exists = False
    return own if exists else root / name


def service_files(
    key: str, root: Path = Path("."), *, taskdef: Path | None = None, appspec: Path | None = None
) -> ServiceFiles:
    """The service's files: the given ones, else `services/<key>/…`, else the top-level templates."""
    return ServiceFiles(key, taskdef or _pick(root, key, TASKDEF), appspec or _pick(root, key, APPSPEC))


def files_for(
    keys: list[str], root: Path = Path("."), *, taskdef: Path | None = None, appspec: Path | None = None
) -> dict[str, ServiceFiles]:
    """Each service's files, in the order given. --taskdef/--appspec only with one service."""
    if len(keys) > 1:
        for option, given in (("--taskdef", taskdef), ("--appspec", appspec)):
            if given is not None:
                name = TASKDEF if option == "--taskdef" else APPSPEC
                raise InputError(
                    f"{option} {given} names one service's file, and this command acts on {len(keys)} services",
                    hint=f"put each service's file at {SERVICES_DIR}/<key>/{name}, or name one service with --service",
                )
    return {key: service_files(key, root, taskdef=taskdef, appspec=appspec) for key in keys}

"""Where a background sandbox keeps its files, and how other commands find it.

`.sandbox/` (or $ORCHESTRATOR_SANDBOX_DIR) holds server.json (pid, port, endpoint, region),
outputs.json (the Terraform outputs contract) and server.log.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

DEFAULT_REGION = "eu-west-1"


def sandbox_dir() -> Path:
    return Path(os.environ.get("ORCHESTRATOR_SANDBOX_DIR", ".sandbox"))


@dataclass(frozen=True)
class SandboxInfo:
    pid: int
    port: int
    endpoint: str
    region: str = DEFAULT_REGION
    time_scale: float = 1.0
    registry: str | None = None  # host:port of a local docker-registry, when one runs

    @property
    def outputs_path(self) -> Path:
        return sandbox_dir() / "outputs.json"


def info_path() -> Path:
    return sandbox_dir() / "server.json"


def load_info() -> SandboxInfo | None:
    """The recorded sandbox, or None; a damaged or foreign server.json counts as none."""
    try:
        raw = json.loads(info_path().read_text())
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None
    if not isinstance(raw, dict):
        return None
    known = {f.name for f in fields(SandboxInfo)}
    try:
        return SandboxInfo(**{k: v for k, v in raw.items() if k in known})
    except TypeError:  # a required key is missing
        return None


def save_info(info: SandboxInfo) -> None:
    sandbox_dir().mkdir(parents=True, exist_ok=True)
    info_path().write_text(json.dumps(asdict(info), indent=2) + "\n")

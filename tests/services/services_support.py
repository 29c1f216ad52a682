"""A project folder with per-service files (services/<key>/taskdef.json, appspec.json) beside the
top-level templates, as the tests of the multi-service commands use it (cwd of the CLI)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

WORKER_CPU = "512"


def project(repo_root: Path, tmp: Path) -> Path:
    """tmp/: the repository's taskdef.json and appspec.json; `worker` has its own task definition
    (twice the CPU and memory, and a QUEUE variable)."""
    tmp.mkdir(parents=True, exist_ok=True)
    for name in ("taskdef.json", "appspec.json"):
        shutil.copy(repo_root / name, tmp / name)
    doc = json.loads((repo_root / "taskdef.json").read_text())
    doc["cpu"], doc["memory"] = WORKER_CPU, "1024"
    doc["containerDefinitions"][0]["environment"].append({"name": "QUEUE", "value": "jobs-secret-name"})
    write(tmp / "services" / "worker" / "taskdef.json", doc)
    return tmp


def write(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) if not isinstance(doc, str) else doc)
    return path


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def outputs_with(sandbox: Any, path: Path, key: str, **changes: Any) -> Path:
    """A copy of the sandbox's outputs with some of one service's values changed (for --outputs-file)."""
    doc = sandbox.outputs()
    doc["services"]["value"][key].update(changes)
    path.write_text(json.dumps(doc))
    return path


# The reporters start a service's plain lines with `[KEY] ` when a command acts on several services.
_PREFIX = re.compile(r"^\[([^\]]+)\] ")


def sections(lines: list[str], opens: Callable[[str], str | None]) -> list[tuple[str, list[str]]]:
    """An output's lines as (service key, its lines), one section per service: `opens(text)` names the
    service whose section a line opens. A line's `[KEY] ` prefix, when there is one, must name the
    section it is in (it is stripped from the text)."""
    found: list[tuple[str, list[str]]] = []
    for line in lines:
        m = _PREFIX.match(line)
        text = line[m.end() :] if m else line
        key = opens(text)
        if key is not None:
            found.append((key, []))
        if not found:
            continue
        assert m is None or m.group(1) == found[-1][0], f"{line!r} in the section of {found[-1][0]}"
        found[-1][1].append(text)
    return found

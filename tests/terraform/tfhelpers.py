"""Shared by the Terraform tests: where the configurations are, and their HCL parsed with python-hcl2."""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULES_DIR = REPO_ROOT / "modules"
ROOT_DIR = REPO_ROOT / "terraform"
MODULE_NAMES = (
    "network",
    "ecr",
    "alb",
    "ecs-service",
    "codedeploy",
    "ci-deploy-role",
    "ci-build-role",
    "smoke-test-hook",
)
CONFIG_DIRS = [MODULES_DIR / m for m in MODULE_NAMES] + [ROOT_DIR]
# The ECS-native root (hashicorp/aws >= 6.21, never planned offline: the mirror holds 5.100) and the
# modules only it calls; tests/terraform/test_tf_ecs_native.py checks them.
ECS_NATIVE_ROOT = ROOT_DIR / "ecs-native"
ECS_NATIVE_MODULE_NAMES = ("ecs-native-service", "ecs-infrastructure-role")
ECS_NATIVE_DIRS = [MODULES_DIR / m for m in ECS_NATIVE_MODULE_NAMES] + [ECS_NATIVE_ROOT]
# Places a provider mirror (registry.terraform.io/hashicorp/aws/<version>/<os_arch>/...) is looked for
# when TF_CLI_CONFIG_FILE does not name an existing CLI configuration.
# `make tools` mirrors the provider into .venv-tools/tf-providers when none of the others exists.
MIRROR_CANDIDATES = (
    "/opt/tf-plugins",
    "~/.terraform.d/plugins",
    "/usr/share/terraform/plugins",
    str(REPO_ROOT / ".venv-tools" / "tf-providers"),
)
PROBE_TIMEOUT_S = 60


def _unquote(value: Any) -> Any:
    """python-hcl2 8 keeps HCL's quotes (`"\\"ip\\""`) and block markers; drop both."""
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == value[-1] == '"':
            return value[1:-1]
        return value
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    if isinstance(value, dict):
        return {_unquote(k): _unquote(v) for k, v in value.items() if k not in ("__is_block__",)}
    return value


def load_hcl(directory: Path) -> dict[str, Any]:
    """All .tf files of a directory, merged: {"resource": {type: {name: body}}, "variable": {...}, ...}.

    Cached per directory and content (python-hcl2 is slow); callers must not modify the result.
    """
    files = tuple((p.name, p.read_text()) for p in sorted(directory.glob("*.tf")))
    return _load_hcl(files)


@functools.cache
def _load_hcl(files: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    import hcl2

    merged: dict[str, Any] = {"resource": {}, "data": {}, "variable": {}, "output": {}, "module": {}, "locals": {}}
    for _name, text in files:
        doc = _unquote(hcl2.loads(text))
        for kind in ("resource", "data"):
            for block in doc.get(kind, []):
                for rtype, by_name in block.items():
                    merged[kind].setdefault(rtype, {}).update(by_name)
        for kind in ("variable", "output", "module"):
            for block in doc.get(kind, []):
                merged[kind].update(block)
        for block in doc.get("locals", []):
            merged["locals"].update(block)
        for key in ("terraform", "provider"):
            merged.setdefault(key, []).extend(doc.get(key, []))
    return merged


def strip_expr(value: Any) -> str:
    """`${var.x}` -> `var.x`, for comparing references."""
    text = str(value)
    if text.startswith("${") and text.endswith("}"):
        return text[2:-1]
    return text


# Provider settings that let `terraform plan` run without an AWS account: nothing is read from AWS
# when every resource is new and no data source calls an API.
OFFLINE_PROVIDER = """
provider "aws" {
  region                      = "eu-west-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}
"""


def skip_or_fail(reason: str) -> None:
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


def provider_environment(workdir: Path, terraform: str) -> tuple[dict[str, str] | None, str]:
    """(environment, "") in which `terraform init` finds the AWS provider without the network, or
    (None, why not). Also called outside fixtures (tfapply.py's background apply).

    TF_CLI_CONFIG_FILE is used as given when it names an existing file; otherwise a local provider
    mirror is looked for. Either way one quick `terraform init` proves it.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))}
    given = os.environ.get("TF_CLI_CONFIG_FILE")
    workdir.mkdir(parents=True, exist_ok=True)
    if given and Path(given).is_file():
        env["TF_CLI_CONFIG_FILE"] = given
        source = f"TF_CLI_CONFIG_FILE={given}"
    else:
        mirror = _mirror_dir()
        if mirror is None:
            return None, (
                "no AWS provider for Terraform here: set TF_CLI_CONFIG_FILE to a CLI config with a provider "
                "mirror, or ORCHESTRATOR_TF_PROVIDER_MIRROR to a mirror directory (terraform providers mirror DIR)"
            )
        config = workdir / "terraformrc"
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
    probe = workdir / "probe"
    probe.mkdir(exist_ok=True)
    (probe / "main.tf").write_text(
        'terraform {\n  required_providers {\n    aws = {\n      source = "hashicorp/aws"\n    }\n  }\n}\n'
    )
    try:
        proc = subprocess.run(
            [terraform, "init", "-backend=false", "-input=false", "-no-color"],
            cwd=probe,
            env=env,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"terraform init with {source} did not finish in {PROBE_TIMEOUT_S}s (no provider reachable)"
    if proc.returncode != 0:
        last = [line for line in (proc.stderr + proc.stdout).splitlines() if line.strip()][-3:]
        return None, f"the AWS provider cannot be installed with {source}: {' '.join(last)}"
    return env, ""

"""Shared by the Terraform tests: where the configurations are, and their HCL parsed with python-hcl2."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULES_DIR = REPO_ROOT / "modules"
ROOT_DIR = REPO_ROOT / "terraform"
MODULE_NAMES = ("network", "ecr", "alb", "ecs-service", "codedeploy", "ci-deploy-role", "ci-build-role")
CONFIG_DIRS = [MODULES_DIR / m for m in MODULE_NAMES] + [ROOT_DIR]
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

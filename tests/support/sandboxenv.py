"""The tests' view of one sandbox (SandboxEnv), apart from tests/conftest.py so that other conftest files
and tests can import it by a name no other module has (several folders hold a conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from support import cli, clients

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEST_TIME_SCALE = 0.01
REGION = clients.REGION
SANDBOX_CREDENTIALS = clients.CREDENTIALS
# Variables of a developer's real AWS set-up that must not leak into sandbox subprocesses.
_AWS_ENV_DROP = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN")


def time_scale_from_env() -> float:
    raw = os.environ.get("ORCHESTRATOR_TEST_TIME_SCALE")
    if not raw:
        return DEFAULT_TEST_TIME_SCALE
    value = float(raw)
    if value <= 0:
        raise pytest.UsageError(f"ORCHESTRATOR_TEST_TIME_SCALE={raw}: must be > 0")
    return value


@dataclass
class SandboxEnv:
    """One test's view of the sandbox: where it is, its state dir, and shortcuts."""

    endpoint: str
    region: str
    outputs_path: Path
    sandbox_dir: Path
    control: Any  # orchestrator.sandbox.control.SandboxControl
    repo_root: Path = REPO_ROOT
    server: Any = field(default=None, repr=False)
    time_scale: float = DEFAULT_TEST_TIME_SCALE

    def outputs(self) -> dict[str, Any]:
        """The outputs document (terraform output -json shape) as written for this test."""
        return dict(json.loads(self.outputs_path.read_text()))

    def service_outputs(self, key: str = "web") -> dict[str, Any]:
        return dict(self.outputs()["services"]["value"][key])

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for subprocesses: os.environ plus the sandbox's endpoint, dummy creds and region."""
        env = {k: v for k, v in os.environ.items() if k not in _AWS_ENV_DROP}
        env.update(SANDBOX_CREDENTIALS)
        env.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_REGION": self.region,
                "ORCHESTRATOR_SANDBOX_DIR": str(self.sandbox_dir),
                # No ~/.aws of the developer: its profiles/retry settings would change behaviour.
                "AWS_CONFIG_FILE": str(self.sandbox_dir / "aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(self.sandbox_dir / "aws-credentials"),
                "AWS_EC2_METADATA_DISABLED": "true",
                # Stable, unwrapped text from typer/rich in captured output.
                "COLUMNS": "200",
                "NO_COLOR": "1",
            }
        )
        env.update(extra)
        return env

    def client(self, service: str) -> Any:
        """A boto3 client for the sandbox (cached for the session)."""
        return clients.client(self.endpoint, service, attempts=3)

    def cli(
        self,
        *args: str,
        check: bool = False,
        timeout: float = 120,
        env: dict[str, str] | None = None,
        input: str | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `orchestrator *args` (this venv's) against the sandbox; text stdout/stderr captured."""
        return cli.run(
            *args, env=self.env(**(env or {})), cwd=cwd or self.repo_root, timeout=timeout, check=check, input=input
        )

    def pushed(self, tag: str, key: str = "web") -> str:
        """The service's ECR image `<ecr_repository_url>:<tag>`, pushed to the sandbox's ECR first (a
        release refuses an image its registry does not hold). Not counted among the AWS calls."""
        from orchestrator.sandbox.control import ControlError

        image = f"{self.service_outputs(key)['ecr_repository_url']}:{tag}"
        try:
            self.control.push_image(image)
        except ControlError as exc:
            if "is held by another image" not in str(exc):  # a test put its own image under this tag
                raise
        return image

    def counts(self) -> Any:
        """Calls per service and action since the test began (after provisioning)."""
        return self.control.request_counts()

    def mutating_calls(self) -> Any:
        """Mutating AWS calls since the test began (after provisioning)."""
        return self.control.mutating_calls()

    def reprovision(self, services: tuple[str, ...] = ("web",), project: str = "demo") -> dict[str, Any]:
        """Start again from an empty sandbox with these services; rewrites outputs.json."""
        return fresh(self, services, project)


def fresh(env: SandboxEnv, services: tuple[str, ...], project: str) -> dict[str, Any]:
    from orchestrator.sandbox.provision import provision

    env.server.reset()
    env.control.clear_faults()
    # A test may slow the engine down to watch a deployment mid-way; the next one starts at the default.
    env.control.time_scale(env.time_scale)
    outputs = provision(env.endpoint, env.region, env.repo_root, project=project, services=services)
    env.outputs_path.write_text(json.dumps(outputs, indent=2) + "\n")
    env.control.reset_requests()
    return outputs

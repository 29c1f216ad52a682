"""Fixtures every test area shares: the embedded sandbox, in-process, with the example stack.

- `sandbox_server` (session): one SandboxServer on a free port of 127.0.0.1 at a fast time scale
  (0.01 wall seconds per simulated second; $ORCHESTRATOR_TEST_TIME_SCALE overrides).
- `sandbox` (function): a SandboxEnv on a fresh sandbox (server reset, faults cleared, the stack
  provisioned, request counts reset after provisioning) with a tmp state dir holding server.json and
  outputs.json, so `orchestrator ... --sandbox` works in subprocesses started with `sandbox.env()`.
- `sandbox_fleet` (function): the same with three services (web, worker, api).
- `repo_root`: the repository root.

Every CodeDeploy and ECS response the in-process sandbox sends is checked against botocore's output
shape (orchestrator/sandbox/shapes.py); a mismatch fails the session (pytest_sessionfinish).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest
from support import cli, clients

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TEST_TIME_SCALE = 0.01
REGION = clients.REGION
SANDBOX_CREDENTIALS = clients.CREDENTIALS
# Variables of a developer's real AWS set-up that must not leak into sandbox subprocesses.
_AWS_ENV_DROP = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN")


def _time_scale() -> float:
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
        return _fresh(self, services, project)


def _fresh(env: SandboxEnv, services: tuple[str, ...], project: str) -> dict[str, Any]:
    from orchestrator.sandbox.provision import provision

    env.server.reset()
    env.control.clear_faults()
    # A test may slow the engine down to watch a deployment mid-way; the next one starts at the default.
    env.control.time_scale(env.time_scale)
    outputs = provision(env.endpoint, env.region, env.repo_root, project=project, services=services)
    env.outputs_path.write_text(json.dumps(outputs, indent=2) + "\n")
    env.control.reset_requests()
    return outputs


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Any]:
    """The sandbox (moto + engine + control endpoint) in this process, on a free port."""
    from orchestrator.sandbox.tuning import apply_in_process

    apply_in_process()  # before moto builds its backends: cheap resets
    from orchestrator.sandbox.launcher import SandboxServer
    from orchestrator.sandbox.shapes import SHAPES

    SHAPES.enabled = True  # every response is checked against botocore's model: pytest_sessionfinish

    server = SandboxServer("127.0.0.1", port=0, time_scale=_time_scale())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sandbox(sandbox_server: Any, tmp_path_factory: pytest.TempPathFactory) -> SandboxEnv:
    """A freshly reset sandbox with the example stack (project demo, service web) provisioned."""
    return _sandbox_env(sandbox_server, tmp_path_factory, ("web",))


@pytest.fixture
def sandbox_fleet(sandbox_server: Any, tmp_path_factory: pytest.TempPathFactory) -> SandboxEnv:
    """As `sandbox`, with three services (web, worker, api: one stack each, as `sandbox up -s web -s worker
    -s api` makes them) for the commands that act on several services at once."""
    return _sandbox_env(sandbox_server, tmp_path_factory, ("web", "worker", "api"))


def _sandbox_env(
    sandbox_server: Any, tmp_path_factory: pytest.TempPathFactory, services: tuple[str, ...]
) -> SandboxEnv:
    from orchestrator.sandbox.control import SandboxControl
    from orchestrator.sandbox.state import SandboxInfo

    state_dir = tmp_path_factory.mktemp("sandbox")
    env = SandboxEnv(
        endpoint=sandbox_server.endpoint,
        region=REGION,
        outputs_path=state_dir / "outputs.json",
        sandbox_dir=state_dir,
        control=SandboxControl(sandbox_server.endpoint),
        server=sandbox_server,
        time_scale=sandbox_server.time_scale,
    )
    _fresh(env, services, "demo")
    # server.json as `sandbox up` writes it; the pid is this pytest process, which `sandbox down`
    # recognises as not a launcher it started and leaves alone.
    info = SandboxInfo(
        pid=os.getpid(),
        port=int(sandbox_server.port),
        endpoint=sandbox_server.endpoint,
        region=REGION,
        time_scale=float(sandbox_server.time_scale),
    )
    (state_dir / "server.json").write_text(json.dumps(asdict(info), indent=2) + "\n")
    return env


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when the sandbox sent a response that does not match botocore's output shape."""
    if "orchestrator.sandbox.shapes" not in sys.modules:
        return
    from orchestrator.sandbox.shapes import SHAPES

    found = SHAPES.violations()
    if not found:
        return
    report = "\n".join(f"  {v}" for v in found)
    sys.stderr.write(f"\nsandbox responses that do not match botocore's output shapes:\n{report}\n")
    if session.exitstatus == 0:
        session.exitstatus = 1

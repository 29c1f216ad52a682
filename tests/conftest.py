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
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from support.sandboxenv import REGION, REPO_ROOT, SandboxEnv, fresh, time_scale_from_env


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

    server = SandboxServer("127.0.0.1", port=0, time_scale=time_scale_from_env())
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
    fresh(env, services, "demo")
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

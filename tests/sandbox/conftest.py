"""A sandbox server for the engine's own tests: in-process, free port, fast time scale."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from orchestrator.sandbox.control import SandboxControl
from orchestrator.sandbox.launcher import SandboxServer

# Wall seconds per simulated second: a default AllAtOnce deployment with a 1-minute termination wait
# takes about 1.3 s.
TIME_SCALE = 0.01


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    server = SandboxServer(port=0, time_scale=TIME_SCALE).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def endpoint(sandbox_server: SandboxServer) -> str:
    return sandbox_server.endpoint


@pytest.fixture
def control(sandbox_server: SandboxServer) -> Iterator[SandboxControl]:
    ctl = SandboxControl(sandbox_server.endpoint)
    ctl.clear_faults()
    yield ctl
    ctl.clear_faults()

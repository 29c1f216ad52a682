"""Fixtures of the engine's tests; the server itself is tests/conftest.py's `sandbox_server`.

These tests make their own small stacks (tests/sandbox/stack.py) with unique names, so they share the
session's server without resetting it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from orchestrator.sandbox.control import SandboxControl


@pytest.fixture
def endpoint(sandbox_server: Any) -> str:
    return str(sandbox_server.endpoint)


@pytest.fixture
def control(sandbox_server: Any) -> Iterator[SandboxControl]:
    ctl = SandboxControl(sandbox_server.endpoint)
    ctl.clear_faults()
    yield ctl
    ctl.clear_faults()

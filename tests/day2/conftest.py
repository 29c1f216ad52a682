"""Fixtures of the day-2 tests: a rolling service the stack did not create (legacy.py)."""

from __future__ import annotations

from typing import Any

import pytest
from legacy import Legacy, create_legacy


@pytest.fixture
def legacy(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Legacy:
    # moto starts an ECS-controller service with MOTO_ECS_SERVICE_RUNNING tasks running (default 0:
    # its first deployment would stay IN_PROGRESS); the in-process server reads it at CreateService.
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "2")
    return create_legacy(sandbox)

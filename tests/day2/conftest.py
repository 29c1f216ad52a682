"""Fixtures of the day-2 tests: a rolling service the stack did not create (legacy.py)."""

from __future__ import annotations

from typing import Any

import pytest
from legacy import Legacy, create_legacy


@pytest.fixture
def legacy(sandbox: Any) -> Legacy:
    return create_legacy(sandbox)

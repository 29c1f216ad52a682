"""The UI says original/replacement with the target groups' names, not blue/green: the target groups
alternate between releases, so the replacement of one release is the original of the next."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_progress_names_the_target_groups_which_alternate_between_releases(sandbox: Any) -> None:
    first = sandbox.cli("release", "--sandbox", "--output", "json", "--image", "repo/web:one")
    assert first.returncode == 0, first.stderr
    progress = [json.loads(x) for x in first.stdout.splitlines() if '"event":"deployment_progress"' in x]
    last = next(e for e in reversed(progress) if e["green_weight"] is not None)
    original, replacement = last["original_target_group"], last["replacement_target_group"]
    assert {original, replacement} == {"demo-web-blue", "demo-web-green"}

    second = sandbox.cli("release", "--sandbox", "--output", "plain", "--image", "repo/web:two")
    assert second.returncode == 0, second.stderr
    # This release replaces what the first one put in place: the roles of the target groups swap.
    assert f"traffic original {replacement} 0% → replacement {original} 100%" in second.stdout
    assert "traffic blue" not in second.stdout

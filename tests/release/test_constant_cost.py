"""The checks before the first write cost the same whatever the history (issue 20.1): a release reads
what a decision needs (the active deployment, the newest success, what the build-order check compares)
with lookups that stop early, never the AppSpec of each of the last 50 deployments."""

from __future__ import annotations

from typing import Any

import pytest

from .test_release_e2e import release

pytestmark = pytest.mark.e2e

# Reads whose count grows with the group's history when a release reads every recent deployment.
HISTORY_READS = (
    ("codedeploy", "GetApplicationRevision"),
    ("codedeploy", "BatchGetDeployments"),
    ("codedeploy", "GetDeployment"),
    ("codedeploy", "ListDeployments"),
    ("ecs", "DescribeTaskDefinition"),
)


def _reads_of_a_release(sandbox: Any, tag: str) -> dict[str, int]:
    sandbox.control.reset_requests()
    res = release(sandbox, "--image", f"{sandbox.service_outputs()['ecr_repository_url']}:{tag}", "--no-wait")
    assert res.returncode == 0, res.stderr
    counts = sandbox.counts()
    return {f"{s}:{a}": counts.get(s, {}).get(a, 0) for s, a in HISTORY_READS}


def _wait_idle(sandbox: Any) -> None:
    res = sandbox.cli("status", "--sandbox", "--watch", timeout=120)
    assert res.returncode in (0, 1), res.stderr


@pytest.mark.xfail(reason="issue 20.1: before_create reads up to 50 deployments and each one's AppSpec", strict=True)
def test_reads_before_the_first_write_do_not_grow_with_history(sandbox: Any) -> None:
    _wait_idle(sandbox)
    short = _reads_of_a_release(sandbox, "h1")
    for i in range(6):
        _wait_idle(sandbox)
        assert release(sandbox, "--image", f"{sandbox.service_outputs()['ecr_repository_url']}:fill{i}").returncode == 0
    _wait_idle(sandbox)
    long = _reads_of_a_release(sandbox, "h8")
    assert long == short

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
    res = release(sandbox, "--image", sandbox.pushed(tag), "--no-wait")
    assert res.returncode == 0, res.stderr
    counts = sandbox.counts()
    return {f"{s}:{a}": counts.get(s, {}).get(a, 0) for s, a in HISTORY_READS}


def _wait_idle(sandbox: Any) -> None:
    res = sandbox.cli("status", "--sandbox", "--watch", timeout=120)
    assert res.returncode in (0, 1), res.stderr


def test_reads_before_the_first_write_do_not_grow_with_history(sandbox: Any) -> None:
    assert release(sandbox, "--image", sandbox.pushed("first")).returncode == 0
    _wait_idle(sandbox)
    short = _reads_of_a_release(sandbox, "h1")  # a history of one deployment
    for i in range(6):
        _wait_idle(sandbox)
        assert release(sandbox, "--image", sandbox.pushed(f"fill{i}")).returncode == 0
    _wait_idle(sandbox)
    long = _reads_of_a_release(sandbox, "h8")
    assert long == short


@pytest.mark.parametrize("revisions", [0, 30])
def test_a_lost_register_answer_is_found_among_the_newest_revisions_only(sandbox: Any, revisions: int) -> None:
    """RegisterTaskDefinition commits and answers 500: the recovery describes the family's newest few
    revisions (once each), not all of them (it made 116 DescribeTaskDefinition calls in issue 20)."""
    ecs = sandbox.client("ecs")
    svc = sandbox.service_outputs()
    current = ecs.describe_services(cluster=svc["cluster_name"], services=[svc["service_name"]])["services"][0]
    td = ecs.describe_task_definition(taskDefinition=current["taskDefinition"])["taskDefinition"]
    keep = ("family", "networkMode", "requiresCompatibilities", "cpu", "memory", "executionRoleArn", "taskRoleArn")
    for i in range(revisions):  # other revisions of the family, registered a moment ago
        containers = [dict(c, environment=[{"name": "N", "value": str(i)}]) for c in td["containerDefinitions"]]
        ecs.register_task_definition(**{k: td[k] for k in keep if k in td}, containerDefinitions=containers)
    sandbox.control.set_faults(error_after_rate=1.0, error_after_actions=["RegisterTaskDefinition"])
    sandbox.control.reset_requests()
    res = release(sandbox, "--image", sandbox.pushed("lost"), "--no-wait")
    assert res.returncode == 0, res.stderr
    counts = sandbox.counts()["ecs"]
    assert counts["RegisterTaskDefinition"] == 1  # found, not registered twice
    assert counts["DescribeTaskDefinition"] <= 2 + 5  # the build-order check's reads + the newest five

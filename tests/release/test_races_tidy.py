"""Races end tidy (issue 20.7): two identical releases at once make one deployment; the loser re-attaches
to it under every --if-active and leaves no revision of its own registered."""

from __future__ import annotations

from typing import Any

import pytest
from support import cli
from support.jsonlines import summary

pytestmark = pytest.mark.e2e


def _family_revisions(sandbox: Any) -> list[str]:
    ecs = sandbox.client("ecs")
    svc = sandbox.service_outputs()
    family = f"{svc['cluster_name']}-{svc['service_name']}"
    return list(ecs.list_task_definitions(familyPrefix=family, status="ACTIVE")["taskDefinitionArns"])


@pytest.mark.parametrize("if_active", ["wait", "replace", "fail"])
def test_two_identical_releases_at_once_make_one_deployment_and_leave_no_stray_revision(
    sandbox: Any, if_active: str
) -> None:
    before = set(_family_revisions(sandbox))
    sandbox.control.set_faults(latency_ms=300)  # both pass their checks before either creates
    image = sandbox.pushed("same")
    args = ("release", "--sandbox", "--output", "json", "--image", image, "--if-active", if_active)
    procs = [cli.start(*args, env=sandbox.env(), cwd=sandbox.repo_root) for _ in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    sandbox.control.clear_faults()
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    ids = {summary(out)["deployment_id"] for out, _ in outs}
    assert len(ids) == 1  # the loser re-attached to the winner's deployment
    new = set(_family_revisions(sandbox)) - before
    assert len(new) == 1, sorted(new)  # the loser's own revision was deregistered (or reused)
    # Whichever lost the race (if they raced: the sandbox's latency makes it likely, not certain) says so.
    said = "".join(out for out, _ in outs)
    if '"action":"reattach"' in said:
        assert "deregistered" in said or len({summary(out).get("task_definition_arn") for out, _ in outs}) == 1


def test_a_release_replaced_by_another_says_which_replaced_it(sandbox: Any) -> None:
    """A's deployment is stopped by B's `--if-active replace`: A's reason names B's deployment, not
    'MANUAL_STOP … fix the cause'."""
    import time

    sandbox.control.time_scale(0.05)
    url = sandbox.pushed("a").rsplit(":", 1)[0]
    sandbox.pushed("b")
    first = cli.start(
        "release", "--sandbox", "--output", "json", "--image", f"{url}:a", env=sandbox.env(), cwd=sandbox.repo_root
    )
    try:
        assert first.stdout is not None
        for line in first.stdout:  # A's deployment exists
            if '"event":"deployment_created"' in line:
                break
        time.sleep(0.5)
        second = sandbox.cli(
            "release", "--sandbox", "--output", "json", "--image", f"{url}:b", "--if-active", "replace", timeout=180
        )
        out, err = first.communicate(timeout=180)
    finally:
        if first.poll() is None:
            first.kill()
    assert second.returncode == 0, second.stderr
    replacing = summary(second.stdout)["deployment_id"]
    assert first.returncode == 1, err
    reason = summary(out)["reason"]
    # B stops A, follows A's rollback, then creates its own: A names B when B's deployment exists by
    # the time A explains its end, else says that a stop request (B's replace) ended it.
    named = f"replaced by another release (MANUAL_STOP): deployment {replacing}" in reason
    assert named or "stopped by a StopDeployment request (MANUAL_STOP: another release's" in reason, reason
    assert "fix the cause" not in reason

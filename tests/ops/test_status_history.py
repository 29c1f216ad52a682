"""`orchestrator status` and `history` end to end through the CLI against the sandbox."""

from __future__ import annotations

import pytest
from ops_support import (
    lifecycle,
    of_kind,
    ops,
    primary_task_definition,
    release,
    start_release,
    summary,
    wait_for,
    wait_status,
)

pytestmark = pytest.mark.e2e


def test_status_before_during_and_after_a_deployment(sandbox) -> None:
    out = sandbox.service_outputs()
    blue, green = out["blue_target_group_name"], out["green_target_group_name"]
    initial = primary_task_definition(sandbox)

    res = ops(sandbox, "status")
    assert res.returncode == 0, res.stderr
    (st,) = of_kind(res.stdout, "status")
    assert st["task_definition"] == initial
    assert st["production"] == {blue: 100.0}
    assert st["active_deployment"] is None and st["last_deployment"] is None
    assert st["running"] == st["desired"] > 0
    assert [ts["status"] for ts in st["task_sets"]] == ["PRIMARY"]

    image = out["ecr_repository_url"] + ":status-2"
    dep = start_release(sandbox, image)
    wait_for("Install to finish", lambda: lifecycle(sandbox, dep).get("Install") == "Succeeded")
    res = ops(sandbox, "status")
    assert res.returncode == 0, res.stderr
    (st,) = of_kind(res.stdout, "status")
    assert st["active_deployment"]["deployment_id"] == dep
    assert st["active_deployment"]["status"] == "InProgress"
    assert st["active_deployment"]["image"] == image
    names = [e["name"] for e in st["lifecycle"]]
    assert names[:2] == ["BeforeInstall", "Install"]
    assert summary(res.stdout)["active_deployment_id"] == dep

    # Plain lines say the same for people.
    plain = sandbox.cli("status", "--sandbox", "--output", "plain")
    assert plain.returncode == 0, plain.stderr
    assert f"active deployment {dep}" in plain.stdout

    wait_status(sandbox, dep, "Succeeded")
    res = ops(sandbox, "status")
    (st,) = of_kind(res.stdout, "status")
    new_td = primary_task_definition(sandbox)
    assert new_td != initial
    assert st["task_definition"] == new_td and st["image"] == image
    assert st["production"].get(green) == 100.0
    assert st["active_deployment"] is None
    assert st["last_deployment"]["deployment_id"] == dep
    assert st["last_deployment"]["status"] == "Succeeded"
    assert summary(res.stdout)["last_status"] == "Succeeded"


def test_history_after_releases_and_an_auto_rollback(sandbox) -> None:
    repo = sandbox.service_outputs()["ecr_repository_url"]
    sha1, sha2 = "1" * 40, "2" * 40
    ok = release(sandbox, f"{repo}:h1", env={"GITHUB_SHA": sha1})
    assert ok.returncode == 0, ok.stderr
    first = summary(ok.stdout)
    # The next release fails after traffic moved; the group rolls it back by itself.
    sandbox.control.set_faults(fail_at="AfterAllowTraffic", message="smoke test failed")
    bad = release(sandbox, f"{repo}:h2", env={"GITHUB_SHA": sha2})
    assert bad.returncode == 1, bad.stderr
    failed = summary(bad.stdout)
    rollback_id = failed["rollback_deployment_id"]
    wait_status(sandbox, rollback_id, "Succeeded")

    res = ops(sandbox, "history")
    assert res.returncode == 0, res.stderr
    entries = of_kind(res.stdout, "history_entry")
    assert [e["deployment_id"] for e in entries] == [rollback_id, failed["deployment_id"], first["deployment_id"]]
    rb, fail, good = entries
    assert good["status"] == "Succeeded" and good["origin"] == "user"
    assert good["git_sha"] == sha1 and good["image"] == f"{repo}:h1"
    assert good["task_definition"] == first["task_definition_arn"]
    assert good["duration_s"] is not None and good["duration_s"] > 0
    assert fail["status"] == "Failed" and fail["git_sha"] == sha2
    assert fail["rolled_back_by"] == rollback_id
    assert "smoke test failed" in fail["error"] or fail["error"]
    assert rb["origin"] == "autoRollback" and rb["rollback_of"] == fail["deployment_id"]
    # The rollback put back what ran before: the first release's task definition and image.
    assert rb["task_definition"] == first["task_definition_arn"]
    assert rb["image"] == f"{repo}:h1"
    assert summary(res.stdout)["count"] == 3

    limited = ops(sandbox, "history", "--limit", "1")
    assert [e["deployment_id"] for e in of_kind(limited.stdout, "history_entry")] == [rollback_id]


def test_history_of_a_group_without_deployments_says_so(sandbox) -> None:
    res = sandbox.cli("history", "--sandbox", "--output", "plain")
    assert res.returncode == 0, res.stderr
    assert "no deployments yet" in res.stdout

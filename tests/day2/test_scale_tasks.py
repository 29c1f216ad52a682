"""`orchestrator scale` and `tasks` end to end against the sandbox."""

from __future__ import annotations

import json

import pytest
from support.jsonlines import of_kind, summary

pytestmark = pytest.mark.e2e


def _outputs_for(sandbox, tmp_path, key: str, **service: str) -> str:
    """An outputs file with one more service (what `adopt` writes beside the files)."""
    doc = sandbox.outputs()
    base = dict(doc["services"]["value"]["web"])
    base.update(service)
    doc["services"]["value"] = {key: base}
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_scale_a_rolling_service_to_3_waits_until_steady(sandbox, legacy, tmp_path) -> None:
    outputs = _outputs_for(
        sandbox, tmp_path, "legacy", service_name="legacy", container_name="app", deployment_engine="ecs"
    )
    res = sandbox.cli("scale", "--outputs-file", outputs, "--count", "3", "-o", "json")
    assert res.returncode == 0, res.stdout + res.stderr
    assert summary(res.stdout)["running"] == 3
    assert of_kind(res.stdout, "scale_progress")[-1]["running"] == 3
    svc = sandbox.client("ecs").describe_services(cluster=legacy.cluster, services=["legacy"])["services"][0]
    assert svc["desiredCount"] == 3 and svc["runningCount"] == 3


def test_scale_is_refused_during_a_codedeploy_deployment(sandbox, tmp_path) -> None:
    image = sandbox.service_outputs()["ecr_repository_url"] + ":scale"
    sandbox.control.time_scale(1.0)  # the deployment stays in progress while the test looks
    started = sandbox.cli("release", "--sandbox", "--image", image, "--no-wait", "-o", "json")
    assert started.returncode == 0, started.stderr
    dep = summary(started.stdout)["deployment_id"]
    before = len(sandbox.mutating_calls())
    res = sandbox.cli("scale", "--sandbox", "--count", "3")
    assert res.returncode == 2
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith(f"error: service web: CodeDeploy deployment {dep} is ")
    assert "desired count is not changed during a deployment" in line
    assert line.endswith("follow it with `orchestrator status --watch --sandbox --service web`)")
    assert len(sandbox.mutating_calls()) == before
    ecs = sandbox.client("ecs")
    assert ecs.describe_services(cluster="demo", services=["web"])["services"][0]["desiredCount"] == 2


def test_scale_bad_count_is_one_line_with_nothing_written(sandbox) -> None:
    res = sandbox.cli("scale", "--sandbox", "--count", "-1")
    assert res.returncode == 2 and res.stderr.strip() == "error: --count -1: expected 0 to 5000 tasks"
    assert sandbox.mutating_calls() == []


def test_scale_no_wait_says_it_did_not_wait(sandbox) -> None:
    res = sandbox.cli("scale", "--sandbox", "--count", "3", "--no-wait", "-o", "json")
    assert res.returncode == 0, res.stderr
    assert summary(res.stdout)["message"] == "desired count set to 3, not waited for"
    ecs = sandbox.client("ecs")
    assert ecs.describe_services(cluster="demo", services=["web"])["services"][0]["desiredCount"] == 3


def test_scale_a_codedeploy_service_to_3_ends_with_3_running_tasks(sandbox) -> None:
    import time

    res = sandbox.cli("scale", "--sandbox", "--count", "3", "-o", "json")
    assert res.returncode == 0, res.stdout + res.stderr
    assert summary(res.stdout)["running"] == 3
    deadline = time.monotonic() + 60
    while True:
        listed = sandbox.cli("tasks", "--sandbox", "-o", "json")
        running = [t for t in of_kind(listed.stdout, "task") if t["last_status"] == "RUNNING"]
        if len(running) == 3:
            break
        assert time.monotonic() < deadline, listed.stdout
        time.sleep(0.3)


def test_scale_warns_when_application_auto_scaling_manages_the_count(sandbox) -> None:
    sandbox.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId="service/demo/web",
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=2,
        MaxCapacity=6,
    )
    res = sandbox.cli("scale", "--sandbox", "--count", "4", "-o", "plain")
    assert res.returncode == 0, res.stdout + res.stderr
    assert (
        "warning: web: Application Auto Scaling manages its count (min 2, max 6): its policies may change 4 again"
        in res.stdout
    )

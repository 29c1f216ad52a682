"""The ECS engine through the real CLI: linear weights, --wait-until an ECS stage, hook and circuit-breaker
failures in one line, and the validation before any write."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sandbox_ecs.helpers import function_in

pytestmark = pytest.mark.e2e


def _configure(sandbox_ecs: Any, **config: Any) -> None:
    sandbox_ecs.client("ecs").update_service(cluster="demo", service="web", deploymentConfiguration=config)
    sandbox_ecs.control.reset_requests()


def _events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_a_linear_release_shows_intermediate_production_weights(sandbox_ecs: Any) -> None:
    # Each 5-minute step bake lasts 3 s at the tests' time scale (0.01): seen by the watcher.
    _configure(sandbox_ecs, strategy="LINEAR", linearConfiguration={"stepPercent": 50.0, "stepBakeTimeInMinutes": 5})
    out = sandbox_ecs.cli("release", "--sandbox", "--image", "nginx:1.27", "--output", "json")
    assert out.returncode == 0, out.stderr + out.stdout
    events = _events(out.stdout)
    weights = [e["green_weight"] for e in events if e["event"] == "deployment_progress"]
    assert 50.0 in weights and weights[-1] == 100.0
    waits = [e for e in events if e["event"] == "wait"]
    assert any("linear step at 50%" in w["label"] and 0 < w["remaining_s"] <= w["total_s"] == 3.0 for w in waits), waits


def test_wait_until_bake_time_returns_once_production_traffic_has_shifted(sandbox_ecs: Any) -> None:
    _configure(sandbox_ecs, strategy="BLUE_GREEN", bakeTimeInMinutes=600)
    out = sandbox_ecs.cli(
        "release", "--sandbox", "--image", "nginx:1.27", "--wait-until", "bake-time", "--output", "json"
    )
    assert out.returncode == 0, out.stderr + out.stdout
    summary = _events(out.stdout)[-1]
    assert summary["status"] == "traffic-shifted"
    assert "ends after its bake time" in summary["message"]
    dep = sandbox_ecs.client("ecs").describe_service_deployments(serviceDeploymentArns=[summary["deployment_id"]])
    assert dep["serviceDeployments"][0]["lifecycleStage"] == "BAKE_TIME"


def test_a_failing_lambda_hook_names_the_function_and_the_stage(sandbox_ecs: Any) -> None:
    arn = function_in(sandbox_ecs, "demo")
    role = sandbox_ecs.service_outputs()["ecs_infrastructure_role_arn"]
    hook = {"hookTargetArn": arn, "roleArn": role, "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}
    _configure(sandbox_ecs, strategy="BLUE_GREEN", bakeTimeInMinutes=1, lifecycleHooks=[hook])
    sandbox_ecs.control._call("POST", "/ecs/hooks", {"hook": arn, "result": "fail"})
    out = sandbox_ecs.cli("release", "--sandbox", "--image", "nginx:1.27", "--output", "plain")
    assert out.returncode == 1, out.stderr + out.stdout
    error = next(line for line in out.stderr.splitlines() if line.startswith("error:"))
    assert "rolled back: Lifecycle hook" in error and arn in error and "POST_TEST_TRAFFIC_SHIFT" in error


def test_a_rolling_release_whose_tasks_never_start_is_stopped_by_the_circuit_breaker(sandbox_ecs: Any) -> None:
    _configure(sandbox_ecs, strategy="ROLLING", deploymentCircuitBreaker={"enable": True, "rollback": True})
    sandbox_ecs.control._call("POST", "/ecs/faults", {"no_start": True})
    out = sandbox_ecs.cli("release", "--sandbox", "--image", "nginx:1.27", "--output", "plain")
    assert out.returncode == 1, out.stderr + out.stdout
    error = next(line for line in out.stderr.splitlines() if line.startswith("error:"))
    assert "ECS deployment circuit breaker: tasks failed to start." in error


def test_wiring_the_outputs_do_not_match_is_refused_before_any_write(sandbox_ecs: Any) -> None:
    doc = sandbox_ecs.outputs()
    web = doc["services"]["value"]["web"]
    web["prod_listener_rule_arn"] = web["test_listener_rule_arn"]
    sandbox_ecs.outputs_path.write_text(json.dumps(doc))
    out = sandbox_ecs.cli("release", "--sandbox", "--image", "nginx:1.27", "--output", "plain")
    assert out.returncode == 2, out.stderr + out.stdout
    assert "prod_listener_rule_arn" in out.stderr
    assert sandbox_ecs.mutating_calls() == []


def test_an_ecs_stage_is_refused_for_a_codedeploy_service(sandbox: Any) -> None:
    out = sandbox.cli("release", "--sandbox", "--image", "nginx:1.27", "--wait-until", "bake-time")
    assert out.returncode == 2 and "deploys through codedeploy" in out.stderr
    assert sandbox.mutating_calls() == []


def test_status_shows_the_rules_weights_and_the_service_deployment(sandbox_ecs: Any) -> None:
    out = sandbox_ecs.cli("release", "--sandbox", "--image", "nginx:1.27", "--output", "json")
    assert out.returncode == 0, out.stderr
    deployment = _events(out.stdout)[-1]["deployment_id"]
    status = sandbox_ecs.cli("status", "--sandbox", "--output", "json")
    assert status.returncode == 0, status.stderr
    report = next(e for e in _events(status.stdout) if e["event"] == "status")
    svc = sandbox_ecs.service_outputs()
    assert report["production"] == {svc["green_target_group_name"]: 100.0, svc["blue_target_group_name"]: 0.0}
    last = report["last_deployment"]
    assert last["deployment_id"] == deployment and last["status"] == "Succeeded"


def test_all_atomic_over_a_codedeploy_and_an_ecs_service_undoes_both_when_one_fails(sandbox_mixed: Any) -> None:
    sandbox_mixed.client("ecs").update_service(
        cluster="demo", service="api", deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1}
    )
    sandbox_mixed.control._call("POST", "/ecs/faults", {"service": "api", "fail_at": "BAKE_TIME", "message": "p99 up"})
    before = {
        name: sandbox_mixed.client("ecs").describe_services(cluster="demo", services=[name])["services"][0][
            "taskDefinition"
        ]
        for name in ("web", "api")
    }
    out = sandbox_mixed.cli("release", "--sandbox", "--all", "--atomic", "--image", "nginx:1.27", "--output", "json")
    assert out.returncode == 1, out.stderr + out.stdout
    summary = _events(out.stdout)[-1]
    services = summary["services"]
    assert services["api"]["status"] == "Failed" and "p99 up" in services["api"]["reason"]
    assert services["web"]["status"] == "RolledBack", services["web"]
    for name in ("web", "api"):
        now = sandbox_mixed.client("ecs").describe_services(cluster="demo", services=[name])["services"][0]
        assert now["taskDefinition"] == before[name], name


def test_on_timeout_stop_rolls_the_service_deployment_back_and_exits_3(sandbox_ecs: Any) -> None:
    _configure(sandbox_ecs, strategy="BLUE_GREEN", bakeTimeInMinutes=600)
    out = sandbox_ecs.cli(
        "release", "--sandbox", "--image", "nginx:1.27", "--timeout", "3", "--on-timeout", "stop", "--output", "plain"
    )
    assert out.returncode == 3, out.stderr + out.stdout
    arn = sandbox_ecs.client("ecs").list_service_deployments(cluster="demo", service="web")["serviceDeployments"][0]
    assert arn["status"] == "ROLLBACK_SUCCESSFUL"
    service = sandbox_ecs.client("ecs").describe_services(cluster="demo", services=["web"])["services"][0]
    assert service["taskDefinition"].endswith(":1")


def test_a_rolling_release_reports_the_new_revisions_running_tasks(sandbox_ecs: Any) -> None:
    sandbox_ecs.client("ecs").update_service(cluster="demo", service="web", desiredCount=4)
    _configure(sandbox_ecs, strategy="ROLLING", maximumPercent=150, minimumHealthyPercent=100)
    out = sandbox_ecs.cli("release", "--sandbox", "--image", "nginx:1.27", "--output", "plain")
    assert out.returncode == 0, out.stderr + out.stdout
    assert "4/4 tasks of the new revision running" in out.stdout


def test_doctor_checks_the_ecs_native_wiring(sandbox_ecs: Any) -> None:
    ok = sandbox_ecs.cli("doctor", "--sandbox", "--output", "json")
    checks = {e["check"]: e for e in _events(ok.stdout) if e["event"] == "doctor_check"}
    assert checks["ECS-native wiring (deployment_engine ecs)"]["status"] == "pass", checks
    doc = sandbox_ecs.outputs()
    doc["services"]["value"]["web"]["ecs_infrastructure_role_arn"] = "arn:aws:iam::123456789012:role/other"
    sandbox_ecs.outputs_path.write_text(json.dumps(doc))
    bad = sandbox_ecs.cli("doctor", "--sandbox", "--output", "json")
    assert bad.returncode != 0
    checks = {e["check"]: e for e in _events(bad.stdout) if e["event"] == "doctor_check"}
    wiring = checks["ECS-native wiring (deployment_engine ecs)"]
    assert wiring["status"] == "fail" and "ecs_infrastructure_role_arn" in wiring["detail"]


@pytest.mark.parametrize("output", ["rich", "github", "plain"])
def test_every_reporter_renders_an_ecs_release(sandbox_ecs: Any, output: str, tmp_path: Any) -> None:
    _configure(sandbox_ecs, strategy="BLUE_GREEN", bakeTimeInMinutes=1)
    summary = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)} if output == "github" else {}
    mode = "plain" if output == "github" else output
    out = sandbox_ecs.cli("release", "--sandbox", "--image", "nginx:1.27", "--output", mode, env=env)
    assert out.returncode == 0, out.stderr + out.stdout
    assert "Traceback" not in out.stderr + out.stdout
    text = out.stdout + out.stderr + (summary.read_text() if output == "github" else "")
    assert ":service-deployment/" in text
    if output != "rich":
        assert "demo/web" in text


def test_a_pre_task_runs_before_the_update_service(sandbox_ecs: Any) -> None:
    _configure(sandbox_ecs, strategy="BLUE_GREEN", bakeTimeInMinutes=1)
    out = sandbox_ecs.cli(
        "release", "--sandbox", "--image", "nginx:1.27", "--pre-task", "migrate --up", "--output", "json"
    )
    assert out.returncode == 0, out.stderr + out.stdout
    kinds = [e["event"] for e in _events(out.stdout)]
    assert kinds.index("task_stopped") < kinds.index("deployment_created")


def test_a_release_while_a_service_deployment_runs_is_refused_by_if_active(sandbox_ecs: Any) -> None:
    _configure(sandbox_ecs, strategy="BLUE_GREEN", bakeTimeInMinutes=600)
    first = sandbox_ecs.cli("release", "--sandbox", "--image", "nginx:1.27", "--no-wait", "--output", "json")
    assert first.returncode == 0, first.stderr
    sandbox_ecs.control.reset_requests()
    second = sandbox_ecs.cli("release", "--sandbox", "--image", "nginx:1.28", "--output", "plain")
    assert second.returncode != 0 and "in progress" in second.stderr, second.stderr
    assert "UpdateService" not in sandbox_ecs.counts().get("ecs", {})


def test_if_active_wait_follows_the_running_deployment_then_releases(sandbox_ecs: Any) -> None:
    _configure(sandbox_ecs, strategy="BLUE_GREEN", bakeTimeInMinutes=2)
    first = sandbox_ecs.cli("release", "--sandbox", "--image", "nginx:1.27", "--no-wait", "--output", "json")
    assert first.returncode == 0, first.stderr
    second = sandbox_ecs.cli("release", "--sandbox", "--image", "nginx:1.28", "--if-active", "wait", "--output", "json")
    assert second.returncode == 0, second.stderr + second.stdout
    listed = sandbox_ecs.client("ecs").list_service_deployments(cluster="demo", service="web")["serviceDeployments"]
    assert [d["status"] for d in listed[:2]] == ["SUCCESSFUL", "SUCCESSFUL"]
    status = sandbox_ecs.cli("status", "--sandbox", "--watch", "--output", "plain")
    assert status.returncode == 0, status.stderr


def test_rollback_all_over_mixed_engines_redeploys_each_previous_revision(sandbox_mixed: Any) -> None:
    sandbox_mixed.client("ecs").update_service(
        cluster="demo", service="api", deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1}
    )
    first = sandbox_mixed.cli("release", "--sandbox", "--all", "--image", "nginx:1.27", "--output", "json")
    assert first.returncode == 0, first.stderr + first.stdout
    back = sandbox_mixed.cli("rollback", "--sandbox", "--all", "--output", "json")
    assert back.returncode == 0, back.stderr + back.stdout
    for name in ("web", "api"):
        service = sandbox_mixed.client("ecs").describe_services(cluster="demo", services=[name])["services"][0]
        assert service["taskDefinition"].endswith(":1"), (name, service["taskDefinition"])

"""`orchestrator sandbox up -s web:ecs -s api` and `sandbox ecs-fault` as users run them (real processes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from orchestrator.contract import load_outputs_file
from orchestrator.sandbox.process import is_launcher, pid_alive

pytestmark = pytest.mark.e2e


def _cli(state: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"ORCHESTRATOR_SANDBOX_DIR": str(state), "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_up_provisions_the_ecs_native_variant_per_service(tmp_path: Path, repo_root: Path) -> None:
    state = tmp_path / "state"
    up = _cli(state, repo_root, "sandbox", "up", "-s", "web:ecs", "-s", "api", "--time-scale", "0.01")
    info = json.loads((state / "server.json").read_text()) if (state / "server.json").exists() else {}
    pid = int(info.get("pid", 0))
    try:
        assert up.returncode == 0, up.stderr
        outputs = load_outputs_file(state / "outputs.json")
        web, api = outputs.services["web"], outputs.services["api"]
        assert web.deployment_engine == "ecs" and api.deployment_engine == "codedeploy"
        assert web.codedeploy_app_name == "" and web.codedeploy_deployment_group_name == ""
        assert api.prod_listener_rule_arn == "" and api.codedeploy_app_name == "demo-api"
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=info["region"]
        )
        ecs = session.client("ecs", endpoint_url=info["endpoint"])
        elbv2 = session.client("elbv2", endpoint_url=info["endpoint"])
        iam = session.client("iam", endpoint_url=info["endpoint"])
        service = ecs.describe_services(cluster="demo", services=["web"])["services"][0]
        assert service["deploymentController"] == {"type": "ECS"}
        assert service["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"
        green = elbv2.describe_target_groups(Names=[web.green_target_group_name])["TargetGroups"][0]
        blue = elbv2.describe_target_groups(Names=[web.blue_target_group_name])["TargetGroups"][0]
        assert service["loadBalancers"][0]["targetGroupArn"] == blue["TargetGroupArn"]
        assert service["loadBalancers"][0]["advancedConfiguration"] == {
            "alternateTargetGroupArn": green["TargetGroupArn"],
            "productionListenerRule": web.prod_listener_rule_arn,
            "testListenerRule": web.test_listener_rule_arn,
            "roleArn": web.ecs_infrastructure_role_arn,
        }
        for rule, listener in (
            (web.prod_listener_rule_arn, web.prod_listener_arn),
            (web.test_listener_rule_arn, web.test_listener_arn),
        ):
            found = elbv2.describe_rules(ListenerArn=listener)["Rules"]
            weighted = next(r for r in found if r["RuleArn"] == rule)["Actions"][0]["ForwardConfig"]["TargetGroups"]
            assert {g["TargetGroupArn"]: g["Weight"] for g in weighted} == {
                blue["TargetGroupArn"]: 100,
                green["TargetGroupArn"]: 0,
            }
        role = iam.get_role(RoleName=web.ecs_infrastructure_role_arn.rsplit("/", 1)[-1])["Role"]
        assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ecs.amazonaws.com"}

        bad = _cli(state, repo_root, "sandbox", "ecs-fault", "--fail-at", "INSTALL")
        assert bad.returncode == 2 and "not an ECS lifecycle stage" in bad.stderr + bad.stdout
        td = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
        keep = ("family", "containerDefinitions", "networkMode", "requiresCompatibilities", "cpu", "memory")
        new = ecs.register_task_definition(**{k: td[k] for k in keep if k in td})["taskDefinition"]["taskDefinitionArn"]

        def deploy() -> str:
            updated = ecs.update_service(cluster="demo", service="web", taskDefinition=new, forceNewDeployment=True)
            return str(updated["service"]["currentServiceDeployment"])

        def finished(arn: str) -> dict:
            deadline = time.monotonic() + 30
            while True:
                dep = ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]
                if dep["status"] in ("ROLLBACK_SUCCESSFUL", "SUCCESSFUL", "STOPPED") or time.monotonic() > deadline:
                    return dict(dep)
                time.sleep(0.1)

        # Tasks that never start, no circuit breaker: the deployment stays in progress (as on ECS).
        armed = _cli(state, repo_root, "sandbox", "ecs-fault", "-s", "web", "--no-start")
        assert armed.returncode == 0, armed.stderr
        assert json.loads(armed.stdout)["next"]["web"]["no_start"].startswith("CannotPullContainerError")
        stuck = deploy()
        status = _cli(state, repo_root, "sandbox", "status", "--output", "json")
        assert json.loads(status.stdout)["active_deployments"]["web"] == [stuck]
        ecs.stop_service_deployment(serviceDeploymentArn=stuck, stopType="ROLLBACK")
        assert finished(stuck)["status"] == "ROLLBACK_SUCCESSFUL"

        armed = _cli(state, repo_root, "sandbox", "ecs-fault", "-s", "web", "--fail-at", "post-test-traffic-shift")
        assert json.loads(armed.stdout)["next"]["web"]["fail_at"] == "POST_TEST_TRAFFIC_SHIFT"
        dep = finished(deploy())
        assert dep["status"] == "ROLLBACK_SUCCESSFUL"
        assert "POST_TEST_TRAFFIC_SHIFT" in dep["rollback"]["reason"]
        cleared = _cli(state, repo_root, "sandbox", "ecs-fault", "--clear")
        assert cleared.returncode == 0 and "ECS faults cleared" in cleared.stdout
    finally:
        _cli(state, repo_root, "sandbox", "down")
        if pid and pid_alive(pid) and is_launcher(pid):
            os.kill(pid, signal.SIGKILL)

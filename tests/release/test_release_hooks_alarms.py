"""`orchestrator release` on groups with CloudWatch alarms and AppSpec hooks: the real CLI in a subprocess
against the sandbox over HTTP.

AWS sources: CodeDeploy user guide "Monitoring deployments with CloudWatch alarms" (an activated alarm
stops the deployment, status Stopped) and API reference AutoRollbackConfiguration
(DEPLOYMENT_STOP_ON_ALARM); user guide "AppSpec 'hooks' section for an Amazon ECS deployment" (the hook
function reports with PutLifecycleEventHookExecutionStatus, within one hour or the deployment fails).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from support.jsonlines import events, summary
from support.traffic import production_weights, serving_group

pytestmark = pytest.mark.e2e

AWS = Path(__file__).resolve().parents[2] / ".venv-tools" / "awscli" / "bin" / "aws"

HANDLER = """
import boto3

def handler(event, context):
    boto3.client("codedeploy").put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status="Succeeded",
    )
    return "validated"
"""


def appspec_with_hooks(sandbox: Any, tmp_path: Path, hooks: dict[str, str]) -> Path:
    doc = json.loads((sandbox.repo_root / "appspec.json").read_text())
    doc["Hooks"] = [{event: fn} for event, fn in hooks.items()]
    path = tmp_path / "appspec.json"
    path.write_text(json.dumps(doc))
    return path


def lambda_function(sandbox: Any, runtime: str = "python3.11", source: str = HANDLER) -> str:
    """CreateFunction in moto with a zip of Python code, as a user's Terraform would."""
    name = "validate-" + uuid.uuid4().hex[:6]
    role = sandbox.client("iam").create_role(
        RoleName=f"{name}-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hook.py", source)
    sandbox.client("lambda").create_function(
        FunctionName=name, Runtime=runtime, Role=role, Handler="hook.handler", Code={"ZipFile": buffer.getvalue()}
    )
    return name


def release(sandbox: Any, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return sandbox.cli("release", "--sandbox", "--output", "json", *args, timeout=timeout)


def last_error(res: subprocess.CompletedProcess[str]) -> str:
    return res.stderr.strip().splitlines()[-1]


def test_an_alarm_that_goes_to_alarm_stops_the_release_and_production_stays_put(sandbox: Any) -> None:
    out = sandbox.service_outputs()
    cd = sandbox.client("codedeploy")
    app, group_name = out["codedeploy_app_name"], out["codedeploy_deployment_group_name"]
    alarm = "web-5xx-" + uuid.uuid4().hex[:6]
    sandbox.client("cloudwatch").put_metric_alarm(
        AlarmName=alarm,
        MetricName="HTTPCode_Target_5XX_Count",
        Namespace="AWS/ApplicationELB",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    # The provisioned group monitors the alarm, rolls back on an alarm stop, and holds its next deployment
    # in Ready (tests/ops hold deployments the same way) so the alarm goes off mid-deployment.
    group = cd.get_deployment_group(applicationName=app, deploymentGroupName=group_name)["deploymentGroupInfo"]
    blue_green = dict(group["blueGreenDeploymentConfiguration"])
    blue_green["deploymentReadyOption"] = {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 60}
    cd.update_deployment_group(
        applicationName=app,
        currentDeploymentGroupName=group_name,
        blueGreenDeploymentConfiguration=blue_green,
        alarmConfiguration={"enabled": True, "alarms": [{"name": alarm}]},
        autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]},
    )
    original = serving_group(sandbox)
    assert original is not None

    image = sandbox.pushed("alarmed")
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "release", "--sandbox", "--output", "json", "--image", image],
        env=sandbox.env(),
        cwd=sandbox.repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not cd.list_deployments(
            applicationName=app, deploymentGroupName=group_name, includeOnlyStatuses=["Ready"]
        )["deployments"]:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the deployment never reached Ready"
            time.sleep(0.1)
        # As a user would: the AWS CLI's set-alarm-state (boto3 when the tool venv is absent).
        if AWS.exists():
            env = {**sandbox.env(), "PATH": os.environ.get("PATH", "")}
            subprocess.run(
                [str(AWS), "cloudwatch", "set-alarm-state", "--alarm-name", alarm, "--state-value", "ALARM",
                 "--state-reason", "5xx spike"],
                env=env, check=True, capture_output=True, timeout=60,
            )  # fmt: skip
        else:
            sandbox.client("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="5xx spike")
        stdout, stderr = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, stderr
    error = stderr.strip().splitlines()[-1]
    assert error.startswith("error: deployment d-")
    assert f"stopped: CloudWatch alarm {alarm} in ALARM" in error
    s = summary(stdout)
    assert s["status"] == "Stopped"
    assert alarm in s["reason"]
    assert s["rollback_status"] == "Succeeded"
    # Production is on the original target group, fully.
    assert serving_group(sandbox) == original
    assert production_weights(sandbox)[original] == 100.0

    history = sandbox.cli("history", "--sandbox", "--output", "json")
    assert history.returncode == 0, history.stderr
    entries = [e for e in events(history.stdout) if e["event"] == "history_entry"]
    rollback = next(e for e in entries if e["deployment_id"] == s["rollback_deployment_id"])
    assert rollback["origin"] == "alarmRollback"
    stopped = next(e for e in entries if e["deployment_id"] == s["deployment_id"])
    assert stopped["error"].startswith("ALARM_ACTIVE")


@pytest.mark.parametrize(("result", "wording"), [("fail", "ScriptFailed"), ("silent", "within one hour")])
def test_a_hook_that_fails_or_stays_silent_fails_the_release_naming_it(
    sandbox: Any, tmp_path: Path, result: str, wording: str
) -> None:
    fn = lambda_function(sandbox, runtime="nodejs20.x")  # answered by a rule, as `sandbox fault --hook` sets
    rule = sandbox.cli("sandbox", "fault", "--hook", "afterinstall", "--hook-result", result, "--hook-delay", "5")
    assert rule.returncode == 0, rule.stderr
    assert "AfterInstall" in rule.stdout
    if result == "silent":
        sandbox.control.time_scale(0.002)  # one simulated hour: ~7 s (the next test's sandbox resets it)
    before = serving_group(sandbox)
    appspec = appspec_with_hooks(sandbox, tmp_path, {"AfterInstall": fn})
    image = sandbox.pushed(f"hook-{result}")
    res = release(sandbox, "--image", image, "--appspec", str(appspec))
    assert res.returncode == 1, res.stderr
    error = last_error(res)
    assert f"AfterInstall failed (hook function {fn})" in error
    assert wording in error
    s = summary(res.stdout)
    assert s["status"] == "Failed"
    assert fn in s["reason"]
    assert serving_group(sandbox) == before


def test_a_hook_function_that_reports_succeeded_lets_the_release_succeed(sandbox: Any, tmp_path: Path) -> None:
    fn = lambda_function(sandbox)  # Python; the sandbox runs its handler, which calls the sandbox back
    before = serving_group(sandbox)
    appspec = appspec_with_hooks(sandbox, tmp_path, {"BeforeAllowTraffic": fn, "AfterAllowTraffic": fn})
    image = sandbox.pushed("validated")
    res = release(sandbox, "--image", image, "--appspec", str(appspec))
    assert res.returncode == 0, res.stderr
    s = summary(res.stdout)
    assert s["status"] == "Succeeded"
    after = serving_group(sandbox)
    assert after is not None and after != before

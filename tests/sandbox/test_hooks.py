"""AppSpec hooks of ECS deployments: the engine invokes the function and waits for its report, over HTTP.

AWS sources (cited per test):
- CodeDeploy user guide, "AppSpec 'hooks' section for an Amazon ECS deployment": the hook function gets
  `DeploymentId` and `LifecycleEventHookExecutionId`, reports with PutLifecycleEventHookExecutionStatus,
  and "the deployment is considered to have failed if CodeDeploy is not notified ... within one hour".
- API reference, PutLifecycleEventHookExecutionStatus (and botocore's model of it): only Succeeded and
  Failed can be passed; errors InvalidLifecycleEventHookExecutionStatusException,
  InvalidLifecycleEventHookExecutionIdException, LifecycleEventAlreadyCompletedException,
  DeploymentIdRequiredException, DeploymentDoesNotExistException.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support.clients import client
from support.stack import Stack, make_stack

from orchestrator.sandbox.control import SandboxControl

TERMINAL = ("Succeeded", "Failed", "Stopped")

# A hook function as users write them: read the two ids, validate, report.
HANDLER = """
import json, os
import boto3

def handler(event, context):
    out = os.environ.get("OUT")
    if out:
        with open(out, "w") as f:
            json.dump(event, f)
    report = os.environ.get("REPORT")
    if not report:
        return "silent"
    # The event must carry exactly the two ids the user guide names.
    if sorted(event) != ["DeploymentId", "LifecycleEventHookExecutionId"]:
        report = "Failed"
    boto3.client("codedeploy").put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status=report,
    )
    return report
"""


@pytest.fixture
def rules(control: SandboxControl) -> Iterator[SandboxControl]:
    control.clear_hook_rules()
    yield control
    control.clear_hook_rules()


def _zip(source: str, name: str = "hook.py") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, source)
    return buffer.getvalue()


def make_function(endpoint: str, env: dict[str, str] | None = None, runtime: str = "python3.11") -> str:
    """A Lambda function in moto (CreateFunction with a zip), as a user's Terraform would create it."""
    iam, lam = client(endpoint, "iam"), client(endpoint, "lambda")
    name = "hook-" + uuid.uuid4().hex[:8]
    role = iam.create_role(
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
    lam.create_function(
        FunctionName=name,
        Runtime=runtime,
        Role=role,
        Handler="hook.handler",
        Code={"ZipFile": _zip(HANDLER)},
        Timeout=30,
        Environment={"Variables": env or {}},
    )
    return name


def deploy_with_hooks(stack: Stack, hooks: dict[str, str]) -> str:
    content = stack.appspec(stack.register_revision(), hooks=[{event: fn} for event, fn in hooks.items()])
    return str(
        stack.c("codedeploy").create_deployment(
            applicationName=stack.app,
            deploymentGroupName=stack.group,
            revision={
                "revisionType": "AppSpecContent",
                "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()},
            },
        )["deploymentId"]
    )


def event_of(stack: Stack, deployment_id: str, name: str) -> dict[str, Any]:
    return next(e for e in stack.target(deployment_id)["lifecycleEvents"] if e["lifecycleEventName"] == name)


def wait_file(path: Path, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text():
        assert time.monotonic() < deadline, "the hook function was never invoked"
        time.sleep(0.05)
    return dict(json.loads(path.read_text()))


def test_a_hook_naming_a_missing_function_fails_its_event(endpoint: str, rules: SandboxControl) -> None:
    # User guide (ECS hooks): CodeDeploy invokes the named Lambda function; one that does not exist cannot
    # run. The wording is Lambda's ResourceNotFoundException ("Function not found: ARN"); the lifecycle
    # diagnostics' code for it is not documented (the sandbox uses ScriptMissing).
    stack = make_stack(endpoint)
    dep = deploy_with_hooks(stack, {"AfterInstall": "no-such-function"})
    info = stack.wait(dep, TERMINAL)
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "HOOK_EXECUTION_FAILURE"
    assert "AfterInstall" in info["errorInformation"]["message"]
    assert "no-such-function" in info["errorInformation"]["message"]
    event = event_of(stack, dep, "AfterInstall")
    assert event["status"] == "Failed"
    assert event["diagnostics"]["errorCode"] == "ScriptMissing"
    assert event["diagnostics"]["scriptName"] == "no-such-function"
    assert event["diagnostics"]["message"] == (
        "Function not found: arn:aws:lambda:eu-west-1:123456789012:function:no-such-function"
    )
    assert event_of(stack, dep, "BeforeInstall")["status"] == "Succeeded"
    assert event_of(stack, dep, "AllowTestTraffic")["status"] == "Skipped"


def test_a_python_function_that_reports_succeeded_lets_the_deployment_finish(
    endpoint: str, rules: SandboxControl, tmp_path: Path
) -> None:
    # User guide (ECS hooks): the function gets {DeploymentId, LifecycleEventHookExecutionId} and calls
    # PutLifecycleEventHookExecutionStatus; the sample reports Succeeded.
    stack = make_stack(endpoint)
    out = tmp_path / "event.json"
    fn = make_function(endpoint, {"REPORT": "Succeeded", "OUT": str(out)})
    dep = deploy_with_hooks(stack, {"BeforeAllowTraffic": fn})
    info = stack.wait(dep, TERMINAL, timeout=90)
    assert info["status"] == "Succeeded", info.get("errorInformation")
    event = json.loads(out.read_text())
    assert event["DeploymentId"] == dep
    assert sorted(event) == ["DeploymentId", "LifecycleEventHookExecutionId"]
    assert event_of(stack, dep, "BeforeAllowTraffic")["status"] == "Succeeded"
    assert stack.prod_weights() == {stack.blue_tg: 0, stack.green_tg: 100}


def test_a_function_that_reports_failed_fails_the_event_before_traffic_moves(
    endpoint: str, rules: SandboxControl
) -> None:
    # User guide (ECS hooks): "Lambda validation functions return Succeeded or Failed"; a Failed
    # BeforeAllowTraffic hook ends the deployment before production traffic shifts.
    stack = make_stack(endpoint)
    fn = make_function(endpoint, {"REPORT": "Failed"})
    dep = deploy_with_hooks(stack, {"BeforeAllowTraffic": fn})
    info = stack.wait(dep, TERMINAL, timeout=90)
    assert info["status"] == "Failed"
    event = event_of(stack, dep, "BeforeAllowTraffic")
    assert event["status"] == "Failed"
    assert event["diagnostics"]["errorCode"] == "ScriptFailed"
    assert event["diagnostics"]["scriptName"] == fn
    assert fn in info["errorInformation"]["message"]
    assert event_of(stack, dep, "AllowTraffic")["status"] == "Skipped"
    assert stack.prod_weights().get(stack.green_tg, 0) == 0  # production never reached the replacement


def test_put_status_validates_as_the_api_reference_documents(
    endpoint: str, rules: SandboxControl, tmp_path: Path
) -> None:
    # API reference, PutLifecycleEventHookExecutionStatus: only Succeeded/Failed may be passed; the errors
    # below are the ones botocore's model lists for it, with their documented meaning.
    stack = make_stack(endpoint)
    out = tmp_path / "event.json"
    fn = make_function(endpoint, {"OUT": str(out)})  # invoked, but never reports
    dep = deploy_with_hooks(stack, {"AfterAllowTestTraffic": fn})
    execution_id = wait_file(out)["LifecycleEventHookExecutionId"]
    cd = stack.c("codedeploy")

    def code(**params: Any) -> str:
        with pytest.raises(ClientError) as err:
            cd.put_lifecycle_event_hook_execution_status(**params)
        return str(err.value.response["Error"]["Code"])

    ok = {"deploymentId": dep, "lifecycleEventHookExecutionId": execution_id}
    assert code(**ok, status="InProgress") == "InvalidLifecycleEventHookExecutionStatusException"
    assert code(deploymentId=dep, lifecycleEventHookExecutionId="bm9wZQ==", status="Succeeded") == (
        "InvalidLifecycleEventHookExecutionIdException"
    )
    assert code(lifecycleEventHookExecutionId=execution_id, status="Succeeded") == "DeploymentIdRequiredException"
    assert code(deploymentId="d-XXXXXXXXX", lifecycleEventHookExecutionId=execution_id, status="Succeeded") == (
        "DeploymentDoesNotExistException"
    )
    assert event_of(stack, dep, "AfterAllowTestTraffic")["status"] == "InProgress"  # still waiting

    answer = cd.put_lifecycle_event_hook_execution_status(**ok, status="Succeeded")
    assert answer["lifecycleEventHookExecutionId"] == execution_id
    assert code(**ok, status="Failed") == "LifecycleEventAlreadyCompletedException"
    info = stack.wait(dep, TERMINAL, timeout=90)
    assert info["status"] == "Succeeded"


def test_rules_answer_hooks_by_event_or_function(endpoint: str, rules: SandboxControl) -> None:
    # The control endpoint's rules stand for what the function reports (sandbox feature); the function must
    # still exist, as AWS must be able to invoke it.
    stack = make_stack(endpoint)
    fn = make_function(endpoint, runtime="nodejs20.x")  # not runnable here: only a rule answers it
    rules.set_hook_rule("AfterInstall", "succeed", 2)
    rules.set_hook_rule(fn, "fail", 1)
    assert rules.hook_rules()[fn] == {"result": "fail", "delay": 1.0}
    dep = deploy_with_hooks(stack, {"AfterInstall": fn})
    info = stack.wait(dep, TERMINAL)
    # The function's own rule wins over the event's.
    assert info["status"] == "Failed"
    assert event_of(stack, dep, "AfterInstall")["diagnostics"]["errorCode"] == "ScriptFailed"

    rules.clear_hook_rules()
    rules.set_hook_rule("AfterInstall", "succeed", 2)
    dep = deploy_with_hooks(stack, {"AfterInstall": fn})
    assert stack.wait(dep, TERMINAL)["status"] == "Succeeded"


def test_a_function_the_sandbox_cannot_run_fails_with_how_to_answer_it(endpoint: str, rules: SandboxControl) -> None:
    # Sandbox choice (AWS would run it): without a rule, a non-Python function fails its event loudly.
    stack = make_stack(endpoint)
    fn = make_function(endpoint, runtime="nodejs20.x")
    dep = deploy_with_hooks(stack, {"AfterInstall": fn})
    assert stack.wait(dep, TERMINAL)["status"] == "Failed"
    diagnostics = event_of(stack, dep, "AfterInstall")["diagnostics"]
    assert diagnostics["errorCode"] == "UnknownError"
    assert "orchestrator sandbox fault --hook AfterInstall" in diagnostics["message"]


def test_a_silent_hook_times_out_after_one_simulated_hour(endpoint: str, rules: SandboxControl) -> None:
    # User guide (ECS hooks): "The deployment is considered to have failed if CodeDeploy is not notified
    # by the Lambda validation function within one hour."
    stack = make_stack(endpoint)
    fn = make_function(endpoint, runtime="nodejs20.x")
    rules.set_hook_rule(fn, "silent")
    scale = rules.time_scale()
    rules.time_scale(0.002)  # one simulated hour: ~7 s
    try:
        start = time.monotonic()
        dep = deploy_with_hooks(stack, {"BeforeInstall": fn})
        time.sleep(0.5)
        assert stack.deployment(dep)["status"] == "InProgress"
        assert event_of(stack, dep, "BeforeInstall")["status"] == "InProgress"
        info = stack.wait(dep, TERMINAL, timeout=60)
        elapsed = time.monotonic() - start
    finally:
        rules.time_scale(scale)
    assert info["status"] == "Failed"
    assert elapsed >= 3600 * 0.002 * 0.9
    diagnostics = event_of(stack, dep, "BeforeInstall")["diagnostics"]
    assert diagnostics["errorCode"] == "ScriptTimedOut"
    assert "within one hour" in diagnostics["message"]


def test_bad_hook_rules_are_refused(endpoint: str, rules: SandboxControl) -> None:
    from orchestrator.sandbox.control import ControlError

    for hook, result, delay in (("AfterInstall", "maybe", None), ("", "succeed", None), ("X", "fail", -1)):
        with pytest.raises(ControlError):
            rules.set_hook_rule(hook, result, delay)
    assert rules.hook_rules() == {}


def test_the_fail_at_fault_still_fails_a_hook_event_naming_its_function(endpoint: str, rules: SandboxControl) -> None:
    # Sandbox fault (docs/sandbox-control.md): fail_at fails the event before the function is asked.
    stack = make_stack(endpoint)
    fn = make_function(endpoint, {"REPORT": "Succeeded"})
    rules.set_faults(fail_at="AfterInstall", message="smoke test said no")
    dep = deploy_with_hooks(stack, {"AfterInstall": fn})
    assert stack.wait(dep, TERMINAL)["status"] == "Failed"
    diagnostics = event_of(stack, dep, "AfterInstall")["diagnostics"]
    assert diagnostics["scriptName"] == fn
    assert diagnostics["message"] == "smoke test said no"


def test_a_report_after_the_deployment_was_stopped_is_already_completed(
    endpoint: str, rules: SandboxControl, tmp_path: Path
) -> None:
    # API reference, PutLifecycleEventHookExecutionStatus: LifecycleEventAlreadyCompletedException, "An attempt
    # to return the status of an already completed lifecycle event occurred."
    stack = make_stack(endpoint)
    out = tmp_path / "event.json"
    fn = make_function(endpoint, {"OUT": str(out)})  # never reports
    dep = deploy_with_hooks(stack, {"BeforeInstall": fn})
    execution_id = wait_file(out)["LifecycleEventHookExecutionId"]
    stack.c("codedeploy").stop_deployment(deploymentId=dep, autoRollbackEnabled=False)
    assert stack.wait(dep, TERMINAL)["status"] == "Stopped"
    with pytest.raises(ClientError) as err:
        stack.c("codedeploy").put_lifecycle_event_hook_execution_status(
            deploymentId=dep, lifecycleEventHookExecutionId=execution_id, status="Succeeded"
        )
    assert err.value.response["Error"]["Code"] == "LifecycleEventAlreadyCompletedException"


def test_a_handler_that_raises_never_reports_and_its_error_is_in_the_log_tail(
    endpoint: str, rules: SandboxControl
) -> None:
    # User guide (ECS hooks): only a PutLifecycleEventHookExecutionStatus call reports; a function that dies
    # first leaves CodeDeploy waiting out the hour. The handler's output goes to the diagnostics' logTail.
    stack = make_stack(endpoint)
    fn = make_function(endpoint, {"REPORT": "Succeeded", "OUT": "/nonexistent-dir/event.json"})  # open() raises
    scale = rules.time_scale()
    rules.time_scale(0.002)
    try:
        dep = deploy_with_hooks(stack, {"AfterInstall": fn})
        info = stack.wait(dep, TERMINAL, timeout=60)
    finally:
        rules.time_scale(scale)
    assert info["status"] == "Failed"
    diagnostics = event_of(stack, dep, "AfterInstall")["diagnostics"]
    assert diagnostics["errorCode"] == "ScriptTimedOut"
    assert "FileNotFoundError" in diagnostics["logTail"]

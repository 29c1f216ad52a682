"""Every AWS call the orchestrator makes (and CodeDeploy and the smoke test make for it) is allowed by
the role that makes it, as the Terraform root renders that role (applied against moto).

The calls are recorded from end-to-end runs of the CLI against the sandbox (iam_calls.py); each is
turned into what IAM evaluates per the Service Authorization Reference (parliament's copy): the action,
the resource's ARN (or "*" for an action without a resource type) and the context keys our policies'
conditions test (ecs:cluster, iam:PassedToService). iam_eval.py decides as IAM does (test_iam_eval.py).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import parliament
import pytest
import stack_roles
import tfapply
from iam_calls import Call, Names, RecordingProxy, engine_calls, requests_of
from iam_eval import evaluate
from support.jsonlines import summary

from orchestrator.contract import parse_outputs

pytestmark = [
    pytest.mark.slow,
    pytest.mark.e2e,
    pytest.mark.skipif(
        os.environ.get("ORCHESTRATOR_TF_APPLY_TESTS") == "0",
        reason="ORCHESTRATOR_TF_APPLY_TESTS=0: not applying the root against moto (about 90 s)",
    ),
]

# Calls no IAM policy governs (GetCallerIdentity) or that only evaluate policies (doctor's simulation,
# which the release role is not granted: doctor says "cannot check").
NEEDS_NO_GRANT = {"sts:GetCallerIdentity", "iam:SimulatePrincipalPolicy"}
P = tfapply.PROJECT


def denials(calls: list[Call], policies: list[dict[str, Any]], names: Names) -> list[str]:
    """One line per distinct request of `calls` that `policies` would not allow."""
    out: dict[str, None] = {}
    for call in calls:
        if call.action in NEEDS_NO_GRANT:
            continue
        for request in requests_of(call, names):
            decision = evaluate(policies, request)
            if not decision.allowed:
                context = f" {request.context}" if request.context else ""
                out[f"{call.caller}: {request.action} on {request.resource}{context}: {decision.result}"] = None
    return list(out)


class _Healthy(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def test_listener() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _names(sandbox: Any, applied_outputs: dict[str, Any]) -> Names:
    """Sandbox names -> the applied stack's, key by key of the outputs contract (service web)."""
    mine, theirs = sandbox.service_outputs(), applied_outputs["services"]["value"]["web"]
    mapping = {str(v): str(theirs[k]) for k, v in mine.items() if isinstance(v, str) and v and theirs.get(k)}
    mapping[mine["ecr_repository_url"].split("/", 1)[1]] = theirs["ecr_repository_url"].split("/", 1)[1]
    mapping[mine["cluster_name"]] = theirs["cluster_name"]
    cd = sandbox.client("codedeploy")

    def group(deployment_id: str) -> tuple[str, str]:
        info = cd.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        return info["applicationName"], info["deploymentGroupName"]

    return Names(mapping, group)


def _through_proxy(sandbox: Any, proxy: RecordingProxy, home: Path) -> dict[str, str]:
    """Environment for CLI runs whose AWS calls go through the proxy (a sandbox state dir naming it)."""
    home.mkdir()
    info = json.loads((sandbox.sandbox_dir / "server.json").read_text())
    (home / "server.json").write_text(json.dumps({**info, "endpoint": proxy.endpoint}))
    shutil.copy(sandbox.outputs_path, home / "outputs.json")
    return {"ORCHESTRATOR_SANDBOX_DIR": str(home), "AWS_ENDPOINT_URL": proxy.endpoint}


def _hold_for_approval(sandbox: Any) -> None:
    out = sandbox.service_outputs()
    cd = sandbox.client("codedeploy")
    app, name = out["codedeploy_app_name"], out["codedeploy_deployment_group_name"]
    group = cd.get_deployment_group(applicationName=app, deploymentGroupName=name)["deploymentGroupInfo"]
    blue_green = dict(group["blueGreenDeploymentConfiguration"])
    blue_green["deploymentReadyOption"] = {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 60}
    cd.update_deployment_group(
        applicationName=app, currentDeploymentGroupName=name, blueGreenDeploymentConfiguration=blue_green
    )


def _wait_ready(sandbox: Any, deployment_id: str) -> None:
    cd = sandbox.client("codedeploy")
    deadline = time.monotonic() + 60
    while cd.get_deployment(deploymentId=deployment_id)["deploymentInfo"]["status"] != "Ready":
        assert time.monotonic() < deadline, f"{deployment_id} never reached Ready"
        time.sleep(0.1)


def _run_everything(sandbox: Any, env: dict[str, str], tmp_path: Path, listener: str) -> None:
    """What CI does: release (smoke test, pre-task), run, history, status, rollback, approve, stop,
    and a release whose writes' answers are lost."""
    out = sandbox.service_outputs()
    lam = sandbox.client("lambda")
    fn = out["smoke_test_function_name"]
    variables = lam.get_function_configuration(FunctionName=fn)["Environment"]["Variables"]
    variables.update(TEST_LISTENER_URL=listener, RETRIES="0")
    lam.update_function_configuration(FunctionName=fn, Environment={"Variables": variables})
    appspec = json.loads((sandbox.repo_root / "appspec.json").read_text())
    appspec["Hooks"] = [{"AfterAllowTestTraffic": "${smoke_test_function_name}"}]
    (tmp_path / "appspec.json").write_text(json.dumps(appspec))

    def cli(*args: str, code: int = 0, command: tuple[str, ...] = ()) -> dict[str, Any]:
        r = sandbox.cli(*args, "--sandbox", "--output", "json", *command, env=env, timeout=180)
        assert r.returncode == code, f"{args}: {r.stderr}{r.stdout[-2000:]}"
        return summary(r.stdout)

    cli("release", "--image", sandbox.pushed("1111111"), "--appspec", str(tmp_path / "appspec.json"))
    cli("release", "--image", sandbox.pushed("2222222"), "--force", "--pre-task", "migrate")
    sandbox.control.set_task_faults(run_seconds=86_400)
    cli("run", "--live", "--timeout", "1", code=3, command=("--", "sleep", "1d"))  # stopped at its timeout
    cli("history")
    cli("status")
    cli("rollback")
    _hold_for_approval(sandbox)
    held = cli("release", "--image", sandbox.pushed("3333333"), "--no-wait")["deployment_id"]
    _wait_ready(sandbox, held)
    cli("status")  # mid-deployment: the deployment's targets
    cli("approve")
    held = cli("release", "--image", sandbox.pushed("4444444"), "--no-wait")["deployment_id"]
    _wait_ready(sandbox, held)
    cli("stop", "--no-rollback")
    sandbox.control.set_faults(error_after_rate=1.0, error_after_actions=["CreateDeployment", "RegisterTaskDefinition"])
    try:
        cli("release", "--image", sandbox.pushed("5555555"), "--force", code=1)  # stopped by the held group's wait
    finally:
        sandbox.control.clear_faults()


def test_every_call_is_allowed_by_the_role_that_makes_it(
    applied: Any, sandbox: Any, tmp_path: Path, test_listener: str
) -> None:
    outputs = json.loads(applied.outputs_json)
    parse_outputs(outputs, "moto")  # the applied stack keeps the contract
    names = _names(sandbox, outputs)
    before = sandbox.counts()
    with RecordingProxy(sandbox.endpoint) as proxy, engine_calls() as by_codedeploy:
        _run_everything(sandbox, _through_proxy(sandbox, proxy, tmp_path / "home"), tmp_path, test_listener)
    cli_calls = list(proxy.calls)
    # The hook function's report reaches the sandbox directly: what the sandbox counted and the proxy did not.
    counted = sandbox.counts().get("codedeploy", {}).get("PutLifecycleEventHookExecutionStatus", 0)
    counted -= before.get("codedeploy", {}).get("PutLifecycleEventHookExecutionStatus", 0)
    assert counted >= 1, "the smoke test never reported"
    assert not [c for c in cli_calls if c.action == "codedeploy:PutLifecycleEventHookExecutionStatus"]
    by_hook = [Call("codedeploy:PutLifecycleEventHookExecutionStatus", {}, "smoke test")]

    used = {c.action for c in cli_calls}
    assert {"codedeploy:StopDeployment", "codedeploy:ContinueDeployment", "codedeploy:ListDeploymentTargets",
            "codedeploy:CreateDeployment", "ecs:RunTask", "ecs:StopTask", "ecs:RegisterTaskDefinition",
            "logs:GetLogEvents", "codedeploy:ListDeployments"} <= used, sorted(used)  # fmt: skip
    assert {"ecs:CreateTaskSet", "elasticloadbalancing:ModifyListener", "lambda:InvokeFunction"} <= {
        c.action for c in by_codedeploy
    }

    ci = stack_roles.policies(applied.endpoint, f"{P}-ci-deploy")
    roles = {
        f"{P}-ci-deploy": (ci, cli_calls),
        f"{P}-web-smoke-test": (stack_roles.policies(applied.endpoint, f"{P}-web-smoke-test"), by_hook),
        f"{P}-web-codedeploy": (stack_roles.policies(applied.endpoint, f"{P}-web-codedeploy"), by_codedeploy),
    }
    problems = [f"{role}: {line}" for role, (docs, calls) in roles.items() for line in denials(calls, docs, names)]
    assert problems == [], "denied:\n" + "\n".join(problems)
    # The check bites: the same calls against the role without StopDeployment are refused.
    stripped = denials(cli_calls, stack_roles.without_action(ci, "codedeploy:StopDeployment"), names)
    assert stripped == ["cli: codedeploy:StopDeployment on *: implicitDeny"]


def test_the_build_role_allows_a_push(applied: Any) -> None:
    """The build job's calls: the orchestrator's (GetAuthorizationToken, DescribeImages) and the registry
    push's, as ECR's user guide lists them ("Required IAM permissions for pushing an image")."""
    outputs = json.loads(applied.outputs_json)
    repo = outputs["services"]["value"]["web"]["ecr_repository_url"].split("/", 1)[1]
    names = Names({}, lambda d: ("", ""))
    push = ["BatchCheckLayerAvailability", "InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload", "PutImage",
            "BatchGetImage", "DescribeImages"]  # fmt: skip
    calls = [Call("ecr:GetAuthorizationToken", {}, "build")] + [
        Call(f"ecr:{a}", {"repositoryName": repo}, "build") for a in push
    ]
    docs = stack_roles.policies(applied.endpoint, f"{P}-ci-build")
    assert denials(calls, docs, names) == []
    # ...and nothing a release does.
    assert denials([Call("codedeploy:StopDeployment", {}, "build")], docs, names)


def test_the_applied_policies_lint_clean(applied: Any) -> None:
    """parliament finds no RESOURCE_MISMATCH (an action scoped to a resource type it does not act on)."""
    roles = [f"{P}-ci-deploy", f"{P}-ci-build"] + [
        f"{P}-{s}-{r}" for s in ("web", "api") for r in ("smoke-test", "codedeploy")
    ]
    found = []
    for role in roles:
        documents = stack_roles.inline_policies(applied.endpoint, role)
        assert documents or role.endswith("-codedeploy"), f"{role} has no inline policy"
        for name, doc in documents.items():
            for finding in parliament.analyze_policy_string(json.dumps(doc)).findings:
                if finding.issue == "RESOURCE_MISMATCH":
                    found.append(f"{role}/{name}: {finding.issue} {finding.detail}")
    assert found == []

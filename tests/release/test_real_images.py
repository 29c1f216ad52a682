"""Only real images and real values ship (issue 17 item 7), through the CLI against the sandbox:

- `render > f; deploy f` never registers a redacted `***` value: refused (exit 2), nothing written;
  `render --out-file f; deploy f` ships the real value.
- An ECR tag never pushed is refused before the first write (exit 2, zero mutating calls); once pushed
  (`orchestrator sandbox push`) the same release deploys. An image without a tag or digest is refused.
- Another registry is asked through its manifest endpoint: a missing manifest refuses, an unreachable
  registry is one "cannot verify" warning and the release goes on.
- In the sandbox a task whose ECR image was never pushed stops with CannotPullContainerError, as on ECS.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from support.jsonlines import events, summary

pytestmark = pytest.mark.e2e


def release(sandbox: Any, *args: str, timeout: float = 120) -> Any:
    return sandbox.cli("release", "--sandbox", "--output", "json", *args, timeout=timeout)


def _env_of(sandbox: Any, arn: str) -> dict[str, str]:
    td = sandbox.client("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
    return {e["name"]: e["value"] for e in td["containerDefinitions"][0].get("environment", [])}


# ---- a registry of our own: the distribution spec's manifest endpoint --------------------------------
class _Registry(BaseHTTPRequestHandler):
    held: ClassVar[set[str]] = set()  # "name:reference" it holds
    basic: str | None = None  # base64 user:password it requires, if any

    def do_HEAD(self) -> None:
        if self.basic and self.headers.get("Authorization") != f"Basic {self.basic}":
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="test"')
            self.end_headers()
            return
        path = self.path.removeprefix("/v2/")
        name, _, ref = path.partition("/manifests/")
        self.send_response(200 if f"{name}:{ref}" in self.held else 404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def registry() -> Iterator[tuple[str, type[_Registry]]]:
    handler = type("Registry", (_Registry,), {"held": {"demo/web:v1"}, "basic": None})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


# ---- redacted values ----------------------------------------------------------------------------------
def test_render_to_stdout_then_deploy_is_refused_and_render_out_file_deploys_the_real_value(
    sandbox: Any, tmp_path: Path
) -> None:
    image = sandbox.pushed("values")
    env = ["--container-env", "GREETING=hello-real"]
    piped = sandbox.cli("render", "--sandbox", "--image", image, *env)
    assert piped.returncode == 0, piped.stderr
    stdout_file = tmp_path / "td.json"
    stdout_file.write_text(piped.stdout)
    assert "hello-real" not in piped.stdout  # stdout stays redacted (it lands in CI logs)

    res = sandbox.cli("deploy", str(stdout_file), "--sandbox", "--output", "json")
    assert res.returncode == 2, res.stdout + res.stderr
    text = res.stdout + res.stderr
    assert "is redacted, not the value to deploy" in text and "render --out-file" in text
    assert sandbox.mutating_calls() == []

    real = tmp_path / "real.json"
    assert sandbox.cli("render", "--sandbox", "--image", image, *env, "--out-file", str(real)).returncode == 0
    res = sandbox.cli("deploy", str(real), "--sandbox", "--output", "json", "--no-wait")
    assert res.returncode == 0, res.stderr
    registered = summary(res.stdout)["task_definition_arn"]
    shipped = _env_of(sandbox, registered)
    assert shipped["GREETING"] == "hello-real" and not any(v.startswith("***") for v in shipped.values())


# ---- ECR images ---------------------------------------------------------------------------------------
def test_an_unpushed_tag_is_refused_with_zero_writes_and_deploys_once_pushed(sandbox: Any) -> None:
    image = f"{sandbox.service_outputs()['ecr_repository_url']}:never-pushed"
    res = release(sandbox, "--image", image)
    assert res.returncode == 2, res.stdout + res.stderr
    assert f"image {image} is not in its registry" in res.stdout + res.stderr
    assert "ImageNotFoundException" in res.stdout + res.stderr
    assert sandbox.mutating_calls() == []
    assert sandbox.counts()["ecr"]["DescribeImages"] >= 1  # it asked ECR

    pushed = sandbox.cli("sandbox", "push", image)
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.startswith(f"pushed {image} (sha256:")
    res = release(sandbox, "--image", image)
    assert res.returncode == 0, res.stderr
    assert summary(res.stdout)["status"] == "Succeeded"
    assert not [e for e in events(res.stdout) if "cannot verify" in str(e.get("text", ""))]


@pytest.mark.parametrize("command", ["release", "run"])
def test_an_image_without_tag_or_digest_is_refused_before_any_write(sandbox: Any, command: str) -> None:
    repo = sandbox.service_outputs()["ecr_repository_url"]
    if command == "release":
        res = release(sandbox, "--image", repo)
    else:
        res = sandbox.cli("run", "--sandbox", "--image", repo, "--output", "json", "--", "echo", "hi")
    assert res.returncode == 2, res.stdout + res.stderr
    assert "has no tag or digest" in res.stdout + res.stderr and ":latest explicitly" in res.stdout + res.stderr
    assert sandbox.mutating_calls() == []


def test_run_refuses_an_unpushed_image_with_zero_writes(sandbox: Any) -> None:
    image = f"{sandbox.service_outputs()['ecr_repository_url']}:migrate-missing"
    res = sandbox.cli("run", "--sandbox", "--image", image, "--output", "json", "--", "echo", "hi")
    assert res.returncode == 2, res.stdout + res.stderr
    assert "not in its registry" in res.stdout + res.stderr
    assert sandbox.mutating_calls() == []


def test_sandbox_push_refuses_a_repository_the_sandbox_does_not_have(sandbox: Any) -> None:
    repo = sandbox.service_outputs()["ecr_repository_url"].rsplit("/", 1)[0]
    res = sandbox.cli("sandbox", "push", f"{repo}/nosuch:1")
    assert res.returncode == 2
    assert "no ECR repository 'demo/nosuch' in the sandbox (repositories: demo/web)" in res.stderr


# ---- other registries -----------------------------------------------------------------------------------
def test_another_registrys_missing_manifest_refuses_and_a_held_one_passes(sandbox: Any, registry: Any) -> None:
    host, _ = registry
    missing = release(sandbox, "--image", f"{host}/demo/web:v2", "--dry-run")
    assert missing.returncode == 2, missing.stdout + missing.stderr
    assert f"{host} has no manifest v2 for demo/web" in missing.stdout + missing.stderr
    held = release(sandbox, "--image", f"{host}/demo/web:v1", "--dry-run")
    assert held.returncode == 0, held.stderr
    assert not [e for e in events(held.stdout) if "cannot verify" in str(e.get("text", ""))]


def test_registry_credentials_come_from_the_docker_config(sandbox: Any, registry: Any, tmp_path: Path) -> None:
    import base64

    host, handler = registry
    handler.basic = base64.b64encode(b"ci:s3cret").decode()
    res = release(sandbox, "--image", f"{host}/demo/web:v1", "--dry-run")
    assert res.returncode == 0, res.stderr
    warned = [e["text"] for e in events(res.stdout) if "cannot verify" in str(e.get("text", ""))]
    assert warned == [f"cannot verify {host}/demo/web:v1: {host} answered HTTP 401"]

    (tmp_path / "config.json").write_text(json.dumps({"auths": {host: {"auth": handler.basic}}}))
    res = sandbox.cli(
        "release", "--sandbox", "-o", "json", "--image", f"{host}/demo/web:v1", "--dry-run",
        env={"DOCKER_CONFIG": str(tmp_path)},
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert not [e for e in events(res.stdout) if "cannot verify" in str(e.get("text", ""))]


def test_an_unreachable_registry_is_one_warning_and_the_release_goes_on(sandbox: Any) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    image = f"127.0.0.1:{port}/demo/web:v1"
    res = release(sandbox, "--image", image, "--no-wait")
    assert res.returncode == 0, res.stderr
    warned = [e for e in events(res.stdout) if "cannot verify" in str(e.get("text", ""))]
    assert len(warned) == 1 and warned[0]["level"] == "warning"
    assert warned[0]["text"].startswith(f"cannot verify {image}: 127.0.0.1:{port} did not answer")


# ---- the sandbox's tasks pull only what its ECR holds ---------------------------------------------------
def _run_task(sandbox: Any, image: str) -> dict[str, Any]:
    ecs = sandbox.client("ecs")
    svc = ecs.describe_services(cluster="demo", services=["web"])["services"][0]
    live = ecs.describe_task_definition(taskDefinition=svc["taskSets"][0]["taskDefinition"])["taskDefinition"]
    keep = ("family", "containerDefinitions", "networkMode", "requiresCompatibilities", "cpu", "memory")
    doc = {k: live[k] for k in keep if k in live} | {"executionRoleArn": live["executionRoleArn"]}
    doc["containerDefinitions"][0]["image"] = image
    arn = ecs.register_task_definition(**doc)["taskDefinition"]["taskDefinitionArn"]
    network = svc["taskSets"][0]["networkConfiguration"]
    task = ecs.run_task(cluster="demo", taskDefinition=arn, launchType="FARGATE", networkConfiguration=network)
    task_arn = task["tasks"][0]["taskArn"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = ecs.describe_tasks(cluster="demo", tasks=[task_arn])["tasks"][0]
        if found["lastStatus"] in ("RUNNING", "STOPPED"):
            return dict(found)
        time.sleep(0.05)
    raise AssertionError("the task neither ran nor stopped")


def test_a_task_whose_ecr_image_was_never_pushed_stops_with_cannot_pull(sandbox: Any) -> None:
    absent = f"{sandbox.service_outputs()['ecr_repository_url']}:not-there"
    task = _run_task(sandbox, absent)
    assert task["lastStatus"] == "STOPPED" and task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith("CannotPullContainerError: ")
    assert absent in task["stoppedReason"]

    started = _run_task(sandbox, sandbox.pushed("there"))  # RUNNING, or already done with its command
    assert "startedAt" in started and started.get("stopCode") != "TaskFailedToStart"


def test_a_deployment_whose_ecr_image_was_never_pushed_fails_at_install_with_cannot_pull(sandbox: Any) -> None:
    """Past the orchestrator's check (CodeDeploy called directly), the sandbox fails Install as AWS does:
    the replacement tasks never start, CodeDeploy gives up on the task set."""
    import hashlib

    out = sandbox.service_outputs()
    absent = f"{out['ecr_repository_url']}:deployed-missing"
    ecs, codedeploy = sandbox.client("ecs"), sandbox.client("codedeploy")
    svc = ecs.describe_services(cluster=out["cluster_name"], services=[out["service_name"]])["services"][0]
    live = ecs.describe_task_definition(taskDefinition=svc["taskSets"][0]["taskDefinition"])["taskDefinition"]
    keep = ("family", "containerDefinitions", "networkMode", "requiresCompatibilities", "cpu", "memory")
    doc = {k: live[k] for k in keep if k in live} | {"executionRoleArn": live["executionRoleArn"]}
    doc["containerDefinitions"][0]["image"] = absent
    arn = ecs.register_task_definition(**doc)["taskDefinition"]["taskDefinitionArn"]
    lb = {"ContainerName": out["container_name"], "ContainerPort": out["container_port"]}
    resource = {
        "TargetService": {"Type": "AWS::ECS::Service", "Properties": {"TaskDefinition": arn, "LoadBalancerInfo": lb}}
    }
    content = json.dumps({"version": 0.0, "Resources": [resource]})
    dep = codedeploy.create_deployment(
        applicationName=out["codedeploy_app_name"],
        deploymentGroupName=out["codedeploy_deployment_group_name"],
        revision={
            "revisionType": "AppSpecContent",
            "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()},
        },
    )["deploymentId"]
    deadline = time.monotonic() + 90
    info = codedeploy.get_deployment(deploymentId=dep)["deploymentInfo"]
    while info["status"] not in ("Failed", "Succeeded", "Stopped") and time.monotonic() < deadline:
        time.sleep(0.1)
        info = codedeploy.get_deployment(deploymentId=dep)["deploymentInfo"]
    assert info["status"] == "Failed" and info["errorInformation"]["code"] == "ECS_UPDATE_ERROR"
    target = codedeploy.get_deployment_target(
        deploymentId=dep, targetId=f"{out['cluster_name']}:{out['service_name']}"
    )["deploymentTarget"]["ecsTarget"]
    install = next(e for e in target["lifecycleEvents"] if e["lifecycleEventName"] == "Install")
    assert (
        "CannotPullContainerError" in install["diagnostics"]["message"] and absent in install["diagnostics"]["message"]
    )

"""A corpus of bad inputs to `orchestrator release` (and `deploy`): each gives one line naming the file and
the field, exit code 2, and not a single mutating AWS call (the sandbox's request accounting proves it).

The CLI runs in-process through orchestrator.cli.run (the same entry point as the `orchestrator` script)
against the sandbox over HTTP; one provisioned stack is shared by the whole corpus, since nothing here
may write to it — and the request counts are reset before each case.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support import cli

from orchestrator.cli import run

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack(sandbox_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The sandbox fixture's environment, provisioned once for the module."""
    # tests/conftest.py by path: several conftest modules share the name `conftest`.
    spec = importlib.util.spec_from_file_location("_shared_conftest", REPO / "tests" / "conftest.py")
    assert spec is not None and spec.loader is not None
    conftest = sys.modules.setdefault("_shared_conftest", importlib.util.module_from_spec(spec))
    if not hasattr(conftest, "SandboxEnv"):
        spec.loader.exec_module(conftest)

    from orchestrator.sandbox.control import SandboxControl
    from orchestrator.sandbox.state import SandboxInfo

    state_dir = tmp_path_factory.mktemp("sandbox-corpus")
    env = conftest.SandboxEnv(
        endpoint=sandbox_server.endpoint,
        region=conftest.REGION,
        outputs_path=state_dir / "outputs.json",
        sandbox_dir=state_dir,
        control=SandboxControl(sandbox_server.endpoint),
        server=sandbox_server,
        time_scale=sandbox_server.time_scale,
    )
    env.reprovision()
    info = SandboxInfo(pid=0, port=int(sandbox_server.port), endpoint=sandbox_server.endpoint, time_scale=1.0)
    (state_dir / "server.json").write_text(json.dumps(info.__dict__))
    yield env


def _template() -> dict[str, Any]:
    return json.loads((REPO / "taskdef.json").read_text())


def _appspec() -> dict[str, Any]:
    return json.loads((REPO / "appspec.json").read_text())


Case = Callable[[Path, Any], list[str]]


def taskdef(mutate: Callable[[dict[str, Any]], Any], *extra: str) -> Case:
    def build(tmp: Path, stack: Any) -> list[str]:
        doc = _template()
        mutate(doc)
        path = tmp / "taskdef.json"
        path.write_text(json.dumps(doc))
        return ["release", "--sandbox", "--image", "repo/web:1", "--taskdef", str(path), *extra]

    return build


def taskdef_text(text: str) -> Case:
    def build(tmp: Path, stack: Any) -> list[str]:
        path = tmp / "taskdef.json"
        path.write_text(text)
        return ["release", "--sandbox", "--image", "repo/web:1", "--taskdef", str(path)]

    return build


def appspec(
    mutate: Callable[[dict[str, Any]], Any] | None = None, text: str | None = None, name: str = "appspec.json"
) -> Case:
    def build(tmp: Path, stack: Any) -> list[str]:
        path = tmp / name
        if text is not None:
            path.write_text(text)
        else:
            doc = _appspec()
            assert mutate is not None
            mutate(doc)
            path.write_text(json.dumps(doc))
        return ["release", "--sandbox", "--image", "repo/web:1", "--appspec", str(path)]

    return build


def flags(*args: str) -> Case:
    return lambda tmp, stack: ["release", "--sandbox", *args]


def outputs(mutate: Callable[[dict[str, Any]], Any]) -> Case:
    def build(tmp: Path, stack: Any) -> list[str]:
        doc = stack.outputs()
        mutate(doc["services"]["value"]["web"])
        path = tmp / "outputs.json"
        path.write_text(json.dumps(doc))
        return ["release", "--outputs-file", str(path), "--image", "repo/web:1"]

    return build


def outputs_doc(mutate: Callable[[dict[str, Any]], Any]) -> Case:
    """The whole outputs document changed (aws_region, say)."""

    def build(tmp: Path, stack: Any) -> list[str]:
        doc = stack.outputs()
        mutate(doc)
        path = tmp / "outputs.json"
        path.write_text(json.dumps(doc))
        return ["release", "--outputs-file", str(path), "--image", "repo/web:1"]

    return build


def outputs_path(make: Callable[[Path], Path]) -> Case:
    """--outputs-file pointing at something that is not a readable outputs file."""
    return lambda tmp, stack: ["release", "--outputs-file", str(make(tmp)), "--image", "repo/web:1"]


def _binary(tmp: Path) -> Path:
    path = tmp / "outputs.bin"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 64)
    return path


def _unreadable(tmp: Path) -> Path:
    path = tmp / "outputs.json"
    path.write_text("{}")
    path.chmod(0)
    return path


def _region(value: str) -> Callable[[dict[str, Any]], Any]:
    def set_region(doc: dict[str, Any]) -> None:
        if isinstance(doc["aws_region"], dict):
            doc["aws_region"]["value"] = value
        else:
            doc["aws_region"] = value

    return set_region


def _c0(d: dict[str, Any]) -> dict[str, Any]:
    return d["containerDefinitions"][0]


def _props(d: dict[str, Any]) -> dict[str, Any]:
    return d["Resources"][0]["TargetService"]["Properties"]


CORPUS = [
    pytest.param(taskdef_text('{"family": "x",}'), "taskdef.json:1:16: invalid JSON", id="taskdef-json-syntax"),
    pytest.param(taskdef_text("[1, 2]"), "taskdef.json: expected a JSON object", id="taskdef-not-object"),
    pytest.param(taskdef(lambda d: d.update(familly="x")), "taskdef.json: familly: unknown field", id="unknown-key"),
    pytest.param(taskdef(lambda d: d.pop("family")), "taskdef.json: family: required field missing", id="no-family"),
    pytest.param(
        taskdef(lambda d: _c0(d)["portMappings"][0].update(containerPort="80")),
        'taskdef.json: containerDefinitions[0].portMappings[0].containerPort: expected int, got "80"',
        id="port-as-string",
    ),
    pytest.param(
        taskdef(lambda d: _c0(d).update(imagee="x")),
        "taskdef.json: containerDefinitions[0].imagee: unknown field",
        id="unknown-container-key",
    ),
    pytest.param(
        taskdef(lambda d: _c0(d).update(essential="yes")),
        'containerDefinitions[0].essential: expected boolean, got "yes"',
        id="essential-string",
    ),
    pytest.param(
        taskdef(lambda d: d.update(memory=512)), "taskdef.json: memory: expected string, got int", id="memory-int"
    ),
    pytest.param(taskdef(lambda d: d.update(networkMode="awsvp")), "networkMode: 'awsvp' is not one of", id="enum"),
    pytest.param(
        taskdef(lambda d: d.update(containerDefinitions=[])), "containerDefinitions: at least one", id="no-containers"
    ),
    pytest.param(
        taskdef(lambda d: d["containerDefinitions"].append({"name": "sidecar"})),
        "containerDefinitions[1].image: required field missing",
        id="sidecar-without-image",
    ),
    pytest.param(
        taskdef(lambda d: d["containerDefinitions"].append({"name": "web", "image": "busybox:1", "essential": False})),
        "containerDefinitions[1].name: duplicate container name 'web'",
        id="duplicate-container",
    ),
    pytest.param(
        taskdef(lambda d: d.update(taskRoleArn="${task_role}")),
        "taskdef.json: taskRoleArn: unknown placeholder ${task_role}; known: cluster_name",
        id="unknown-placeholder",
    ),
    pytest.param(
        taskdef(lambda d: d.update(family="${}")), "taskdef.json: family: malformed placeholder", id="bad-placeholder"
    ),
    pytest.param(
        lambda tmp, stack: ["release", "--sandbox"],
        "taskdef.json: containerDefinitions[0].image: unresolved placeholder ${image} (pass --image)",
        id="image-placeholder-without-image",
    ),
    pytest.param(
        taskdef(lambda d: d.update(networkMode="bridge")), "networkMode: FARGATE requires 'awsvpc'", id="fargate-bridge"
    ),
    pytest.param(
        taskdef(lambda d: d.pop("cpu")), "taskdef.json: cpu: FARGATE requires a task-level cpu", id="fargate-no-cpu"
    ),
    pytest.param(
        taskdef(lambda d: d.pop("memory")),
        "taskdef.json: memory: FARGATE requires a task-level memory",
        id="fargate-no-memory",
    ),
    pytest.param(taskdef(lambda d: d.update(family="demo web")), "family: 'demo web' must be", id="family-chars"),
    pytest.param(
        taskdef(lambda d: _c0(d)["portMappings"][0].update(hostPort=80)),
        "portMappings[0].hostPort: must equal containerPort (8080) in awsvpc mode",
        id="awsvpc-host-port",
    ),
    pytest.param(
        taskdef(lambda d: _c0(d)["portMappings"][0].update(containerPort=70000)),
        "portMappings[0].containerPort: 70000 is not a port",
        id="port-range",
    ),
    pytest.param(
        taskdef(lambda d: _c0(d).update(environment={"A": "1"}), "--container-env", "B=2"),
        "containerDefinitions[0].environment: expected a list",
        id="environment-not-list",
    ),
    pytest.param(
        flags("--image", "repo/web:1", "--container", "api"),
        "taskdef.json: containerDefinitions: no container named 'api' (--container); containers: web",
        id="unknown-container-flag",
    ),
    pytest.param(
        flags("--image", "repo/web:1", "--container-env", "NOEQUALS"),
        "--container-env: expected KEY=VALUE with KEY a variable name",
        id="env-pair",
    ),
    pytest.param(flags("--image", "repo/web 1"), "--image: invalid image reference 'repo/web 1'", id="image-reference"),
    pytest.param(
        flags("--image", "repo/web:"), "--image: invalid image reference 'repo/web:': tag ''", id="image-empty-tag"
    ),
    pytest.param(
        flags("--image", "repo/web:-rc1"),
        "invalid image reference 'repo/web:-rc1': tag '-rc1' must be",
        id="image-tag-dash",
    ),
    pytest.param(flags("--image", "registry:5000/web:1.0:2"), "tag '1.0:2' must be 1-128 letters", id="image-two-tags"),
    pytest.param(flags("--image", "repo/web:" + "t" * 129), "must be 1-128 letters", id="image-tag-too-long"),
    pytest.param(
        flags("--image", "repo/web@sha256:abc123"),
        "digest 'sha256:abc123' is not algorithm:hex (sha256: 64 lowercase hex digits)",
        id="image-short-digest",
    ),
    pytest.param(
        flags("--image", "repo/web@latest"), "digest 'latest' is not algorithm:hex", id="image-digest-no-algo"
    ),
    pytest.param(flags("--image", ":1"), "invalid image reference ':1': no repository name", id="image-no-name"),
    pytest.param(
        taskdef(
            lambda d: d["containerDefinitions"].append({"name": "sidecar", "image": "busybox:.1", "essential": False})
        ),
        "containerDefinitions[1].image: invalid image reference 'busybox:.1': tag '.1' must be",
        id="taskdef-image-tag",
    ),
    pytest.param(
        taskdef(lambda d: _c0(d).update(command=["x" * 70_000])),
        "taskdef.json: the rendered task definition is 69.",
        id="taskdef-over-64-kib",
    ),
    pytest.param(
        taskdef(lambda d: None, "--container-env", "BLOB=" + "y" * 66_000),
        "ECS accepts at most 64 KiB",
        id="taskdef-over-64-kib-by-env",
    ),
    pytest.param(
        outputs_doc(_region("not a region!")),
        "outputs.json: output 'aws_region' 'not a region!' is not an AWS region name (like eu-west-1)",
        id="region-format",
    ),
    pytest.param(outputs_doc(_region("EU-WEST-1")), "'EU-WEST-1' is not an AWS region name", id="region-case"),
    pytest.param(outputs_path(lambda tmp: tmp), "is a directory, not an outputs file", id="outputs-directory"),
    pytest.param(outputs_path(_binary), "outputs.bin: not a text file", id="outputs-binary"),
    pytest.param(
        outputs_path(lambda tmp: _binary(tmp) / "outputs.json"), "cannot read the outputs file", id="outputs-not-a-dir"
    ),
    pytest.param(
        outputs_path(_unreadable),
        "outputs.json: cannot read the outputs file (permission denied)",
        id="outputs-unreadable",
        marks=pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode"),
    ),
    pytest.param(
        flags("--image", "repo/web:1", "--wait-until", "soon"), "--wait-until 'soon' is not one of", id="wait-until"
    ),
    pytest.param(flags("--image", "repo/web:1", "--timeout", "0"), "Invalid value for '--timeout'", id="timeout-zero"),
    pytest.param(
        flags("--image", "repo/web:1", "--no-wait", "--wait-until", "traffic-shifted"),
        "--no-wait and --wait-until exclude each other",
        id="no-wait-and-wait-until",
    ),
    pytest.param(
        flags("--image", "repo/web:1", "--taskdef", "missing.json"),
        "missing.json: no such task definition file",
        id="taskdef-missing",
    ),
    pytest.param(
        flags("--image", "repo/web:1", "--service", "api"), "no service 'api'; services are: web", id="service"
    ),
    pytest.param(
        lambda tmp, stack: ["release", "--outputs-file", str(tmp / "nope.json"), "--image", "x:1"],
        "nope.json: no such outputs file",
        id="outputs-missing",
    ),
    pytest.param(appspec(text='{"version": 0.0,'), "appspec.json:1:17: invalid JSON", id="appspec-json-syntax"),
    pytest.param(
        appspec(text="version: 0.0\nResources: [\n", name="appspec.yaml"),
        "appspec.yaml:3:1: invalid YAML",
        id="appspec-yaml",
    ),
    pytest.param(appspec(lambda d: d.update(version=1.0)), "appspec.json: version: must be 0.0", id="appspec-version"),
    pytest.param(
        appspec(lambda d: d["Resources"].append(d["Resources"][0])),
        "appspec.json: Resources: expected exactly one resource, got 2",
        id="appspec-two-resources",
    ),
    pytest.param(
        appspec(lambda d: d["Resources"][0]["TargetService"].update(Type="AWS::Lambda::Function")),
        "Resources[0].TargetService.Type: must be AWS::ECS::Service",
        id="appspec-type",
    ),
    pytest.param(
        appspec(lambda d: _props(d)["LoadBalancerInfo"].update(ContainerName="api")),
        "LoadBalancerInfo.ContainerName: no container 'api' in the task definition",
        id="appspec-container",
    ),
    pytest.param(
        appspec(lambda d: _props(d)["LoadBalancerInfo"].update(ContainerPort=80)),
        "LoadBalancerInfo.ContainerPort: container 'web' maps no port 80",
        id="appspec-port",
    ),
    pytest.param(
        appspec(lambda d: _props(d).pop("TaskDefinition")), "Properties.TaskDefinition: required", id="appspec-taskdef"
    ),
    pytest.param(
        appspec(lambda d: d.update(Hooks=[{"BeforeDeploy": "fn"}])),
        "appspec.json: Hooks[0].BeforeDeploy: not an ECS lifecycle hook",
        id="appspec-hook",
    ),
    pytest.param(
        flags("--image", "repo/web:1", "--deployment-config", "CodeDeployDefault.Nope"),
        "--deployment-config: deployment config 'CodeDeployDefault.Nope' does not exist",
        id="config-missing",
    ),
    pytest.param(
        flags("--image", "repo/web:1", "--deployment-config", "CodeDeployDefault.LambdaAllAtOnce"),
        "deployment config 'CodeDeployDefault.LambdaAllAtOnce' is for Lambda, not ECS",
        id="config-platform",
    ),
    pytest.param(
        outputs(lambda s: s.update(codedeploy_deployment_group_name="nope")),
        "codedeploy_deployment_group_name: deployment group 'nope' does not exist in 'demo-web'",
        id="group-missing",
    ),
    pytest.param(
        outputs(lambda s: s.update(codedeploy_app_name="nope")),
        "codedeploy_app_name: CodeDeploy application 'nope' does not exist",
        id="application-missing",
    ),
    pytest.param(
        outputs(lambda s: s.update(service_name="api")),
        "deployment group demo-web/demo-web: targets demo/web, not demo/api",
        id="group-targets-other-service",
    ),
    pytest.param(
        outputs(lambda s: s.update(deployment_engine="ecs")),
        # An outputs file saying ecs for a CODE_DEPLOY service: the ECS engine's preflight refuses it.
        "web.deployment_engine is ecs, but the service's deployment controller is CODE_DEPLOY: migrate it",
        id="ecs-engine-on-a-codedeploy-service",
    ),
    pytest.param(
        lambda tmp, stack: ["deploy", str(REPO / "taskdef.json"), "--sandbox"],
        "taskdef.json: family: unresolved placeholder ${cluster_name} (render it with `orchestrator render`)",
        id="deploy-unrendered-file",
    ),
]


@pytest.mark.parametrize(("case", "message"), CORPUS)
def test_bad_input_is_refused_before_any_write(
    case: Case,
    message: str,
    stack: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key, value in stack.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(REPO)
    args = case(tmp_path, stack)
    stack.control.reset_requests()
    code = run([*args, "--output", "plain"] if args[0] in ("release", "deploy") else args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err
    assert stack.mutating_calls() == []
    lines = [line for line in err.splitlines() if line.strip()]
    if "Invalid value" not in message:  # click's own usage errors come with a usage banner
        assert len(lines) == 1 and lines[0].startswith("error: "), err


# --- inputs that once ended in a traceback or a hang (issue 20): each a subprocess, so a hang is a timeout ---

DEEP_ARRAY = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 100_000 + "1" + "}" * 100_000
# Nine anchors of nine aliases each: 9^9 values once expanded, from a file of 1 KiB.
LAUGHS = "a0: &a0 [x]\n" + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10))

Raw = Callable[[Path, Any], tuple[list[str], dict[str, str]]]


def _file(name: str, text: str) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        (tmp / name).write_text(text)
        return tmp / name

    return make


def _fifo(tmp: Path) -> Path:
    os.mkfifo(tmp / "pipe.json")
    return tmp / "pipe.json"


def sandbox_with(option: str, make: Callable[[Path], Path]) -> Raw:
    return lambda tmp, stack: (["release", "--sandbox", "--image", "repo/web:1", option, str(make(tmp))], {})


def outputs_with(make: Callable[[Path], Path]) -> Raw:
    return lambda tmp, stack: (["release", "--outputs-file", str(make(tmp)), "--image", "repo/web:1"], {})


def with_env(**env: str | Callable[[Path], Path]) -> Raw:
    """A release from a copy of the sandbox's outputs file with these environment variables."""

    def build(tmp: Path, stack: Any) -> tuple[list[str], dict[str, str]]:
        values = {k: (str(v(tmp)) if callable(v) else v) for k, v in env.items()}
        return ["release", "--outputs-file", str(stack.outputs_path), "--image", "repo/web:1"], values

    return build


GARBAGE_INI = "this is [not an\n= ini file\n\x00"

NO_TRACEBACK = [
    pytest.param(
        lambda tmp, stack: (["release", "--sandbox", "--image", "repo/web:1", "--taskdef", "t" * 5000], {}),
        "(5000 characters): path too long for a task definition file",
        id="taskdef-name-5000-chars",
    ),
    pytest.param(
        outputs_with(lambda tmp: tmp / ("d" * 300) / "outputs.json"),
        "path too long for an outputs file",
        id="outputs-dir-name-300-chars",
    ),
    pytest.param(
        sandbox_with("--taskdef", _file("taskdef.json", DEEP_ARRAY)),
        "taskdef.json: nested more than 64 levels deep",
        id="taskdef-100000-deep",
    ),
    pytest.param(
        sandbox_with("--taskdef", _file("taskdef.json", DEEP_OBJECT)),
        "taskdef.json: nested more than 64 levels deep",
        id="taskdef-100000-deep-object",
    ),
    pytest.param(
        outputs_with(_file("outputs.json", DEEP_OBJECT)),
        "outputs.json: nested more than 64 levels deep",
        id="outputs-100000-deep",
    ),
    pytest.param(
        sandbox_with("--appspec", _file("appspec.yaml", DEEP_ARRAY)),
        "appspec.yaml: nested more than 64 levels deep",
        id="appspec-yaml-100000-deep",
    ),
    pytest.param(
        sandbox_with("--appspec", _file("appspec.yaml", LAUGHS)),
        "appspec.yaml: more than 200,000 values",
        id="appspec-yaml-aliases",
    ),
    pytest.param(outputs_with(_fifo), "pipe.json: is a FIFO (named pipe), not an outputs file", id="outputs-fifo"),
    pytest.param(sandbox_with("--taskdef", _fifo), "is a FIFO (named pipe), not a task definition", id="taskdef-fifo"),
    pytest.param(
        sandbox_with("--appspec", lambda tmp: Path("/dev/zero")),
        "/dev/zero: is a character device, not an AppSpec file",
        id="appspec-dev-zero",
    ),
    pytest.param(
        with_env(AWS_ENDPOINT_URL="not a url"),
        "AWS_ENDPOINT_URL 'not a url' is not an endpoint URL",
        id="endpoint-not-a-url",
    ),
    pytest.param(
        with_env(AWS_ENDPOINT_URL="http://127.0.0.1:port"),
        "AWS_ENDPOINT_URL 'http://127.0.0.1:port' is not an endpoint URL",
        id="endpoint-bad-port",
    ),
    pytest.param(
        with_env(AWS_CONFIG_FILE=_file("config", GARBAGE_INI)),
        "config: does not parse as an INI file",
        id="aws-config-garbage",
    ),
    pytest.param(
        with_env(AWS_SHARED_CREDENTIALS_FILE=_file("credentials", GARBAGE_INI)),
        "credentials: does not parse as an INI file",
        id="aws-credentials-garbage",
    ),
]


@pytest.mark.parametrize(("case", "message"), NO_TRACEBACK)
def test_no_input_ends_in_a_traceback_or_a_hang(case: Raw, message: str, stack: Any, tmp_path: Path) -> None:
    args, env = case(tmp_path, stack)
    stack.control.reset_requests()
    res = cli.run(*args, "--output", "plain", env=stack.env(**env), cwd=REPO, timeout=60)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], res.stderr
    assert len(lines[0]) < 300  # a 5,000-character name is shortened
    assert stack.mutating_calls() == []


# --- what ECS would refuse (or run wrongly), refused before the first write (issue 20, the 13 cases) ---

REFUSED_BY_ECS = [
    pytest.param(
        taskdef(lambda d: d.update(memory="abc")),
        'taskdef.json: memory: \'abc\' is not MiB (like "1024") or GB (like "1 GB")',
        id="task-memory-abc",
    ),
    pytest.param(
        taskdef(lambda d: d.update(cpu="999")),
        "taskdef.json: cpu: '999' is not a Fargate task size; Fargate takes 256, 512, 1024",
        id="fargate-cpu-999",
    ),
    pytest.param(
        taskdef(lambda d: d.update(cpu="256", memory="8192") or _c0(d).update(memory=512)),
        "taskdef.json: memory: 8192 MiB does not go with cpu 256 on Fargate, which takes 512, 1024, 2048 MiB",
        id="fargate-256-with-8192",
    ),
    pytest.param(
        taskdef(lambda d: _c0(d).update(memory=4096)),
        "taskdef.json: containerDefinitions[0].memory: 4096 MiB is more than the task's (512 MiB)",
        id="container-memory-over-task",
    ),
    pytest.param(
        taskdef(lambda d: _c0(d).update(essential=False)),
        "taskdef.json: containerDefinitions: no essential container; ECS needs at least one",
        id="no-essential-container",
    ),
    pytest.param(
        taskdef(lambda d: _c0(d)["healthCheck"].update(interval=1)),
        "containerDefinitions[0].healthCheck.interval: 1 is outside ECS's range 5-300",
        id="health-check-interval-1",
    ),
    pytest.param(
        taskdef(lambda d: _c0(d)["environment"].append({"name": "", "value": "x"})),
        "containerDefinitions[0].environment[1].name: a variable needs a name, without '=' (got '')",
        id="empty-variable-name",
    ),
    pytest.param(
        taskdef(lambda d: d.update(executionRoleArn="not-an-arn")),
        "taskdef.json: executionRoleArn: 'not-an-arn' is not an IAM role ARN",
        id="execution-role-not-an-arn",
    ),
    pytest.param(
        flags("--image", "registry.example.com/Demo/Web:1"),
        "--image: invalid image reference 'registry.example.com/Demo/Web:1': repository 'Demo/Web' must be lowercase",
        id="uppercase-repository",
    ),
    pytest.param(
        outputs(lambda s: s.update(container_port=-1)),
        "outputs.json: services.web.container_port: -1 is not a port number (1-65535)",
        id="outputs-port-minus-1",
    ),
    pytest.param(
        outputs(lambda s: s.update(prod_listener_arn="not-an-arn")),
        "outputs.json: services.web.prod_listener_arn: 'not-an-arn' is not a load balancer listener ARN",
        id="outputs-listener-not-an-arn",
    ),
    pytest.param(
        lambda tmp, stack: ["release", "--sandbox", "--outputs-file", str(stack.outputs_path), "--image", "x:1"],
        "--sandbox and --outputs-file exclude each other",
        id="sandbox-with-outputs-file",
    ),
    pytest.param(
        appspec(
            lambda d: _props(d).update(TaskDefinition="arn:aws:ecs:eu-west-1:123456789012:task-definition/demo-web:3")
        ),
        "Properties.TaskDefinition: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/demo-web:3' is a fixed task "
        "definition; write <TASK_DEFINITION>",
        id="appspec-literal-taskdef-arn",
    ),
]


@pytest.mark.parametrize(("case", "message"), REFUSED_BY_ECS)
def test_what_ecs_would_refuse_is_refused_before_any_write(
    case: Case,
    message: str,
    stack: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    test_bad_input_is_refused_before_any_write(case, message, stack, tmp_path, monkeypatch, capsys)


def test_a_file_with_two_problems_gets_two_lines(
    stack: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in stack.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(REPO)
    args = taskdef(lambda d: d.update(memory="abc") or _c0(d)["healthCheck"].update(retries=0))(tmp_path, stack)
    stack.control.reset_requests()
    assert run([*args, "--output", "plain"]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 2, lines
    assert lines[0].startswith("error: ") and "taskdef.json: memory: 'abc' is not MiB" in lines[0]
    assert lines[1].startswith("error: ") and "healthCheck.retries: 0 is outside ECS's range 1-10" in lines[1]
    assert run([*args, "--output", "json"]) == 2
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["event"] == "summary" and last["status"] == "BadInput"
    assert last["details"]["problems"] == [line.removeprefix("error: ") for line in lines]
    assert stack.mutating_calls() == []

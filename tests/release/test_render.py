"""Rendering and validating the task definition and the AppSpec, without AWS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.outputs import service_values

from orchestrator import appspec, taskdef
from orchestrator.contract import parse_outputs
from orchestrator.errors import ExitCode, InputError
from orchestrator.taskdef import READ_ONLY_FIELDS

ROOT = Path(__file__).resolve().parents[2]


def _outputs():
    svc = service_values("web")
    return parse_outputs({"aws_region": "eu-west-1", "services": {"web": svc}}, "test outputs")


def _render(doc, image="repo/web:abc", **kw):
    outputs = _outputs()
    _, svc = outputs.service(None)
    return taskdef.render(
        doc, "taskdef.json", taskdef.placeholder_values(outputs, svc, image), container="web", image=image, **kw
    )


def _template() -> dict:
    return json.loads((ROOT / "taskdef.json").read_text())


def test_renders_the_repository_template() -> None:
    r = _render(_template())
    td = r.taskdef
    assert td["family"] == "demo-web"
    assert td["executionRoleArn"] == service_values("web")["task_execution_role_arn"]
    web = td["containerDefinitions"][0]
    assert web["image"] == "repo/web:abc" == r.image
    assert web["logConfiguration"]["options"]["awslogs-group"] == "/ecs/demo/web"
    assert web["logConfiguration"]["options"]["awslogs-region"] == "eu-west-1"
    assert not list(taskdef.find_unresolved(td))


def test_image_flag_wins_over_a_literal_image() -> None:
    doc = _template()
    doc["containerDefinitions"][0]["image"] = "nginx:1"
    assert _render(doc, image="repo/web:v2").image == "repo/web:v2"


def test_describe_output_with_wrapper_and_read_only_fields_is_accepted() -> None:
    inner = _template() | {
        "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/demo-web:3",
        "revision": 3,
        "status": "ACTIVE",
        "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.logging-driver.awslogs"}],
        "compatibilities": ["EC2", "FARGATE"],
        "registeredAt": "2024-01-01T00:00:00Z",
        "registeredBy": "arn:aws:iam::123456789012:user/x",
        "deregisteredAt": "2024-01-02T00:00:00Z",
    }
    td = _render({"taskDefinition": inner, "tags": [{"key": "a", "value": "b"}]}).taskdef
    assert not set(READ_ONLY_FIELDS) & set(td)
    assert td["tags"] == [{"key": "a", "value": "b"}]


def test_container_env_sets_and_replaces_variables() -> None:
    td = _render(_template(), container_env={"PORT": "9090", "MODE": "blue"}).taskdef
    env = {e["name"]: e["value"] for e in td["containerDefinitions"][0]["environment"]}
    assert env == {"PORT": "9090", "MODE": "blue"}


def test_escaped_placeholder_is_kept_literally() -> None:
    doc = _template()
    doc["containerDefinitions"][0]["environment"].append({"name": "TPL", "value": "$${HOME}/x"})
    env = {e["name"]: e["value"] for e in _render(doc).taskdef["containerDefinitions"][0]["environment"]}
    assert env["TPL"] == "${HOME}/x"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["containerDefinitions"][0]["portMappings"][0].update(containerPort="80"),
            'taskdef.json: containerDefinitions[0].portMappings[0].containerPort: expected int, got "80"',
        ),
        (lambda d: d.update(familly="x"), "taskdef.json: familly: unknown field"),
        (lambda d: d.pop("family"), "taskdef.json: family: required field missing"),
        (lambda d: d.update(networkMode="awsvp"), "taskdef.json: networkMode: 'awsvp' is not one of"),
        (lambda d: d.update(memory=512), "taskdef.json: memory: expected string, got int"),
        (
            lambda d: d["containerDefinitions"].append({"name": "sidecar", "essential": False}),
            "containerDefinitions[1].image: required field missing",
        ),
        (lambda d: d.update(family="demo web"), "taskdef.json: family: 'demo web' must be"),
        (lambda d: d.update(networkMode="bridge"), "taskdef.json: networkMode: FARGATE requires 'awsvpc'"),
        (
            lambda d: d["containerDefinitions"].append(dict(d["containerDefinitions"][0])),
            "containerDefinitions[1].name: duplicate container name 'web'",
        ),
        (
            lambda d: d["containerDefinitions"][0].update(cpu="${nope}"),
            "taskdef.json: containerDefinitions[0].cpu: unknown placeholder ${nope}",
        ),
    ],
)
def test_bad_task_definitions_name_file_and_field(mutate, message) -> None:
    doc = _template()
    mutate(doc)
    with pytest.raises(InputError) as err:
        _render(doc)
    assert message in str(err.value)
    assert err.value.exit_code == ExitCode.BAD_INPUT


def test_image_placeholder_without_image_asks_for_it() -> None:
    outputs = _outputs()
    _, svc = outputs.service(None)
    with pytest.raises(InputError, match=r"containerDefinitions\[0\].image: unresolved placeholder \$\{image\}"):
        taskdef.render(_template(), "taskdef.json", taskdef.placeholder_values(outputs, svc, None), container="web")


def test_unknown_container_lists_the_containers() -> None:
    outputs = _outputs()
    _, svc = outputs.service(None)
    with pytest.raises(InputError, match=r"no container named .api.*containers: web"):
        taskdef.render(
            _template(), "t.json", taskdef.placeholder_values(outputs, svc, "x:1"), container="api", image="x:1"
        )


def test_json_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    p = tmp_path / "taskdef.json"
    p.write_text('{\n  "family": "x",\n  "cpu": 256,,\n}')
    with pytest.raises(InputError, match=r"taskdef.json:3:\d+: invalid JSON"):
        taskdef.load_json(p)


def test_container_env_pairs_must_be_key_value() -> None:
    assert taskdef.parse_env_pairs(["A=1", "B=x=y"]) == {"A": "1", "B": "x=y"}
    with pytest.raises(InputError, match="expected KEY=VALUE"):
        taskdef.parse_env_pairs(["NOEQUALS"])


# AppSpec


def _td() -> dict:
    return _render(_template()).taskdef


def test_repository_appspec_validates_and_renders_with_arn() -> None:
    spec = appspec.load_and_validate(ROOT / "appspec.json", _td())
    arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/demo-web:7"
    doc = spec.with_task_definition(arn)
    assert doc["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"] == arn
    text, sha = appspec.content(doc)
    assert json.loads(text) == doc
    assert len(sha) == 64


def test_yaml_appspec_is_accepted(tmp_path: Path) -> None:
    p = tmp_path / "appspec.yaml"
    p.write_text(
        "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n"
        "        TaskDefinition: <TASK_DEFINITION>\n        LoadBalancerInfo:\n          ContainerName: web\n"
        "          ContainerPort: 8080\nHooks:\n  - BeforeAllowTraffic: check-fn\n"
    )
    spec = appspec.load_and_validate(p, _td())
    assert (spec.container_name, spec.container_port) == ("web", 8080)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(version=1.0), "version: must be 0.0"),
        (lambda d: d.update(Resources=[]), "Resources: expected a list"),
        (lambda d: d["Resources"].append(d["Resources"][0]), "Resources: expected exactly one resource, got 2"),
        (
            lambda d: d["Resources"][0]["TargetService"].update(Type="AWS::Lambda::Function"),
            "Resources[0].TargetService.Type: must be AWS::ECS::Service",
        ),
        (
            lambda d: d["Resources"][0]["TargetService"]["Properties"]["LoadBalancerInfo"].update(ContainerName="api"),
            "LoadBalancerInfo.ContainerName: no container 'api'",
        ),
        (
            lambda d: d["Resources"][0]["TargetService"]["Properties"]["LoadBalancerInfo"].update(ContainerPort=80),
            "LoadBalancerInfo.ContainerPort: container 'web' maps no port 80",
        ),
        (
            lambda d: d["Resources"][0]["TargetService"]["Properties"].pop("TaskDefinition"),
            "Properties.TaskDefinition: required",
        ),
        (lambda d: d.update(Hooks=[{"BeforeDeploy": "fn"}]), "Hooks[0].BeforeDeploy: not an ECS lifecycle hook"),
    ],
)
def test_bad_appspecs_name_file_and_field(mutate, message) -> None:
    doc = json.loads((ROOT / "appspec.json").read_text())
    mutate(doc)
    with pytest.raises(InputError) as err:
        appspec.validate(doc, "appspec.json", _td())
    assert message in str(err.value)
    assert str(err.value).startswith("appspec.json: ")


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    p = tmp_path / "appspec.yml"
    p.write_text("version: 0.0\nResources:\n  - TargetService: [unclosed\n")
    with pytest.raises(InputError, match=r"appspec.yml:\d+:\d+: invalid YAML"):
        appspec.load(p)


# --- ECS's own rules (orchestrator.ecs_rules) and every problem of a file reported ---


@pytest.mark.parametrize(
    ("cpu", "memory"),
    [
        ("256", "512"),
        ("0.25 vCPU", "0.5 GB"),
        ("1 vcpu", "2GB"),
        ("1024", "8 gb"),
        ("8192", "16384"),
        ("16 vCPU", "120 GB"),
    ],
)
def test_task_sizes_in_every_form_ecs_accepts_render(cpu: str, memory: str) -> None:
    doc = _template()
    doc.update(cpu=cpu, memory=memory)
    doc["containerDefinitions"][0].update(cpu=0, memory=None)
    del doc["containerDefinitions"][0]["memory"]
    assert _render(doc).taskdef["cpu"] == cpu


def _ec2_without_memory(doc: dict) -> None:
    doc.update(requiresCompatibilities=["EC2"])
    del doc["memory"], doc["containerDefinitions"][0]["memory"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(cpu="1 GB"), "cpu: '1 GB' is not CPU units"),
        (lambda d: d.update(memory="1 vCPU"), "memory: '1 vCPU' is not MiB"),
        (lambda d: d.update(memory="0 GB"), "memory: '0 GB' is not MiB"),
        (lambda d: d.update(cpu="8192", memory="17408"), "17408 MiB does not go with cpu 8192 on Fargate"),
        (
            lambda d: d.update(requiresCompatibilities=["EC2"], cpu="64"),
            "cpu: '64' is outside ECS's 128-196608 CPU units",
        ),
        (
            _ec2_without_memory,
            "containerDefinitions[0]: needs memory or memoryReservation when the task sets no memory",
        ),
        (
            lambda d: d.update(memory="1024") or d["containerDefinitions"][0].update(memoryReservation=600),
            "memoryReservation: 600 MiB is more than",
        ),
        (
            lambda d: d["containerDefinitions"][0].update(cpu=512),
            "the containers reserve 512 CPU units, more than the task's 256",
        ),
        (
            lambda d: d["containerDefinitions"][0]["healthCheck"].update(timeout=61),
            "healthCheck.timeout: 61 is outside ECS's range 2-60",
        ),
        (lambda d: d["containerDefinitions"][0]["healthCheck"].update(startPeriod=301), "healthCheck.startPeriod: 301"),
        (
            lambda d: d["containerDefinitions"][0]["environment"].append({"name": "A=B", "value": "1"}),
            "environment[1].name",
        ),
        (lambda d: d["containerDefinitions"][0].update(secrets=[{"name": " ", "valueFrom": "x"}]), "secrets[0].name"),
        (
            lambda d: d.update(taskRoleArn="arn:aws:iam::123:role/x"),
            "taskRoleArn: 'arn:aws:iam::123:role/x' is neither",
        ),
        (
            lambda d: d["containerDefinitions"][0].update(image="library/Nginx"),
            "repository 'library/Nginx' must be lowercase",
        ),
    ],
)
def test_what_ecs_refuses_is_named(mutate, message) -> None:
    doc = _template()
    doc["containerDefinitions"][0]["image"] = "repo/web:abc"  # a literal image, so that a case can change it
    mutate(doc)
    with pytest.raises(InputError) as err:
        _render(doc, image=None)
    assert message in str(err.value)
    assert len(str(err.value).splitlines()) == 1, str(err.value)


def test_role_names_registries_and_hosts_that_ecs_takes_render() -> None:
    doc = _template()
    doc["taskRoleArn"] = "demo-web-task"  # "the short name or full ARN of the IAM role"
    for image in (
        "localhost:5000/demo/web:1",
        "Registry.Example.com:5000/a__b/c-d.e:Tag_1",
        "nginx@sha256:" + "a" * 64,
    ):
        assert _render(doc, image=image).image == image


def test_every_problem_of_a_task_definition_is_one_line() -> None:
    doc = _template()
    doc.update(memory="abc", executionRoleArn="not-an-arn", familly="x")
    doc["containerDefinitions"][0]["healthCheck"]["interval"] = 1
    with pytest.raises(InputError) as err:
        _render(doc)
    lines = str(err.value).splitlines()
    assert [line.split(": ")[1] for line in lines] == [
        "familly",
        "executionRoleArn",
        "memory",
        "containerDefinitions[0].healthCheck.interval",
    ]
    assert all(line.startswith("taskdef.json: ") for line in lines)
    assert err.value.exit_code == ExitCode.BAD_INPUT


def test_every_problem_of_an_appspec_is_one_line() -> None:
    doc = json.loads((ROOT / "appspec.json").read_text())
    doc.update(version=2, Hooks=[{"BeforeDeploy": "fn"}])
    doc["Resources"][0]["TargetService"]["Properties"]["LoadBalancerInfo"]["ContainerPort"] = 80
    with pytest.raises(InputError) as err:
        appspec.validate(doc, "appspec.json", _td())
    assert str(err.value).splitlines() == [
        "appspec.json: version: must be 0.0, got 2",
        "appspec.json: Resources[0].TargetService.Properties.LoadBalancerInfo.ContainerPort: container 'web' maps "
        "no port 80 (its containerPorts: 8080)",
        "appspec.json: Hooks[0].BeforeDeploy: not an ECS lifecycle hook; valid: "
        "BeforeInstall, AfterInstall, AfterAllowTestTraffic, BeforeAllowTraffic, AfterAllowTraffic",
    ]

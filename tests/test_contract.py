"""The outputs contract, read only from the repository: what terraform/outputs.tf declares, what
orchestrator/contract.py's dataclasses expect, and tests/outputs.example.json (a `terraform output
-json` of the root) checked against both. Then parsing and the errors users see.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import typing
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from orchestrator.contract import SERVICE_KEYS, Outputs, ServiceOutputs, load_outputs_file, parse_outputs
from orchestrator.errors import ExitCode, InputError

REPO_ROOT = Path(__file__).resolve().parents[1]
ROOT_DIR = REPO_ROOT / "terraform"
EXAMPLE = Path(__file__).resolve().parent / "outputs.example.json"
# Terraform's type of an output value <-> the dataclass field's Python type.
TF_TYPES = {"string": str, "number": int}


def _unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


@functools.cache
def _parse(text: str) -> dict[str, Any]:
    import hcl2  # slow: each file's text is parsed once

    return dict(hcl2.loads(text))


def _blocks(directory: Path, kind: str) -> dict[str, dict[str, Any]]:
    """name -> body of every `kind` block (output, variable, module) of a directory's .tf files."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.tf")):
        for block in _parse(path.read_text()).get(kind, []):
            found.update({_unquote(name): body for name, body in block.items()})
    return found


def _expr(value: Any) -> str:
    text = str(value)
    return text[2:-1] if text.startswith("${") and text.endswith("}") else text


def _value_type(directory: Path, expression: str) -> str:
    """ "number" or "string": the type of an output's value expression in a module directory.

    `var.x` has its variable's declared type; anything else the modules give the contract (resource
    names, ARNs, URLs, templates) is a string.
    """
    match = re.fullmatch(r"var\.(\w+)", expression)
    if not match:
        return "string"
    declared = _blocks(directory, "variable")[match.group(1)]["type"]
    return _expr(declared)


def _service_output_types() -> dict[str, str]:
    """Each key of terraform/outputs.tf's `services` value, in order, with the type of its value."""
    expression = _expr(_blocks(ROOT_DIR, "output")["services"]["value"])
    modules = _blocks(ROOT_DIR, "module")
    types: dict[str, str] = {}
    pairs = r"(\w+) = (?:(?:try\()?module\.(\w+)\[k\]\.(\w+)|\"[^\"]*\")"
    for match in re.finditer(pairs, expression):
        key, module, output = match.groups()
        if module is None:  # a literal string: this root's fixed value of another engine's key
            types[key] = "string"
            continue
        directory = (ROOT_DIR / _unquote(modules[module]["source"])).resolve()
        types[key] = _value_type(directory, _expr(_blocks(directory, "output")[output]["value"]))
    assert types, f"no `key = module.<name>[k].<output>` pairs in {expression[:200]}"
    return types


def _field_types(cls: type) -> dict[str, type]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)}


def _example() -> dict[str, Any]:
    return dict(json.loads(EXAMPLE.read_text()))


# --- terraform/outputs.tf <-> orchestrator/contract.py ------------------------------------------


def test_outputs_tf_services_match_the_dataclass_in_names_order_and_types() -> None:
    declared = _service_output_types()
    expected = _field_types(ServiceOutputs)
    assert list(declared) == list(expected) == list(SERVICE_KEYS)
    assert {k: TF_TYPES[t] for k, t in declared.items()} == expected


def test_outputs_tf_aws_region_is_the_string_variable() -> None:
    outputs = _blocks(ROOT_DIR, "output")
    assert _expr(outputs["aws_region"]["value"]) == "var.aws_region"
    assert _value_type(ROOT_DIR, "var.aws_region") == "string"
    assert _field_types(Outputs)["aws_region"] is str


def test_the_shape_reader_sees_a_number(tmp_path: Path) -> None:
    # The type check above must be able to fail: a port declared as a string is seen as one.
    (tmp_path / "variables.tf").write_text('variable "port" {\n  type = string\n}\n')
    assert _value_type(tmp_path, "var.port") == "string"
    (tmp_path / "variables.tf").write_text('variable "port" {\n  type = number\n}\n')
    assert _value_type(tmp_path, "var.port") == "number"


# --- the committed example <-> both ------------------------------------------------------------


def test_example_has_exactly_the_outputs_terraform_declares() -> None:
    assert set(_example()) == set(_blocks(ROOT_DIR, "output"))


def test_example_services_have_the_declared_keys_types_and_json_values() -> None:
    declared = _service_output_types()
    services = _example()["services"]
    kind, (obj, attribute_types) = services["type"]
    assert (kind, obj) == ("map", "object")
    assert attribute_types == declared
    for key, service in services["value"].items():
        assert set(service) == set(declared), key
        for name, value in service.items():
            assert isinstance(value, TF_TYPES[declared[name]]), f"services.{key}.{name} = {value!r}"


def test_example_parses_into_the_dataclasses_with_each_value_kept() -> None:
    raw = _example()
    outputs = parse_outputs(raw, "example")
    assert outputs.aws_region == raw["aws_region"]["value"]
    key, svc = outputs.service(None)
    assert key == "web"
    assert {f: getattr(svc, f) for f in SERVICE_KEYS} == raw["services"]["value"]["web"]


# --- parsing and its errors --------------------------------------------------------------------


def test_plain_values_without_terraform_wrappers_are_accepted() -> None:
    raw = {k: v["value"] for k, v in _example().items()}
    assert parse_outputs(raw, "plain") == parse_outputs(_example(), "plain")


def test_missing_key_names_the_service_and_key(tmp_path: Path) -> None:
    raw = copy.deepcopy(_example())
    del raw["services"]["value"]["web"]["test_listener_arn"]
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(InputError) as err:
        load_outputs_file(path)
    assert "services.web is missing test_listener_arn" in str(err.value)
    assert err.value.exit_code == ExitCode.BAD_INPUT


def test_a_port_that_is_not_a_number_is_refused() -> None:
    raw = copy.deepcopy(_example())
    raw["services"]["value"]["web"]["container_port"] = "http"
    with pytest.raises(InputError, match=r"services\.web\.container_port: 'http' is not a port number \(1-65535\)"):
        parse_outputs(raw, "example")


ROLE = "an IAM role ARN"
LISTENER = "a load balancer listener ARN"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("container_port", -1, "container_port: -1 is not a port number (1-65535)"),
        ("container_port", 0, "container_port: 0 is not a port number"),
        ("container_port", 65536, "container_port: 65536 is not a port number"),
        ("container_port", True, "container_port: True is not a port number"),
        ("container_port", 80.5, "container_port: 80.5 is not a port number"),
        ("prod_listener_arn", "not-an-arn", f"prod_listener_arn: 'not-an-arn' is not {LISTENER}"),
        ("test_listener_arn", "", f"test_listener_arn: '' is not {LISTENER}"),
        (
            "prod_listener_arn",
            "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/demo-web-blue/0123456789abcdef",
            f"is not {LISTENER}",
        ),
        (
            "task_execution_role_arn",
            "demo-web-execution",
            f"task_execution_role_arn: 'demo-web-execution' is not {ROLE}",
        ),
        ("task_role_arn", "arn:aws:iam::1:role/x", f"task_role_arn: 'arn:aws:iam::1:role/x' is not {ROLE}"),
        (
            "ecs_infrastructure_role_arn",
            "arn:aws:s3:::bucket",
            f"ecs_infrastructure_role_arn: 'arn:aws:s3:::bucket' is not {ROLE}",
        ),
        ("prod_listener_rule_arn", "rule-1", "prod_listener_rule_arn: 'rule-1' is not a listener rule ARN"),
        ("cluster_name", "", "cluster_name must not be empty"),
        ("log_group_name", 7, "log_group_name must be a string, got int"),
    ],
)
def test_values_are_checked_by_type_and_form(key: str, value: Any, message: str) -> None:
    raw = copy.deepcopy(_example())
    raw["services"]["value"]["web"][key] = value
    with pytest.raises(InputError) as err:
        parse_outputs(raw, "outputs.json")
    assert str(err.value) == f"outputs.json: services.web.{message}" or message in str(err.value)
    assert str(err.value).startswith("outputs.json: services.web.")
    assert err.value.exit_code == ExitCode.BAD_INPUT


def test_optional_arns_may_be_empty_and_real_ones_pass() -> None:
    raw = copy.deepcopy(_example())
    web = raw["services"]["value"]["web"]
    rule = (
        "arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener-rule/app/demo/0123456789abcdef/01234567/89abcdef"
    )
    web.update(prod_listener_rule_arn=rule, test_listener_rule_arn="", ecs_infrastructure_role_arn="")
    web["task_role_arn"] = "arn:aws-us-gov:iam::111122223333:role/service-role/demo-web-task"
    svc = parse_outputs(raw, "outputs.json").services["web"]
    assert svc.prod_listener_rule_arn == rule and svc.task_role_arn.endswith("service-role/demo-web-task")


def test_every_problem_in_the_file_is_reported_one_line_each() -> None:
    raw = copy.deepcopy(_example())
    raw["services"]["value"]["web"].update(container_port=-1, prod_listener_arn="not-an-arn")
    raw["services"]["value"]["api"] = dict(raw["services"]["value"]["web"], task_role_arn="x y")
    with pytest.raises(InputError) as err:
        parse_outputs(raw, "outputs.json")
    lines = str(err.value).splitlines()
    assert lines == [
        "outputs.json: services.web.container_port: -1 is not a port number (1-65535)",
        f"outputs.json: services.web.prod_listener_arn: 'not-an-arn' is not {LISTENER} "
        "(arn:aws:elasticloadbalancing:...:listener/...)",
        "outputs.json: services.api.container_port: -1 is not a port number (1-65535)",
        f"outputs.json: services.api.task_role_arn: 'x y' is not {ROLE} (arn:aws:iam::ACCOUNT:role/NAME)",
        f"outputs.json: services.api.prod_listener_arn: 'not-an-arn' is not {LISTENER} "
        "(arn:aws:elasticloadbalancing:...:listener/...)",
    ]
    assert err.value.details["problems"] == lines


def test_unknown_service_lists_what_exists() -> None:
    outputs = parse_outputs(_example(), "example")
    with pytest.raises(InputError, match="no service 'api'; services are: web"):
        outputs.service("api")


def test_invalid_json_reports_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text('{\n  "aws_region": ,\n}')
    with pytest.raises(InputError, match=r"outputs.json:2:17: invalid JSON"):
        load_outputs_file(path)

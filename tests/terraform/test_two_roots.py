"""The orchestrator reads the CodeDeploy root and the ECS-native root beside it (terraform/ecs-native)
into one outputs contract: real Terraform (bundled), real state, roots that only output the contract."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.outputs import service_values

from orchestrator.contract import SERVICE_KEYS, Outputs, ServiceOutputs, merge_outputs
from orchestrator.errors import InputError
from orchestrator.target import load_outputs

RULE = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/demo-web/1/2/3"
ROLE = "arn:aws:iam::123456789012:role/demo-ecs-infrastructure"


def _service(key: str, engine: str) -> dict[str, Any]:
    real = service_values(key)  # ARNs of the contract's forms
    svc: dict[str, Any] = {k: f"demo-{key}-{k}" for k in SERVICE_KEYS} | {"container_port": 8080}
    svc |= {k: v for k, v in real.items() if k.endswith("_arn")}
    svc["deployment_engine"] = engine
    if engine == "ecs":
        svc |= {"codedeploy_app_name": "", "codedeploy_deployment_group_name": ""}
        svc |= {"prod_listener_rule_arn": RULE, "test_listener_rule_arn": RULE, "ecs_infrastructure_role_arn": ROLE}
    else:
        svc |= {"prod_listener_rule_arn": "", "test_listener_rule_arn": "", "ecs_infrastructure_role_arn": ""}
    return svc


def _root(directory: Path, region: str, services: dict[str, dict[str, Any]]) -> Path:
    directory.mkdir(parents=True)
    (directory / "main.tf").write_text(
        f'output "aws_region" {{\n  value = "{region}"\n}}\n\n'
        f'output "services" {{\n  value = jsondecode({json.dumps(json.dumps(services))})\n}}\n'
    )
    return directory


def _apply(directory: Path, terraform: str) -> None:
    env = {"PATH": "/usr/bin:/bin", "CHECKPOINT_DISABLE": "1", "HOME": str(directory)}
    for args in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false"]):
        proc = subprocess.run(
            [terraform, *args, "-no-color"], cwd=directory, env=env, capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture
def stack(tmp_path: Path, bundled_terraform: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """terraform/ with web and api on CodeDeploy; terraform/ecs-native with web moved to ECS."""
    monkeypatch.setenv("ORCHESTRATOR_TERRAFORM", "bundled")
    monkeypatch.delenv("ORCHESTRATOR_ENV", raising=False)
    monkeypatch.chdir(tmp_path)  # no orchestrator settings file names a default environment
    first = _root(tmp_path / "terraform", "eu-west-1", {k: _service(k, "codedeploy") for k in ("web", "api")})
    _apply(first, bundled_terraform)
    return first


def test_a_service_in_both_roots_is_the_ecs_native_ones(stack: Path, bundled_terraform: str) -> None:
    _apply(_root(stack / "ecs-native", "eu-west-1", {"web": _service("web", "ecs")}), bundled_terraform)
    outputs, _ = load_outputs(stack, None, None, False)
    assert sorted(outputs.services) == ["api", "web"]
    web, api = outputs.services["web"], outputs.services["api"]
    assert (web.deployment_engine, web.prod_listener_rule_arn, web.ecs_infrastructure_role_arn) == ("ecs", RULE, ROLE)
    assert web.codedeploy_app_name == ""
    assert api.deployment_engine == "codedeploy" and api.codedeploy_app_name == "demo-api-codedeploy_app_name"
    assert str(stack / "ecs-native") in outputs.source


def test_infra_output_prints_the_one_contract(stack: Path, bundled_terraform: str, capsys: Any) -> None:
    from orchestrator import cli

    _apply(_root(stack / "ecs-native", "eu-west-1", {"web": _service("web", "ecs")}), bundled_terraform)
    assert cli.run(["infra", "output", "--terraform-dir", str(stack)]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["services"]["web"]["deployment_engine"] == "ecs"
    assert data["services"]["api"]["deployment_engine"] == "codedeploy"
    assert "merged with the services of" in captured.err


def test_an_ecs_native_root_not_in_use_changes_nothing(stack: Path) -> None:
    _root(stack / "ecs-native", "eu-west-1", {"web": _service("web", "ecs")})  # never initialised or applied
    outputs, _ = load_outputs(stack, None, None, False)
    assert {k: s.deployment_engine for k, s in outputs.services.items()} == {"api": "codedeploy", "web": "codedeploy"}
    assert "ecs-native" not in outputs.source


def test_roots_of_two_regions_are_refused(stack: Path, bundled_terraform: str) -> None:
    _apply(_root(stack / "ecs-native", "us-east-1", {"web": _service("web", "ecs")}), bundled_terraform)
    with pytest.raises(InputError, match="aws_region 'us-east-1' differs from"):
        load_outputs(stack, None, None, False)


def test_merge_keeps_the_first_roots_other_services_and_region() -> None:
    def svc(engine: str) -> ServiceOutputs:
        values: dict[str, Any] = _service("x", engine)
        return ServiceOutputs(**{k: values[k] for k in SERVICE_KEYS})

    base = Outputs("eu-west-1", {"a": svc("codedeploy"), "b": svc("codedeploy")}, "one")
    merged = merge_outputs(base, Outputs("eu-west-1", {"b": svc("ecs")}, "two"))
    assert merged.services["a"] is base.services["a"]
    assert merged.services["b"].deployment_engine == "ecs"
    assert (merged.aws_region, merged.source) == ("eu-west-1", "one + two")


def test_an_ecs_native_root_without_services_yet_changes_nothing(stack: Path, bundled_terraform: str) -> None:
    """After the targeted apply of rules and roles (docs/migration.md step 2) only its other outputs exist."""
    root = stack / "ecs-native"
    root.mkdir()
    (root / "main.tf").write_text('output "migration" {\n  value = { web = { prod_listener_rule_arn = "x" } }\n}\n')
    _apply(root, bundled_terraform)
    outputs, _ = load_outputs(stack, None, None, False)
    assert outputs.services["web"].deployment_engine == "codedeploy"

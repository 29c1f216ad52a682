"""`terraform plan` of the root and of each module (tftest, bundled Terraform), offline.

They run whenever the AWS provider can be installed without the network (a provider mirror: see the
provider_env fixture) and skip saying why otherwise. The provider is told not to call AWS; every
resource is new and no data source used here calls an API, so the plans need no account.

Starting the AWS provider costs seconds each time (its schema is huge), so there are three plans:
the root with two services; a harness that calls every module directly, in the variants worth
checking; and a harness of refused inputs, whose plan must fail naming each.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import tftest
from tfhelpers import OFFLINE_PROVIDER

from orchestrator.contract import SERVICE_KEYS

ACCOUNT = "111122223333"
REGION = "eu-west-1"
AZS = [f"{REGION}a", f"{REGION}b"]
VPC = "vpc-0123456789abcdef0"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
LISTENER = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener/app/demo-web/0123456789abcdef/"
TG = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/demo-web-blue/0123456789abcdef"
CERT = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/00000000-0000-0000-0000-000000000000"
VPC_CIDR = "10.20.0.0/16"
TESTERS = ["192.0.2.0/24"]  # who checks the green tasks of `api` (a VPN, say)
ECR_ARN = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/demo/web"
OIDC_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
pytestmark = pytest.mark.slow

TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:deployments"
KMS = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"
HOOK_FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:demo-web-smoke-test"
TRIGGER_EVENTS = ["DeploymentFailure", "DeploymentRollback", "DeploymentStart", "DeploymentStop", "DeploymentSuccess"]
ROLES = [f"arn:aws:iam::{ACCOUNT}:role/demo-web-execution", f"arn:aws:iam::{ACCOUNT}:role/demo-web-task"]


def _hcl(value: Any) -> str:
    return json.dumps(value)


def _resources(plan: Any) -> dict[str, dict[str, Any]]:
    """address -> planned values, across child modules."""
    out: dict[str, dict[str, Any]] = {}

    def walk(module: dict[str, Any]) -> None:
        for r in module.get("resources", []):
            out[r["address"]] = r.get("values", {})
        for child in module.get("child_modules", []):
            walk(child)

    walk(plan["planned_values"]["root_module"])
    return out


def _setup(path: Path, terraform: str, env: dict[str, str]) -> tftest.TerraformTest:
    tf = tftest.TerraformTest(str(path), binary=terraform, env=env)
    tf.setup()
    return tf


# --- the root ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def root_plan(stack_copy: Path, provider_env: dict[str, str], bundled_terraform: str) -> Any:
    root = stack_copy / "terraform"
    (root / "zz_offline_override.tf").write_text('terraform {\n  backend "local" {}\n}\n' + OFFLINE_PROVIDER)
    # After the environment's own file (later files win): zones given so nothing asks AWS for them,
    # a second service with HTTPS and an alarm, and the CI role.
    (root / "zz_offline.tfvars").write_text(
        f'network = {{\n  create_vpc = true\n  cidr_block = "{VPC_CIDR}"\n  availability_zones = {_hcl(AZS)}\n}}\n'
        "services = {\n"
        '  web = { container_name = "web", container_port = 8080, smoke_test = { paths = ["/health", "/"] },'
        " notifications = { create = true } }\n"
        f'  api = {{ container_name = "web", container_port = 8080, certificate_arn = "{CERT}",'
        f' alarm_names = ["demo-api-5xx"], test_listener_port = 9443, test_ingress_cidr_blocks = {_hcl(TESTERS)} }}\n'
        "}\n"
        'access_logs = { bucket = "acme-alb-logs", prefix = "demo" }\n'
        "ci_deploy = {\n"
        '  github_subjects       = ["repo:acme/demo:environment:dev"]\n'
        '  build_github_subjects = ["repo:acme/demo:environment:build-dev"]\n'
        "}\n"
    )
    # api's own task definition (services/api/taskdef.json, the orchestrator's convention); web: the template.
    own = json.loads((stack_copy / "taskdef.json").read_text()) | {"cpu": "512", "memory": "1024"}
    (stack_copy / "services" / "api").mkdir(parents=True, exist_ok=True)
    (stack_copy / "services" / "api" / "taskdef.json").write_text(json.dumps(own))
    tf = _setup(root, bundled_terraform, provider_env)
    return tf.plan(output=True, tf_var_file=["envs/dev.tfvars", "zz_offline.tfvars"])


def test_root_plan_outputs_the_contract(root_plan: Any) -> None:
    outputs = root_plan["planned_values"]["outputs"]
    assert outputs["aws_region"]["value"] == REGION
    change = root_plan["output_changes"]["services"]
    assert set(change["after"]) == {"web", "api"}
    for key in ("web", "api"):
        known = change["after"][key]
        unknown = change["after_unknown"].get(key, {}) if isinstance(change["after_unknown"], dict) else {}
        # Values known only after apply (ARNs, URLs) are in after_unknown; together: the contract.
        assert set(known) | set(unknown) == set(SERVICE_KEYS)
        assert known["cluster_name"] == "demo"
        assert known["service_name"] == key
        assert known["container_name"] == "web"
        assert known["container_port"] == 8080
        assert known["codedeploy_app_name"] == known["codedeploy_deployment_group_name"] == f"demo-{key}"
        assert known["blue_target_group_name"] == f"demo-{key}-blue"
        assert known["green_target_group_name"] == f"demo-{key}-green"
        assert known["log_group_name"] == f"/ecs/demo/{key}"


def test_root_plan_uses_the_agreed_names(root_plan: Any) -> None:
    resources = _resources(root_plan)
    assert resources['module.ecr["web"].aws_ecr_repository.this']["name"] == "demo/web"
    assert resources["aws_ecs_cluster.this"]["name"] == "demo"
    svc = 'module.ecs_service["web"]'
    assert resources[f"{svc}.aws_ecs_task_definition.bootstrap"]["family"] == "demo-web"
    assert resources[f"{svc}.aws_iam_role.execution"]["name"] == "demo-web-execution"
    assert resources[f"{svc}.aws_iam_role.task"]["name"] == "demo-web-task"
    assert resources[f"{svc}.aws_security_group.service"]["name"] == "demo-web-service"
    assert resources[f"{svc}.aws_ecs_service.this"]["name"] == "web"
    assert resources['module.codedeploy["web"].aws_iam_role.codedeploy']["name"] == "demo-web-codedeploy"
    assert resources['module.alb["web"].aws_security_group.alb']["name"] == "demo-web-alb"
    assert resources['module.alb["web"].aws_lb.this']["name"] == "demo-web"
    assert resources["module.ci_deploy_role[0].aws_iam_role.this"]["name"] == "demo-ci-deploy"
    # One VPC shared by the services, one ALB per service.
    assert len([a for a in resources if a.endswith("aws_vpc.this")]) == 1
    assert len([a for a in resources if a.endswith(".aws_lb.this")]) == 2


def test_root_plan_takes_each_services_own_task_definition(root_plan: Any) -> None:
    resources = _resources(root_plan)
    api = resources['module.ecs_service["api"].aws_ecs_task_definition.bootstrap']
    web = resources['module.ecs_service["web"].aws_ecs_task_definition.bootstrap']
    assert (api["family"], api["cpu"], api["memory"]) == ("demo-api", "512", "1024")  # services/api/taskdef.json
    assert (web["family"], web["cpu"], web["memory"]) == ("demo-web", "256", "512")  # the top-level template


def test_root_plan_https_service_redirects_and_keeps_its_test_port(root_plan: Any) -> None:
    resources = _resources(root_plan)
    prod = resources['module.alb["api"].aws_lb_listener.production']
    assert (prod["port"], prod["protocol"]) == (443, "HTTPS")
    assert resources['module.alb["api"].aws_lb_listener.http_redirect[0]']["port"] == 80
    assert resources['module.alb["api"].aws_lb_listener.test']["port"] == 9443
    web = resources['module.alb["web"].aws_lb_listener.production']
    assert (web["port"], web["protocol"]) == (80, "HTTP")
    assert 'module.alb["web"].aws_lb_listener.http_redirect[0]' not in resources


# --- every module, called directly ------------------------------------------------------------


def _module_harness(stack_copy: Path) -> Path:
    harness = stack_copy / "harness"
    harness.mkdir(exist_ok=True)
    taskdef = stack_copy / "taskdef.json"
    cd_common = (
        f'  cluster_name = "demo"\n  service_name = "web"\n'
        f'  prod_listener_arns = ["{LISTENER}1"]\n  test_listener_arns = ["{LISTENER}2"]\n'
        '  blue_target_group_name = "demo-web-blue"\n  green_target_group_name = "demo-web-green"\n'
    )
    (harness / "main.tf").write_text(
        OFFLINE_PROVIDER
        + f"""
module "network" {{
  source             = "../modules/network"
  name               = "demo"
  availability_zones = {_hcl(AZS)}
}}

module "ecr" {{
  source = "../modules/ecr"
  name   = "demo/web"
}}

module "alb" {{
  source         = "../modules/alb"
  name           = "demo-web"
  vpc_id         = "{VPC}"
  vpc_cidr_block = "{VPC_CIDR}"
  subnet_ids     = {_hcl(SUBNETS)}
  container_port = 8080
}}

module "alb_logged" {{
  source              = "../modules/alb"
  name                = "demo-logged"
  vpc_id              = "{VPC}"
  vpc_cidr_block      = "{VPC_CIDR}"
  subnet_ids          = {_hcl(SUBNETS)}
  container_port      = 8080
  certificate_arn     = "{CERT}"
  require_https       = true
  access_logs_bucket  = "acme-alb-logs"
  access_logs_enabled = false
}}

module "ecs_service" {{
  source                = "../modules/ecs-service"
  name                  = "demo-web"
  service_name          = "web"
  cluster_name          = "demo"
  vpc_id                = "{VPC}"
  subnet_ids            = {_hcl(SUBNETS)}
  alb_security_group_id = "sg-0123456789abcdef0"
  blue_target_group_arn = "{TG}"
  listener_arns         = ["{LISTENER}1"]
  container_name        = "web"
  container_port        = 8080
  taskdef_template_path = "{taskdef}"
}}

module "codedeploy" {{
  source = "../modules/codedeploy"
  name   = "demo-web"
{cd_common}}}

module "codedeploy_notify" {{
  source        = "../modules/codedeploy"
  name          = "demo-notified"
  notifications = {{ enabled = true, topic_arn = "{TOPIC}" }}
  hook_function_arns = ["{HOOK_FN}"]
{cd_common}}}

module "codedeploy_topic" {{
  source        = "../modules/codedeploy"
  name          = "demo-topic"
  notifications = {{ enabled = true, create = true, kms_key_arn = "{KMS}" }}
{cd_common}}}

module "smoke_test" {{
  source                = "../modules/smoke-test-hook"
  name                  = "demo-web"
  test_listener_url     = "http://demo-web-1.{REGION}.elb.amazonaws.com:8080"
  test_listener_port    = 8080
  paths                 = ["/health", "/version"]
  expected_status       = 204
  vpc_id                = "{VPC}"
  vpc_cidr_block        = "{VPC_CIDR}"
  subnet_ids            = {_hcl(SUBNETS)}
  load_balancer_internal = true
}}

module "codedeploy_alarms" {{
  source      = "../modules/codedeploy"
  name        = "demo-alarmed"
  alarm_names = ["demo-web-5xx"]
{cd_common}}}

module "ci_deploy_role" {{
  source                           = "../modules/ci-deploy-role"
  name                             = "demo-ci-deploy"
  github_subjects                  = ["repo:acme/demo:environment:prod"]
  ecr_repository_arns              = ["{ECR_ARN}"]
  pass_role_arns                   = {_hcl(ROLES)}
  ecs_service_arns                 = ["arn:aws:ecs:{REGION}:{ACCOUNT}:service/demo/web"]
  ecs_cluster_arns                 = ["arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/demo"]
  log_group_arns                   = ["arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/demo/web"]
  codedeploy_application_arns      = ["arn:aws:codedeploy:{REGION}:{ACCOUNT}:application:demo-web"]
  codedeploy_deployment_group_arns = ["arn:aws:codedeploy:{REGION}:{ACCOUNT}:deploymentgroup:demo-web/demo-web"]
}}

module "ci_build_role" {{
  source              = "../modules/ci-build-role"
  name                = "demo-ci-build"
  github_subjects     = ["repo:acme/demo:environment:build-prod"]
  oidc_provider_arn   = "{OIDC_ARN}"
  ecr_repository_arns = ["{ECR_ARN}"]
}}
"""
    )
    return harness


@pytest.fixture(scope="module")
def modules_plan(stack_copy: Path, provider_env: dict[str, str], bundled_terraform: str) -> dict[str, Any]:
    tf = _setup(_module_harness(stack_copy), bundled_terraform, provider_env)
    return _resources(tf.plan(output=True))


def test_network_module_plan(modules_plan: dict[str, Any]) -> None:
    public = [v for a, v in modules_plan.items() if a.startswith("module.network.aws_subnet.public")]
    private = [v for a, v in modules_plan.items() if a.startswith("module.network.aws_subnet.private")]
    assert sorted(s["availability_zone"] for s in public) == AZS
    assert sorted(s["availability_zone"] for s in private) == AZS
    assert not {s["cidr_block"] for s in public} & {s["cidr_block"] for s in private}
    assert all(s["map_public_ip_on_launch"] is False for s in public + private)
    assert len([a for a in modules_plan if a.startswith("module.network.aws_nat_gateway.")]) == 1
    assert "module.network.aws_default_security_group.this" in modules_plan


def test_ecr_module_plan(modules_plan: dict[str, Any]) -> None:
    repo = modules_plan["module.ecr.aws_ecr_repository.this"]
    assert repo["image_tag_mutability"] == "IMMUTABLE"
    assert repo["image_scanning_configuration"] == [{"scan_on_push": True}]
    assert repo["encryption_configuration"][0]["encryption_type"] == "KMS"
    rules = json.loads(modules_plan["module.ecr.aws_ecr_lifecycle_policy.this"]["policy"])["rules"]
    assert [r["selection"]["tagStatus"] for r in rules] == ["untagged", "tagged"]


def test_alb_module_plan(modules_plan: dict[str, Any]) -> None:
    tgs = {v["name"]: v for a, v in modules_plan.items() if a.startswith("module.alb.aws_lb_target_group.this")}
    assert set(tgs) == {"demo-web-blue", "demo-web-green"}
    for tg in tgs.values():
        assert (tg["target_type"], tg["protocol"], tg["port"]) == ("ip", "HTTP", 8080)
        assert tg["health_check"][0]["path"] == "/health"
    prod = modules_plan["module.alb.aws_lb_listener.production"]
    assert (prod["port"], prod["protocol"]) == (80, "HTTP")
    assert modules_plan["module.alb.aws_lb_listener.test"]["port"] == 8080
    assert modules_plan["module.alb.aws_lb.this"]["drop_invalid_header_fields"] is True


def test_ecs_service_module_plan(modules_plan: dict[str, Any]) -> None:
    service = modules_plan["module.ecs_service.aws_ecs_service.this"]
    assert service["deployment_controller"] == [{"type": "CODE_DEPLOY"}]
    assert service["launch_type"] == "FARGATE"
    assert service["desired_count"] == 2
    load_balancers = [
        {k: v for k, v in lb.items() if k in ("container_name", "container_port", "target_group_arn")}
        for lb in service["load_balancer"]
    ]
    assert load_balancers == [{"container_name": "web", "container_port": 8080, "target_group_arn": TG}]
    cluster = modules_plan["module.ecs_service.aws_ecs_cluster.this[0]"]
    assert cluster["setting"] == [{"name": "containerInsights", "value": "enabled"}]
    assert modules_plan["module.ecs_service.aws_cloudwatch_log_group.this"]["name"] == "/ecs/demo/web"
    task_definition = modules_plan["module.ecs_service.aws_ecs_task_definition.bootstrap"]
    assert task_definition["family"] == "demo-web"
    assert (task_definition["cpu"], task_definition["memory"]) == ("256", "512")
    assert task_definition["requires_compatibilities"] == ["FARGATE"]
    assert task_definition["skip_destroy"] is True


def test_codedeploy_module_plan(modules_plan: dict[str, Any]) -> None:
    group = modules_plan["module.codedeploy.aws_codedeploy_deployment_group.this"]
    assert group["deployment_style"] == [{"deployment_option": "WITH_TRAFFIC_CONTROL", "deployment_type": "BLUE_GREEN"}]
    pair = group["load_balancer_info"][0]["target_group_pair_info"][0]
    assert pair["prod_traffic_route"][0]["listener_arns"] == [f"{LISTENER}1"]
    assert pair["test_traffic_route"][0]["listener_arns"] == [f"{LISTENER}2"]
    assert [t["name"] for t in pair["target_group"]] == ["demo-web-blue", "demo-web-green"]
    config = group["blue_green_deployment_config"][0]
    assert config["terminate_blue_instances_on_deployment_success"][0] == {
        "action": "TERMINATE",
        "termination_wait_time_in_minutes": 5,
    }
    assert config["deployment_ready_option"][0]["action_on_timeout"] == "CONTINUE_DEPLOYMENT"
    assert modules_plan["module.codedeploy.aws_codedeploy_app.this"]["compute_platform"] == "ECS"
    # Without alarms, nothing to stop on: only DEPLOYMENT_FAILURE rolls back.
    assert group["auto_rollback_configuration"] == [{"enabled": True, "events": ["DEPLOYMENT_FAILURE"]}]
    assert group["alarm_configuration"] == []

    alarmed = modules_plan["module.codedeploy_alarms.aws_codedeploy_deployment_group.this"]
    events = sorted(alarmed["auto_rollback_configuration"][0]["events"])
    assert events == ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
    assert alarmed["alarm_configuration"][0]["alarms"] == ["demo-web-5xx"]


def test_ci_deploy_role_module_plan(modules_plan: dict[str, Any]) -> None:
    policy = json.loads(modules_plan["module.ci_deploy_role.aws_iam_role_policy.release"]["policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    pass_role = statements["PassTaskRoles"]
    assert sorted(pass_role["Resource"]) == sorted(ROLES)
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    config_arn = f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:deploymentconfig:*"
    assert statements["DeploymentConfigs"]["Resource"] == config_arn
    # One-off tasks (`orchestrator run`, `release --pre-task`): this account's task definitions, in the cluster.
    assert statements["OneOffTasks"]["Resource"] == f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/*"
    cluster = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/demo"
    assert statements["OneOffTasks"]["Condition"] == {"ArnEquals": {"ecs:cluster": cluster}}
    assert statements["StopOneOffTasks"]["Resource"] == f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/demo/*"
    logs = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/demo/web:log-stream:*"
    assert statements["OneOffTaskLogs"]["Resource"] == logs
    assert "module.ci_deploy_role.aws_iam_openid_connect_provider.github[0]" in modules_plan


# --- refused inputs ---------------------------------------------------------------------------


def _refused_plan(stack_copy: Path, name: str, text: str, terraform: str, env: dict[str, str]) -> str:
    harness = stack_copy / name
    harness.mkdir()
    (harness / "main.tf").write_text(text)
    tf = _setup(harness, terraform, env)
    with pytest.raises(tftest.TerraformTestError) as failure:
        tf.plan()
    # Terraform wraps messages at 78 columns: compare them with whitespace collapsed.
    return " ".join(" ".join(str(a) for a in failure.value.args).split())


def test_keep_alive_and_wildcard_subjects_fail_the_plan(
    stack_copy: Path, provider_env: dict[str, str], bundled_terraform: str
) -> None:
    text = (_module_harness(stack_copy) / "main.tf").read_text()
    keep_alive = '  name   = "demo-web"\n  termination_action = "KEEP_ALIVE"\n  cluster_name'
    text = text.replace('  name   = "demo-web"\n  cluster_name', keep_alive)
    text = text.replace("repo:acme/demo:environment:prod", "repo:acme/demo:*")
    assert text.count("KEEP_ALIVE") == 1 and "demo:*" in text
    message = _refused_plan(stack_copy, "refused-vars", text, bundled_terraform, provider_env)
    assert "KEEP_ALIVE" in message
    assert "without wildcards" in message


def test_template_without_the_load_balanced_container_fails_the_plan(
    stack_copy: Path, provider_env: dict[str, str], bundled_terraform: str
) -> None:
    text = (_module_harness(stack_copy) / "main.tf").read_text()
    start = text.index('module "ecs_service"')
    block = text[start : text.index("\n}\n", start) + 3]
    text = OFFLINE_PROVIDER + block.replace('  container_name        = "web"', '  container_name        = "nope"')
    assert '"nope"' in text
    message = _refused_plan(stack_copy, "refused-container", text, bundled_terraform, provider_env)
    assert 'no container "nope"' in message


# --- safe defaults (issue 11) -----------------------------------------------------------------


def _test_listener_cidrs(resources: dict[str, Any], module: str) -> set[str]:
    prefix = f"{module}.aws_vpc_security_group_ingress_rule.test["
    return {v["cidr_ipv4"] for a, v in resources.items() if a.startswith(prefix)}


def test_test_listener_admits_the_vpc_by_default_and_only_the_cidrs_given(
    root_plan: Any, modules_plan: dict[str, Any]
) -> None:
    resources = _resources(root_plan)
    assert _test_listener_cidrs(resources, 'module.alb["web"]') == {VPC_CIDR}
    assert _test_listener_cidrs(resources, 'module.alb["api"]') == set(TESTERS)
    assert _test_listener_cidrs(modules_plan, "module.alb") == {VPC_CIDR}
    # The production listener stays public: only the test port narrowed.
    prod = [
        v for a, v in resources.items() if a.startswith('module.alb["web"].aws_vpc_security_group_ingress_rule.prod')
    ]
    assert {(r["from_port"], r["cidr_ipv4"]) for r in prod} == {(80, "0.0.0.0/0")}
    test_port = {v["from_port"] for a, v in resources.items() if ".aws_vpc_security_group_ingress_rule.test[" in a}
    assert test_port == {8080, 9443}


def test_access_logs_are_wired_from_the_root(root_plan: Any, modules_plan: dict[str, Any]) -> None:
    resources = _resources(root_plan)
    for key in ("web", "api"):
        logs = resources[f'module.alb["{key}"].aws_lb.this']["access_logs"]
        assert logs == [{"bucket": "acme-alb-logs", "prefix": f"demo/demo-{key}", "enabled": True}]
    assert modules_plan["module.alb.aws_lb.this"]["access_logs"] == []
    # enabled = false: logging off (the provider then plans the bucket as "").
    (logged,) = modules_plan["module.alb_logged.aws_lb.this"]["access_logs"]
    assert logged["enabled"] is False


def test_root_makes_a_build_role_beside_the_release_role(root_plan: Any) -> None:
    resources = _resources(root_plan)
    assert resources["module.ci_build_role[0].aws_iam_role.this"]["name"] == "demo-ci-build"
    assert resources["module.ci_deploy_role[0].aws_iam_role.this"]["name"] == "demo-ci-deploy"
    assert {"ci_build_role_arn", "ci_deploy_role_arn"} <= set(root_plan["output_changes"])


def test_build_role_can_only_push_to_its_repository(modules_plan: dict[str, Any]) -> None:
    policy = json.loads(modules_plan["module.ci_build_role.aws_iam_role_policy.push"]["policy"])
    statements = policy["Statement"]
    actions: set[str] = set()
    for stmt in statements:
        assert stmt["Effect"] == "Allow"
        stmt_actions = {stmt["Action"]} if isinstance(stmt["Action"], str) else set(stmt["Action"])
        actions |= stmt_actions
        if stmt_actions == {"ecr:GetAuthorizationToken"}:
            assert stmt["Resource"] == "*"  # no resource-level permissions; it only returns a login
        else:
            assert stmt["Resource"] == ECR_ARN, stmt
    assert {"ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload"} <= actions
    assert all(a.startswith("ecr:") and "*" not in a for a in actions), actions
    assert not actions & {"ecr:DeleteRepository", "ecr:BatchDeleteImage", "ecr:SetRepositoryPolicy"}
    trust = json.loads(modules_plan["module.ci_build_role.aws_iam_role.this"]["assume_role_policy"])
    (stmt,) = trust["Statement"]
    assert stmt["Principal"] == {"Federated": OIDC_ARN}
    sub = stmt["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"]
    assert sub == "repo:acme/demo:environment:build-prod"


def test_pull_request_subjects_and_a_public_test_listener_fail_the_plan(
    stack_copy: Path, provider_env: dict[str, str], bundled_terraform: str
) -> None:
    text = (_module_harness(stack_copy) / "main.tf").read_text()
    text = text.replace("repo:acme/demo:environment:prod", "repo:acme/demo:pull_request")
    text = text.replace("repo:acme/demo:environment:build-prod", "repo:acme/demo:pull_request")
    text = text.replace(
        '  vpc_cidr_block = "10.20.0.0/16"\n',
        '  vpc_cidr_block = "10.20.0.0/16"\n  test_ingress_cidr_blocks = ["0.0.0.0/0"]\n',
    )
    assert text.count("pull_request") == 2 and text.count('["0.0.0.0/0"]') == 1
    message = _refused_plan(stack_copy, "refused-defaults", text, bundled_terraform, provider_env)
    assert "must not hold a :pull_request subject: any pull request (a fork's code too) could then assume" in message
    assert "must not hold a :pull_request subject: any pull request (a fork's code too) could then push" in message
    assert "test_ingress_cidr_blocks must not hold 0.0.0.0/0" in message


def _root_refusal(stack_copy: Path, terraform: str, env: dict[str, str], var_files: list[str], extra: str) -> str:
    root = stack_copy / "terraform"
    (root / "zz_offline_override.tf").write_text('terraform {\n  backend "local" {}\n}\n' + OFFLINE_PROVIDER)
    name = f"zz_refused_{len(list(root.glob('zz_refused_*')))}.tfvars"
    (root / name).write_text(f"network = {{ create_vpc = true, availability_zones = {_hcl(AZS)} }}\n" + extra)
    tf = _setup(root, terraform, env)
    with pytest.raises(tftest.TerraformTestError) as failure:
        tf.plan(tf_var_file=[*var_files, name])
    # Terraform wraps messages at 78 columns: compare them with whitespace collapsed.
    return " ".join(" ".join(str(a) for a in failure.value.args).split())


def test_production_without_a_certificate_refuses_to_plan(
    stack_copy: Path, provider_env: dict[str, str], bundled_terraform: str
) -> None:
    extra = 'environment_type = "production"\n'
    message = _root_refusal(stack_copy, bundled_terraform, provider_env, ["envs/dev.tfvars"], extra)
    assert "A production environment" in message and "needs certificate_arn" in message
    assert 'module.alb["web"]' in message


def test_prod_tfvars_as_committed_refuses_to_plan_naming_the_certificate(
    stack_copy: Path, provider_env: dict[str, str], bundled_terraform: str
) -> None:
    prod = (stack_copy / "terraform" / "envs" / "prod.tfvars").read_text()
    assert 'environment_type = "production"' in prod
    message = _root_refusal(stack_copy, bundled_terraform, provider_env, ["envs/prod.tfvars"], "")
    assert "certificate_arn must be an ACM certificate ARN" in message
    assert "replace the placeholder" in message


def test_root_refuses_a_public_test_listener_and_a_subject_shared_by_both_roles(
    stack_copy: Path, provider_env: dict[str, str], bundled_terraform: str
) -> None:
    extra = (
        'services = { web = { container_name = "web", container_port = 8080,'
        ' test_ingress_cidr_blocks = ["0.0.0.0/0"] } }\n'
        'ci_deploy = { github_subjects = ["repo:acme/demo:environment:dev"], '
        'build_github_subjects = ["repo:acme/demo:environment:dev"] }\n'
    )
    message = _root_refusal(stack_copy, bundled_terraform, provider_env, ["envs/dev.tfvars"], extra)
    assert "test_ingress_cidr_blocks must not hold 0.0.0.0/0" in message
    assert "could then assume the release role" in message


# --- smoke-test hook and notifications (issue 12) ---------------------------------------------


def test_smoke_test_module_plan(modules_plan: dict[str, Any]) -> None:
    fn = modules_plan["module.smoke_test.aws_lambda_function.this"]
    assert (fn["function_name"], fn["runtime"], fn["handler"]) == (
        "demo-web-smoke-test",
        "python3.12",
        "handler.handler",
    )
    assert fn["timeout"] == 150  # the time limit (120) plus time to report
    assert fn["environment"][0]["variables"] == {
        "TEST_LISTENER_URL": f"http://demo-web-1.{REGION}.elb.amazonaws.com:8080",
        "SMOKE_PATHS": "/health,/version",
        "EXPECTED_STATUS": "204",
        "RETRIES": "3",
        "RETRY_DELAY_S": "5",
        "TIME_LIMIT_S": "120",
    }
    assert fn["vpc_config"][0]["subnet_ids"] == SUBNETS or set(fn["vpc_config"][0]["subnet_ids"]) == set(SUBNETS)
    # The role policy names the account taken from the role's ARN: known only after apply (the
    # statements are checked in test_tf_structure.py).
    assert "module.smoke_test.aws_iam_role_policy.this" in modules_plan
    egress = {
        (v["from_port"], v["cidr_ipv4"])
        for a, v in modules_plan.items()
        if a.startswith("module.smoke_test.aws_vpc_security_group_egress_rule.")
    }
    assert egress == {(8080, VPC_CIDR), (443, "0.0.0.0/0")}  # internal: the test port inside the VPC only
    # No reserved concurrency: a new account (concurrency quota 10) could not apply any.
    assert fn.get("reserved_concurrent_executions") in (None, -1)


def test_codedeploy_role_may_invoke_the_hook_and_triggers_publish_to_the_topic(modules_plan: dict[str, Any]) -> None:
    invoke = json.loads(modules_plan["module.codedeploy_notify.aws_iam_role_policy.hooks[0]"]["policy"])
    assert invoke["Statement"][0]["Action"] == "lambda:InvokeFunction"
    assert invoke["Statement"][0]["Resource"] == HOOK_FN
    group = modules_plan["module.codedeploy_notify.aws_codedeploy_deployment_group.this"]
    (trigger,) = group["trigger_configuration"]
    assert trigger["trigger_target_arn"] == TOPIC
    assert sorted(trigger["trigger_events"]) == TRIGGER_EVENTS
    publish = json.loads(modules_plan["module.codedeploy_notify.aws_iam_role_policy.notify[0]"]["policy"])
    assert publish["Statement"][0]["Action"] == "sns:Publish"
    assert publish["Statement"][0]["Resource"] == TOPIC
    assert not any(a.startswith("module.codedeploy_notify.aws_sns_topic.") for a in modules_plan)
    # A created topic is encrypted with the given key, which the role may use.
    topic = modules_plan["module.codedeploy_topic.aws_sns_topic.deployments[0]"]
    assert (topic["name"], topic["kms_master_key_id"]) == ("demo-topic-deployments", KMS)
    # (Its publish policy names the topic's ARN, known only after apply.)
    assert "module.codedeploy_topic.aws_iam_role_policy.notify[0]" in modules_plan
    # Off by default: no trigger, no topic, no extra policy.
    plain = modules_plan["module.codedeploy.aws_codedeploy_deployment_group.this"]
    assert plain["trigger_configuration"] == []
    assert not any(
        a.startswith(("module.codedeploy.aws_iam_role_policy.", "module.codedeploy.aws_sns")) for a in modules_plan
    )


def test_root_wires_the_smoke_test_and_notifications_per_service(root_plan: Any) -> None:
    resources = _resources(root_plan)
    assert resources['module.smoke_test["web"].aws_lambda_function.this']["function_name"] == "demo-web-smoke-test"
    assert not any(a.startswith('module.smoke_test["api"]') for a in resources)
    # (Its environment holds the ALB's DNS name, known only after apply; the module plan checks it.)
    # web's load balancer is internet-facing: its test port admits the NAT gateway's address (a /32,
    # known after apply), not the function's security group, whose requests never arrive from it.
    ingress = resources['aws_vpc_security_group_ingress_rule.smoke_test_nat["web-0"]']
    assert (ingress["from_port"], ingress["to_port"]) == (8080, 8080)
    assert 'aws_vpc_security_group_ingress_rule.smoke_test["web"]' not in resources
    egress = resources['module.smoke_test["web"].aws_vpc_security_group_egress_rule.test_listener']
    assert (egress["from_port"], egress["cidr_ipv4"]) == (8080, "0.0.0.0/0")
    assert 'module.codedeploy["web"].aws_iam_role_policy.hooks[0]' in resources
    assert 'module.codedeploy["api"].aws_iam_role_policy.hooks[0]' not in resources
    topic = resources['module.codedeploy["web"].aws_sns_topic.deployments[0]']
    assert (topic["name"], topic["kms_master_key_id"]) == ("demo-web-deployments", "alias/aws/sns")
    api_group = resources['module.codedeploy["api"].aws_codedeploy_deployment_group.this']
    assert api_group["trigger_configuration"] == []
    services = root_plan["output_changes"]["services"]["after"]
    assert services["api"]["smoke_test_function_name"] == ""
    assert services["web"]["smoke_test_function_name"] == "demo-web-smoke-test"


def test_notifications_need_exactly_one_topic_source(
    stack_copy: Path, provider_env: dict[str, str], bundled_terraform: str
) -> None:
    text = (_module_harness(stack_copy) / "main.tf").read_text()
    start = text.index('module "codedeploy_notify"')
    block = text[start : text.index("\n}\n", start) + 3]
    both = block.replace("enabled = true, topic_arn", "enabled = true, create = true, topic_arn")
    assert both != block
    message = _refused_plan(stack_copy, "refused-notify", OFFLINE_PROVIDER + both, bundled_terraform, provider_env)
    assert "give exactly one of topic_arn (an existing topic) or create = true" in message

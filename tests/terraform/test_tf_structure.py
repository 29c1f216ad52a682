"""What the blue/green design depends on, read from the HCL with python-hcl2.

Each test names the failure it guards against: Terraform fighting CodeDeploy over the listeners or the
task definition, both target groups on the service, KEEP_ALIVE, a service created before its
listeners, an outputs contract drifting from the orchestrator's, an over-broad CI role.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from tfhelpers import MODULES_DIR, REPO_ROOT, ROOT_DIR, load_hcl, strip_expr

from orchestrator.contract import SERVICE_KEYS


def _module(name: str) -> dict[str, Any]:
    return load_hcl(MODULES_DIR / name)


def _lifecycle(body: dict[str, Any]) -> dict[str, Any]:
    blocks = body.get("lifecycle", [])
    assert len(blocks) == 1, "expected one lifecycle block"
    return blocks[0]


def _validations(variable: dict[str, Any]) -> list[str]:
    return [strip_expr(v["condition"]) for v in variable.get("validation", [])]


# --- ALB: listeners and target groups ---------------------------------------------------------


def test_both_listeners_forward_to_blue_and_ignore_default_action() -> None:
    listeners = _module("alb")["resource"]["aws_lb_listener"]
    for name in ("production", "test"):
        body = listeners[name]
        (action,) = body["default_action"]
        assert action["type"] == "forward"
        assert strip_expr(action["target_group_arn"]) == 'aws_lb_target_group.this["blue"].arn'
        assert _lifecycle(body)["ignore_changes"] == ["default_action"], name


def test_test_listener_has_its_own_port_that_cannot_be_a_production_port() -> None:
    alb = _module("alb")
    assert strip_expr(alb["resource"]["aws_lb_listener"]["test"]["port"]) == "var.test_listener_port"
    variable = alb["variable"]["test_listener_port"]
    assert variable["default"] == 8080
    assert any("!contains([80, 443], var.test_listener_port)" in c for c in _validations(variable))


def test_production_listener_is_https_with_a_certificate_and_http_redirects() -> None:
    alb = _module("alb")
    prod = alb["resource"]["aws_lb_listener"]["production"]
    assert strip_expr(prod["protocol"]) == 'local.https ? "HTTPS" : "HTTP"'
    assert strip_expr(prod["port"]) == "local.prod_port"
    assert strip_expr(alb["locals"]["prod_port"]) == "local.https ? 443 : 80"
    redirect = alb["resource"]["aws_lb_listener"]["http_redirect"]
    assert strip_expr(redirect["count"]) == "local.https ? 1 : 0"
    (action,) = redirect["default_action"]
    assert action["type"] == "redirect"
    assert action["redirect"][0]["protocol"] == "HTTPS"


def test_target_groups_are_an_ip_blue_green_pair_with_health_checks() -> None:
    alb = _module("alb")
    tg = alb["resource"]["aws_lb_target_group"]["this"]
    assert strip_expr(tg["for_each"]) == "local.target_groups"
    assert strip_expr(alb["locals"]["target_groups"]) == 'toset(["blue", "green"])'
    assert tg["name"] == "${var.name}-${each.key}"
    assert tg["target_type"] == "ip"
    assert tg["protocol"] == "HTTP"
    assert strip_expr(tg["port"]) == "var.container_port"
    (health,) = tg["health_check"]
    assert strip_expr(health["path"]) == "var.health_check_path"
    assert alb["variable"]["health_check_path"]["default"] == "/health"
    # Fixed names (no create_before_destroy, which a fixed name cannot survive); see the README.
    assert "lifecycle" not in tg
    assert "Target group names" in (MODULES_DIR / "alb" / "README.md").read_text()


def test_alb_name_leaves_room_for_the_green_suffix() -> None:
    conditions = _validations(_module("alb")["variable"]["name"])
    pattern = re.search(r'regex\("(.+?)", var\.name\)', conditions[0])
    assert pattern is not None
    regex = pattern.group(1).replace("\\\\", "\\")
    assert re.fullmatch(regex, "a" * 26)
    assert not re.fullmatch(regex, "a" * 27), "name-green would exceed the 32-character target group limit"


# --- ECS service ------------------------------------------------------------------------------


def test_service_ignores_what_codedeploy_and_scaling_change() -> None:
    service = _module("ecs-service")["resource"]["aws_ecs_service"]["this"]
    assert _lifecycle(service)["ignore_changes"] == ["task_definition", "load_balancer", "desired_count"]


def test_service_is_code_deploy_fargate_with_the_blue_target_group_only() -> None:
    svc = _module("ecs-service")
    service = svc["resource"]["aws_ecs_service"]["this"]
    assert service["deployment_controller"] == [{"type": "CODE_DEPLOY"}]
    assert service["launch_type"] == "FARGATE"
    assert len(service["load_balancer"]) == 1, "both target groups on the service leave CodeDeploy's Install stuck"
    assert strip_expr(service["load_balancer"][0]["target_group_arn"]) == "var.blue_target_group_arn"
    assert svc["variable"]["desired_count"]["default"] == 2
    assert "dynamic" not in service, "no load_balancer may be added dynamically"


def test_service_is_created_after_the_listeners() -> None:
    svc = _module("ecs-service")
    service = svc["resource"]["aws_ecs_service"]["this"]
    assert "${terraform_data.listeners_ready}" in service["depends_on"]
    assert strip_expr(svc["resource"]["terraform_data"]["listeners_ready"]["input"]) == "var.listener_arns"
    root = load_hcl(ROOT_DIR)
    assert strip_expr(root["module"]["ecs_service"]["listener_arns"]) == "module.alb[each.key].listener_arns"
    outputs = (MODULES_DIR / "alb" / "outputs.tf").read_text()
    assert "aws_lb_listener.production.arn, aws_lb_listener.test.arn" in outputs


def test_task_definition_comes_from_the_repository_template_once() -> None:
    svc = _module("ecs-service")
    taskdef = strip_expr(svc["locals"]["taskdef"])
    assert taskdef.startswith("jsondecode(templatefile(var.taskdef_template_path, merge(local.template_values")
    supplied = strip_expr(svc["locals"]["template_values"]) + taskdef
    for name in (
        "cluster_name",
        "service_name",
        "task_execution_role_arn",
        "task_role_arn",
        "log_group_name",
        "aws_region",
        "image",
    ):
        assert re.search(rf"\b{name}\s*=", supplied), f"placeholder {name} is not supplied"
    # The plan-time shape check renders the same file with the same values.
    assert strip_expr(svc["locals"]["taskdef_shape"]).startswith(
        "jsondecode(templatefile(var.taskdef_template_path, merge(local.template_values"
    )
    td = svc["resource"]["aws_ecs_task_definition"]["bootstrap"]
    lifecycle = _lifecycle(td)
    assert lifecycle["ignore_changes"] in ("all", "${all}", ["all"])
    assert td["skip_destroy"] is True
    assert len(lifecycle["precondition"]) == 2
    assert svc["variable"]["bootstrap_image"]["default"] == "public.ecr.aws/nginx/nginx-unprivileged:stable-alpine"
    root = load_hcl(ROOT_DIR)
    assert '"${path.root}/../taskdef.json"' in json.dumps(root["locals"]["default_taskdef_path"])
    # Per service, the orchestrator's convention (orchestrator/servicefiles.py): taskdef_path, else
    # services/<key>/taskdef.json when it exists, else the top-level template.
    paths = strip_expr(root["locals"]["taskdef_paths"])
    for part in (
        "coalesce(s.taskdef_path,",
        'fileexists("${path.root}/../services/${k}/taskdef.json")',
        '? "${path.root}/../services/${k}/taskdef.json" : local.default_taskdef_path',
    ):
        assert part in paths, paths
    assert strip_expr(root["module"]["ecs_service"]["taskdef_template_path"]) == "local.taskdef_paths[each.key]"


def test_repository_taskdef_uses_only_placeholders_the_modules_supply() -> None:
    text = (REPO_ROOT / "taskdef.json").read_text()
    used = set(re.findall(r"\$\{(\w+)\}", text))
    supplied = set(SERVICE_KEYS) | {"aws_region", "image"}
    assert used, "taskdef.json has no placeholders"
    assert used <= supplied, f"taskdef.json uses placeholders nobody supplies: {sorted(used - supplied)}"


def test_agreed_names() -> None:
    svc = _module("ecs-service")
    assert strip_expr(svc["locals"]["log_group_name"]) == '"/ecs/${var.cluster_name}/${var.service_name}"'.strip('"')
    assert svc["locals"]["execution_role"] == "${var.name}-execution"
    assert svc["locals"]["task_role"] == "${var.name}-task"
    assert svc["locals"]["security_group"] == "${var.name}-service"
    assert _module("alb")["resource"]["aws_security_group"]["alb"]["name"] == "${var.name}-alb"
    assert _module("codedeploy")["resource"]["aws_iam_role"]["codedeploy"]["name"] == "${var.name}-codedeploy"
    root = load_hcl(ROOT_DIR)
    assert root["locals"]["names"] == '${{for k, s in var.services : k => "${var.project}-${k}"}}'
    assert root["module"]["ecr"]["name"] == "${var.project}/${each.key}"
    assert strip_expr(root["resource"]["aws_ecs_cluster"]["this"]["name"]) == "var.project"


# --- CodeDeploy -------------------------------------------------------------------------------


def _deployment_group() -> dict[str, Any]:
    return _module("codedeploy")["resource"]["aws_codedeploy_deployment_group"]["this"]


def test_deployment_style_is_blue_green_with_traffic_control() -> None:
    assert _deployment_group()["deployment_style"] == [
        {"deployment_type": "BLUE_GREEN", "deployment_option": "WITH_TRAFFIC_CONTROL"}
    ]
    assert _module("codedeploy")["resource"]["aws_codedeploy_app"]["this"]["compute_platform"] == "ECS"


def test_target_group_pair_routes_production_and_test_listeners() -> None:
    (pair,) = _deployment_group()["load_balancer_info"][0]["target_group_pair_info"]
    assert strip_expr(pair["prod_traffic_route"][0]["listener_arns"]) == "var.prod_listener_arns"
    test_route = pair["dynamic"][0]["test_traffic_route"]
    assert strip_expr(test_route["content"][0]["listener_arns"]) == "test_traffic_route.value"
    assert [strip_expr(tg["name"]) for tg in pair["target_group"]] == [
        "var.blue_target_group_name",
        "var.green_target_group_name",
    ]
    root = load_hcl(ROOT_DIR)["module"]["codedeploy"]
    assert root["test_listener_arns"] == ["${module.alb[each.key].test_listener_arn}"]


def test_rollback_on_failure_and_on_alarm() -> None:
    cd = _module("codedeploy")
    assert cd["variable"]["auto_rollback_events"]["default"] == ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
    (rollback,) = _deployment_group()["auto_rollback_configuration"]
    assert strip_expr(rollback["events"]) == "local.rollback_events"
    # Stop-on-alarm is dropped only when there is no alarm to stop on.
    assert 'local.alarms_enabled || e != "DEPLOYMENT_STOP_ON_ALARM"' in cd["locals"]["rollback_events"]
    alarm = _deployment_group()["dynamic"][0]["alarm_configuration"]
    assert strip_expr(alarm["content"][0]["alarms"]) == "alarm_configuration.value"


def test_ready_option_and_termination_wait_are_variables() -> None:
    cd = _module("codedeploy")
    (config,) = _deployment_group()["blue_green_deployment_config"]
    ready = config["deployment_ready_option"][0]
    assert strip_expr(ready["action_on_timeout"]) == "var.deployment_ready_action"
    terminate = config["terminate_blue_instances_on_deployment_success"][0]
    assert strip_expr(terminate["termination_wait_time_in_minutes"]) == "var.termination_wait_minutes"
    assert strip_expr(terminate["action"]) == "var.termination_action"
    assert cd["variable"]["deployment_ready_action"]["default"] == "CONTINUE_DEPLOYMENT"
    assert cd["variable"]["termination_wait_minutes"]["default"] == 5
    assert strip_expr(_deployment_group()["deployment_config_name"]) == "var.deployment_config_name"


def test_keep_alive_is_refused_by_validation() -> None:
    variable = _module("codedeploy")["variable"]["termination_action"]
    assert _validations(variable) == ['var.termination_action == "TERMINATE"']
    assert "KEEP_ALIVE" in variable["validation"][0]["error_message"]


def test_codedeploy_role_has_the_ecs_managed_policy() -> None:
    cd = _module("codedeploy")
    attachment = cd["resource"]["aws_iam_role_policy_attachment"]["codedeploy"]
    assert attachment["policy_arn"].endswith(":iam::aws:policy/AWSCodeDeployRoleForECS")


# --- the outputs contract ---------------------------------------------------------------------


def _root_service_output_keys() -> list[str]:
    value = load_hcl(ROOT_DIR)["output"]["services"]["value"]
    return re.findall(r"(\w+) = (?:(?:try\()?module\.|\"[^\"]*\")", value)


def test_root_outputs_are_the_contract() -> None:
    root = load_hcl(ROOT_DIR)
    assert {"aws_region", "services"} <= set(root["output"])
    assert tuple(_root_service_output_keys()) == SERVICE_KEYS


def test_sandbox_twin_uses_the_module_defaults() -> None:
    """The sandbox provisions the same stack in moto; its fixed values are these modules' defaults."""
    provision = pytest.importorskip("orchestrator.sandbox.provision")
    ecs = _module("ecs-service")["variable"]
    alb = _module("alb")["variable"]
    cd = _module("codedeploy")["variable"]
    root_services = load_hcl(ROOT_DIR)["variable"]["services"]["type"]
    assert ecs["bootstrap_image"]["default"] == provision.BOOTSTRAP_IMAGE
    assert ecs["desired_count"]["default"] == provision.DESIRED_COUNT
    assert ecs["log_retention_days"]["default"] == provision.LOG_RETENTION_DAYS
    assert alb["health_check_path"]["default"] == provision.HEALTH_CHECK_PATH
    assert alb["test_listener_port"]["default"] == provision.TEST_LISTENER_PORT
    assert cd["termination_wait_minutes"]["default"] == provision.TERMINATION_WAIT_MINUTES
    network = pytest.importorskip("orchestrator.sandbox.provision_network")
    assert _module("network")["variable"]["cidr_block"]["default"] == network.VPC_CIDR
    assert f'bootstrap_image = optional(string, "{provision.BOOTSTRAP_IMAGE}")' in root_services
    assert provision.EXECUTION_POLICY_ARN.endswith(":iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")
    assert provision.CODEDEPLOY_POLICY_ARN.endswith(":iam::aws:policy/AWSCodeDeployRoleForECS")
    smoke = _module("smoke-test-hook")["variable"]
    assert smoke["paths"]["default"] == [provision.HEALTH_CHECK_PATH]
    assert smoke["time_limit_seconds"]["default"] == provision.SMOKE_TIME_LIMIT_S
    assert (smoke["retries"]["default"], smoke["retry_delay_seconds"]["default"]) == (3, 5)


# --- no hard-coded accounts or regions ---------------------------------------------------------

_REGION = re.compile(
    r"\b(?:us|eu|ap|sa|ca|me|af|il|mx|cn)-(?:gov-)?(?:north|south|east|west|central|northeast|northwest|southeast|southwest)-\d\b"
)


@pytest.mark.parametrize("path", sorted((MODULES_DIR).glob("*/*.tf")) + sorted(ROOT_DIR.glob("*.tf")), ids=str)
def test_no_hard_coded_account_ids_or_regions(path: Path) -> None:
    text = path.read_text()
    assert not re.findall(r"(?<![0-9])[0-9]{12}(?![0-9])", text), "a 12-digit account ID is hard-coded"
    assert not _REGION.findall(text), "a region name is hard-coded"


# --- the CI release role ----------------------------------------------------------------------


def _statements(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["sid"]: s for s in document["statement"]}


def test_ci_role_pass_role_is_limited_to_the_task_roles_for_ecs_tasks() -> None:
    role = _module("ci-deploy-role")
    release = _statements(role["data"]["aws_iam_policy_document"]["release"])
    pass_role = [s for s in release.values() if "iam:PassRole" in s["actions"]]
    assert len(pass_role) == 1
    (stmt,) = pass_role
    assert stmt["actions"] == ["iam:PassRole"]
    assert strip_expr(stmt["resources"]) == "var.pass_role_arns"
    (cond,) = stmt["condition"]
    assert (cond["test"], cond["variable"], cond["values"]) == (
        "StringEquals",
        "iam:PassedToService",
        ["ecs-tasks.amazonaws.com"],
    )
    root = load_hcl(ROOT_DIR)["module"]["ci_deploy_role"]
    assert "m.task_execution_role_arn, m.task_role_arn" in root["pass_role_arns"]


def test_ci_role_policy_has_no_wildcard_actions_and_unscoped_only_where_aws_allows_nothing_else() -> None:
    release = _statements(_module("ci-deploy-role")["data"]["aws_iam_policy_document"]["release"])
    unscoped_allowed = {
        "ecr:GetAuthorizationToken",
        "ecs:RegisterTaskDefinition",
        "ecs:DeregisterTaskDefinition",  # Service Authorization Reference (ECS): no resource types
        "ecs:DescribeTaskDefinition",
        "ecs:ListTaskDefinitions",  # no resource-level permissions in IAM
        "ecs:DescribeTasks",
        "ecs:ListTasks",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetHealth",
        # Service Authorization Reference (CodeDeploy): no resource types, evaluated against "*".
        "codedeploy:ContinueDeployment",
        "codedeploy:GetDeploymentTarget",
        "codedeploy:ListDeploymentTargets",
        "codedeploy:StopDeployment",
    }
    for sid, stmt in release.items():
        for action in stmt["actions"]:
            assert "*" not in action, f"{sid}: wildcard action {action}"
            assert not action.startswith(("iam:Create", "iam:Put", "iam:Attach", "ecs:UpdateService", "ecs:Delete"))
        if stmt["resources"] == ["*"]:
            assert set(stmt["actions"]) <= unscoped_allowed, f"{sid} is unscoped"
    assert release["ReadTasks"]["condition"][0]["variable"] == "ecs:cluster"
    assert strip_expr(release["Deployments"]["resources"]) == "var.codedeploy_deployment_group_arns"
    assert strip_expr(release["EcrPush"]["resources"]) == "var.ecr_repository_arns"


def test_ci_role_trust_is_limited_to_the_given_subjects() -> None:
    role = _module("ci-deploy-role")
    (stmt,) = role["data"]["aws_iam_policy_document"]["trust"]["statement"]
    assert stmt["actions"] == ["sts:AssumeRoleWithWebIdentity"]
    conditions = {c["variable"]: c for c in stmt["condition"]}
    sub = conditions["${local.oidc_url}:sub"]
    assert sub["test"] == "StringEquals", "StringLike would allow wildcards"
    assert strip_expr(sub["values"]) == "var.github_subjects"
    assert conditions["${local.oidc_url}:aud"]["values"] == ["sts.amazonaws.com"]


@pytest.mark.parametrize("module", ["ci-deploy-role", "ci-build-role"])
def test_ci_role_subjects_validation_refuses_wildcards_and_pull_requests(module: str) -> None:
    conditions = _validations(_module(module)["variable"]["github_subjects"])
    (pattern,) = [c for c in conditions if "regex(" in c]
    match = re.search(r'regex\("(.+?)", s\)', pattern)
    assert match is not None
    regex = match.group(1).replace("\\\\", "\\")
    assert re.fullmatch(regex, "repo:acme/shop:ref:refs/heads/main")
    assert re.fullmatch(regex, "repo:acme/shop:environment:prod")
    for bad in (
        "repo:acme/shop:*",
        "repo:acme/*:ref:refs/heads/main",
        "repo:acme/shop:ref:refs/heads/*",
        "*",
        "repo:acme/shop:pull_request",
    ):
        assert not re.fullmatch(regex, bad), bad
    # And said by name, not only as a pattern mismatch (the plan test shows the message).
    assert any('endswith(s, ":pull_request")' in c for c in conditions)


def test_build_role_policy_is_ecr_push_on_the_given_repositories_only() -> None:
    role = _module("ci-build-role")
    push = _statements(role["data"]["aws_iam_policy_document"]["push"])
    assert set(push) == {"EcrLogin", "EcrPush"}
    assert push["EcrLogin"]["actions"] == ["ecr:GetAuthorizationToken"]
    assert strip_expr(push["EcrPush"]["resources"]) == "var.ecr_repository_arns"
    assert all(a.startswith("ecr:") for a in push["EcrPush"]["actions"])
    root = load_hcl(ROOT_DIR)["module"]["ci_build_role"]
    assert "m.repository_arn" in root["ecr_repository_arns"]


# --- the smoke-test hook ----------------------------------------------------------------------


def test_smoke_test_role_reports_and_writes_only_its_logs() -> None:
    module = _module("smoke-test-hook")
    statements = _statements(module["data"]["aws_iam_policy_document"]["this"])
    assert statements["ReportHook"]["actions"] == ["codedeploy:PutLifecycleEventHookExecutionStatus"]
    # No resource type in the Service Authorization Reference: IAM evaluates it against "*".
    assert statements["ReportHook"]["resources"] == ["*"]
    assert statements["OwnLogs"]["actions"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statements["OwnLogs"]["resources"] == ["${local.log_group_arn}:*"]
    assert "/aws/lambda/${local.function_name}" in module["locals"]["log_group_arn"]
    # Unscoped only where AWS has no resource-level permissions: ENIs, X-Ray and the report.
    unscoped = {sid for sid, st in statements.items() if st["resources"] == ["*"]}
    assert unscoped == {"VpcNetworkInterfaces", "Tracing", "ReportHook"}
    assert all(a.startswith(("ec2:", "xray:", "codedeploy:")) for sid in unscoped for a in statements[sid]["actions"])
    # The root tells it the load balancer's scheme (its egress to the test port follows it).
    root = load_hcl(ROOT_DIR)["module"]["smoke_test"]
    assert root["load_balancer_internal"] == "${each.value.internal}"

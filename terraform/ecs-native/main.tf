# The ECS-native root: services released by ECS itself (deployment controller ECS), beside the
# CodeDeploy root (terraform/, hashicorp/aws 5.x). Per service: two weighted listener rules and the
# service; shared: ECS's infrastructure and hook roles and the CI release role's extra grants.
#
# Everything else a service needs stays in the CodeDeploy root and is read from its state
# (terraform_remote_state on its ecs_native_shared output) rather than passed in as variables: the
# ARNs are made there and change only there, so a plan here always sees the current ones, and an
# operator never copies a dozen ARNs per service by hand. The cost: this root's runner needs
# s3:GetObject on the CodeDeploy root's state object (it holds no secrets: no resource of that root
# has a sensitive attribute).

data "terraform_remote_state" "codedeploy" {
  backend = "s3"
  config = {
    bucket = var.codedeploy_state.bucket
    key    = var.codedeploy_state.key
    region = var.codedeploy_state.region
  }
}

locals {
  shared = data.terraform_remote_state.codedeploy.outputs.ecs_native_shared
  # Only the services named here: the CodeDeploy root's other services stay its own.
  base = { for k, s in var.services : k => local.shared.services[k] }

  # The target group production traffic goes to now: the production listener's forward action (a
  # plain target_group_arn, or the one weighted target group a forward block carries).
  live_target_group = {
    for k, l in data.aws_lb_listener.production : k => try(coalesce(
      try(l.default_action[0].target_group_arn, ""),
      try(one([for tg in l.default_action[0].forward[0].target_group : tg.arn if tg.weight > 0]), ""),
    ), "")
  }

  hook_function_arns = distinct(flatten([for k, s in var.services : [for h in s.lifecycle_hooks : h.function_arn]]))
}

data "aws_lb_listener" "production" {
  for_each = var.services

  arn = local.base[each.key].prod_listener_arn
}

module "ecs_infrastructure_role" {
  source = "../../modules/ecs-infrastructure-role"

  name               = var.project
  hook_function_arns = local.hook_function_arns
}

# The resource address module.ecs_native_service["<key>"].aws_ecs_service.this is what imports.tf,
# `orchestrator migrate` and docs/migration.md name: keep it.
module "ecs_native_service" {
  source   = "../../modules/ecs-native-service"
  for_each = var.services

  service_name        = local.base[each.key].service_name
  cluster_arn         = local.shared.cluster_arn
  task_definition_arn = local.base[each.key].task_definition_arn
  desired_count       = local.base[each.key].desired_count
  subnet_ids          = local.base[each.key].subnet_ids
  security_group_ids  = local.base[each.key].security_group_ids
  container_name      = local.base[each.key].container_name
  container_port      = local.base[each.key].container_port

  strategy                 = each.value.strategy
  bake_time_minutes        = each.value.bake_time_minutes
  linear                   = each.value.linear
  canary                   = each.value.canary
  lifecycle_hooks          = each.value.lifecycle_hooks
  hook_role_arn            = module.ecs_infrastructure_role.hook_role_arn
  alarm_names              = each.value.alarm_names
  alarm_rollback           = each.value.alarm_rollback
  circuit_breaker_rollback = each.value.circuit_breaker_rollback

  prod_listener_arn       = local.base[each.key].prod_listener_arn
  test_listener_arn       = local.base[each.key].test_listener_arn
  blue_target_group_arn   = local.base[each.key].blue_target_group_arn
  green_target_group_arn  = local.base[each.key].green_target_group_arn
  live_target_group_arn   = local.live_target_group[each.key]
  infrastructure_role_arn = module.ecs_infrastructure_role.infrastructure_role_arn
  listener_rule_priority  = each.value.listener_rule_priority
}

# --- the CI release role's grants for ECS-native releases ----------------------------------------
# Attached by name to the role the CodeDeploy root made (modules/ci-deploy-role), so that module
# stays as it is. Each action is scoped as the Service Authorization Reference ("Actions, resources,
# and condition keys for Amazon Elastic Container Service") allows: UpdateService, DescribeServices
# and ListServiceDeployments on the service; Describe/Stop/ContinueServiceDeployment on the service
# and its service-deployment ARNs; DescribeServiceRevisions on the service and its service-revision
# ARNs; DescribeTaskSets on its task-set ARNs.

locals {
  service_arns = [for k in keys(var.services) : local.base[k].service_arn]
  # arn:...:service/<cluster>/<service> -> arn:...:<kind>/<cluster>/<service>/*
  service_children = {
    for kind in ["service-deployment", "service-revision", "task-set"] :
    kind => [for a in local.service_arns : "${replace(a, ":service/", ":${kind}/")}/*"]
  }
  pass_role_arns = compact([module.ecs_infrastructure_role.infrastructure_role_arn, module.ecs_infrastructure_role.hook_role_arn])
}

data "aws_iam_policy_document" "ci_ecs_native" {
  #checkov:skip=CKV_AWS_356:The ELB Describe calls support no resource-level permissions; every ECS action is scoped to the services and their deployments, revisions and task sets.
  statement {
    sid       = "ReleaseServices"
    actions   = ["ecs:DescribeServices", "ecs:ListServiceDeployments", "ecs:UpdateService"]
    resources = local.service_arns
  }

  statement {
    sid = "ServiceDeployments"
    actions = [
      "ecs:ContinueServiceDeployment", # approve: continue a PAUSE hook
      "ecs:DescribeServiceDeployments",
      "ecs:StopServiceDeployment", # stop (ROLLBACK) and stop --no-rollback (ABORT)
    ]
    resources = concat(local.service_arns, local.service_children["service-deployment"])
  }

  statement {
    sid       = "ServiceRevisions"
    actions   = ["ecs:DescribeServiceRevisions"]
    resources = concat(local.service_arns, local.service_children["service-revision"])
  }

  statement {
    sid       = "MigrationPreflight"
    actions   = ["ecs:DescribeTaskSets"] # `orchestrator migrate`: exactly one PRIMARY task set
    resources = local.service_children["task-set"]
  }

  statement {
    sid = "ReadListenerRules"
    actions = [
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeRules",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetHealth",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "ReadEcsRoles"
    actions   = ["iam:GetRole"] # `orchestrator migrate`'s preflight: the roles exist
    resources = local.pass_role_arns
  }

  statement {
    sid       = "PassEcsRoles"
    actions   = ["iam:PassRole"]
    resources = local.pass_role_arns

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs.amazonaws.com"]
    }
  }
}

resource "aws_iam_policy" "ci_ecs_native" {
  count = local.shared.ci_deploy_role_name == null ? 0 : 1

  name        = "${var.project}-ci-deploy-ecs-native"
  description = "ECS-native releases and migration for the CI release role (${local.shared.ci_deploy_role_name})"
  policy      = data.aws_iam_policy_document.ci_ecs_native.json
}

resource "aws_iam_role_policy_attachment" "ci_ecs_native" {
  count = local.shared.ci_deploy_role_name == null ? 0 : 1

  role       = local.shared.ci_deploy_role_name
  policy_arn = aws_iam_policy.ci_ecs_native[0].arn
}

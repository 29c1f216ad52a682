# One root for one or many services (var.services). Per service: an ECR repository, a load balancer
# with the blue/green target-group pair and two listeners, the ECS service and its CodeDeploy
# deployment group. Shared: the VPC, the cluster and the CI release role.
#
# Terraform makes the infrastructure once; releases then go through `orchestrator release`
# (CodeDeploy), and every attribute a release changes is ignored here.

locals {
  default_taskdef_path = "${path.root}/../taskdef.json"
  # Each service's bootstrap task definition template, by the orchestrator's convention
  # (orchestrator/servicefiles.py): its taskdef_path, else services/<key>/taskdef.json when that file
  # exists, else the top-level taskdef.json.
  taskdef_paths = {
    for k, s in var.services : k => coalesce(
      s.taskdef_path,
      fileexists("${path.root}/../services/${k}/taskdef.json") ? "${path.root}/../services/${k}/taskdef.json" : local.default_taskdef_path,
    )
  }

  vpc_id             = var.network.create_vpc ? module.network[0].vpc_id : var.network.vpc_id
  public_subnet_ids  = var.network.create_vpc ? module.network[0].public_subnet_ids : var.network.public_subnet_ids
  private_subnet_ids = var.network.create_vpc ? module.network[0].private_subnet_ids : var.network.private_subnet_ids
  # The test listener's default audience. An existing VPC's block is read from AWS (data.aws_vpc).
  vpc_cidr_block = var.network.create_vpc ? var.network.cidr_block : one(data.aws_vpc.existing[*].cidr_block)
  # Where the private subnets' traffic to a public address comes from: an internet-facing load
  # balancer sees the smoke test's requests arrive from these, not from the VPC.
  nat_public_ips = var.network.create_vpc ? module.network[0].nat_public_ips : var.network.nat_public_ips

  names = { for k, s in var.services : k => "${var.project}-${k}" }
}

module "network" {
  source = "../modules/network"
  count  = var.network.create_vpc ? 1 : 0

  name               = var.project
  cidr_block         = var.network.cidr_block
  availability_zones = var.network.availability_zones
  single_nat_gateway = var.network.single_nat_gateway
}

data "aws_vpc" "existing" {
  count = var.network.create_vpc ? 0 : 1
  id    = var.network.vpc_id
}

resource "aws_ecs_cluster" "this" {
  name = var.project

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

module "ecr" {
  source   = "../modules/ecr"
  for_each = var.services

  name = "${var.project}/${each.key}"
}

module "alb" {
  source   = "../modules/alb"
  for_each = var.services

  name                       = local.names[each.key]
  vpc_id                     = local.vpc_id
  internal                   = each.value.internal
  subnet_ids                 = each.value.internal ? local.private_subnet_ids : local.public_subnet_ids
  container_port             = each.value.container_port
  health_check_path          = each.value.health_check_path
  health_check_matcher       = each.value.health_check_matcher
  certificate_arn            = each.value.certificate_arn
  test_listener_port         = each.value.test_listener_port
  ingress_cidr_blocks        = each.value.ingress_cidr_blocks
  vpc_cidr_block             = local.vpc_cidr_block
  test_ingress_cidr_blocks   = each.value.test_ingress_cidr_blocks
  enable_deletion_protection = each.value.deletion_protection
  require_https              = var.environment_type == "production"

  access_logs_bucket  = var.access_logs.bucket
  access_logs_prefix  = var.access_logs.prefix == null ? null : "${var.access_logs.prefix}/${local.names[each.key]}"
  access_logs_enabled = var.access_logs.enabled
}

module "ecs_service" {
  source   = "../modules/ecs-service"
  for_each = var.services

  name           = local.names[each.key]
  service_name   = each.key
  cluster_name   = aws_ecs_cluster.this.name
  create_cluster = false

  vpc_id                = local.vpc_id
  subnet_ids            = local.private_subnet_ids
  alb_security_group_id = module.alb[each.key].security_group_id
  blue_target_group_arn = module.alb[each.key].blue_target_group_arn
  listener_arns         = module.alb[each.key].listener_arns

  container_name        = each.value.container_name
  container_port        = each.value.container_port
  taskdef_template_path = local.taskdef_paths[each.key]
  bootstrap_image       = each.value.bootstrap_image
  desired_count         = each.value.desired_count
  log_retention_days    = each.value.log_retention_days

  # The other outputs-contract keys, so a taskdef.json may use any of them as it may at release time.
  template_vars = {
    codedeploy_app_name              = local.names[each.key]
    codedeploy_deployment_group_name = local.names[each.key]
    ecr_repository_url               = module.ecr[each.key].repository_url
    prod_listener_arn                = module.alb[each.key].prod_listener_arn
    test_listener_arn                = module.alb[each.key].test_listener_arn
    blue_target_group_name           = module.alb[each.key].blue_target_group_name
    green_target_group_name          = module.alb[each.key].green_target_group_name
    alb_dns_name                     = module.alb[each.key].alb_dns_name
  }
}

module "codedeploy" {
  source   = "../modules/codedeploy"
  for_each = var.services

  name                          = local.names[each.key]
  cluster_name                  = aws_ecs_cluster.this.name
  service_name                  = module.ecs_service[each.key].service_name
  prod_listener_arns            = [module.alb[each.key].prod_listener_arn]
  test_listener_arns            = [module.alb[each.key].test_listener_arn]
  blue_target_group_name        = module.alb[each.key].blue_target_group_name
  green_target_group_name       = module.alb[each.key].green_target_group_name
  deployment_config_name        = each.value.deployment_config_name
  deployment_ready_action       = each.value.deployment_ready_action
  deployment_ready_wait_minutes = each.value.deployment_ready_wait
  termination_wait_minutes      = each.value.termination_wait_minutes
  alarm_names                   = each.value.alarm_names
  hook_function_arns            = each.value.smoke_test == null ? [] : [module.smoke_test[each.key].function_arn]
  notifications                 = each.value.notifications
}

# The optional AfterAllowTestTraffic smoke test: requests the test listener from inside the VPC.
module "smoke_test" {
  source   = "../modules/smoke-test-hook"
  for_each = { for k, s in var.services : k => s if s.smoke_test != null }

  name                   = local.names[each.key]
  test_listener_url      = "http://${module.alb[each.key].alb_dns_name}:${each.value.test_listener_port}"
  test_listener_port     = each.value.test_listener_port
  paths                  = each.value.smoke_test.paths
  expected_status        = each.value.smoke_test.expected_status
  retries                = each.value.smoke_test.retries
  retry_delay_seconds    = each.value.smoke_test.retry_delay_seconds
  time_limit_seconds     = each.value.smoke_test.time_limit_seconds
  vpc_id                 = local.vpc_id
  vpc_cidr_block         = local.vpc_cidr_block
  subnet_ids             = local.private_subnet_ids
  load_balancer_internal = each.value.internal
  log_retention_days     = each.value.log_retention_days
}

# The test listener admits the smoke test even when test_ingress_cidr_blocks narrows it. Internal load
# balancer: its security group (the request stays in the VPC). Internet-facing: the request leaves
# through a NAT gateway and arrives from its Elastic IP, which a group reference never matches.
resource "aws_vpc_security_group_ingress_rule" "smoke_test" {
  for_each = { for k, m in module.smoke_test : k => m if var.services[k].internal }

  security_group_id            = module.alb[each.key].security_group_id
  description                  = "Smoke test of the replacement tasks (CodeDeploy AfterAllowTestTraffic)"
  ip_protocol                  = "tcp"
  from_port                    = var.services[each.key].test_listener_port
  to_port                      = var.services[each.key].test_listener_port
  referenced_security_group_id = each.value.security_group_id
}

resource "aws_vpc_security_group_ingress_rule" "smoke_test_nat" {
  for_each = {
    for pair in setproduct([for k, m in module.smoke_test : k if !var.services[k].internal], range(length(local.nat_public_ips))) :
    "${pair[0]}-${pair[1]}" => { service = pair[0], ip = local.nat_public_ips[pair[1]] }
  }

  security_group_id = module.alb[each.value.service].security_group_id
  description       = "Smoke test of the replacement tasks, through NAT gateway ${each.value.ip}"
  ip_protocol       = "tcp"
  from_port         = var.services[each.value.service].test_listener_port
  to_port           = var.services[each.value.service].test_listener_port
  cidr_ipv4         = "${each.value.ip}/32"
}

# The deploy job's role: register, deploy, watch, stop. Not the build job's (it runs repository code).
module "ci_deploy_role" {
  source = "../modules/ci-deploy-role"
  count  = length(var.ci_deploy.github_subjects) > 0 ? 1 : 0

  name                             = "${var.project}-ci-deploy"
  github_subjects                  = var.ci_deploy.github_subjects
  create_oidc_provider             = var.ci_deploy.create_oidc_provider
  oidc_provider_arn                = var.ci_deploy.oidc_provider_arn
  max_session_duration_seconds     = var.ci_deploy.max_session_duration_seconds
  ecr_repository_arns              = [for k, m in module.ecr : m.repository_arn]
  pass_role_arns                   = flatten([for k, m in module.ecs_service : [m.task_execution_role_arn, m.task_role_arn]])
  ecs_service_arns                 = [for k, m in module.ecs_service : m.service_arn]
  ecs_cluster_arns                 = [aws_ecs_cluster.this.arn]
  log_group_arns                   = [for k, m in module.ecs_service : m.log_group_arn]
  codedeploy_application_arns      = [for k, m in module.codedeploy : m.app_arn]
  codedeploy_deployment_group_arns = [for k, m in module.codedeploy : m.deployment_group_arn]
}

# The build job's role: push images to the services' repositories, nothing else.
module "ci_build_role" {
  source = "../modules/ci-build-role"
  count  = length(var.ci_deploy.build_github_subjects) > 0 ? 1 : 0

  name                = "${var.project}-ci-build"
  github_subjects     = var.ci_deploy.build_github_subjects
  oidc_provider_arn   = var.ci_deploy.create_oidc_provider ? one(module.ci_deploy_role[*].oidc_provider_arn) : var.ci_deploy.oidc_provider_arn
  ecr_repository_arns = [for k, m in module.ecr : m.repository_arn]
}

# The contract the orchestrator reads (`terraform output -json`; orchestrator/contract.py lists the
# keys in SERVICE_KEYS, and the sandbox writes the same shape to .sandbox/outputs.json).

output "aws_region" {
  description = "AWS region of the stack."
  value       = var.aws_region
}

output "services" {
  description = "Per service key: everything a release needs to find its cluster, service, roles, listeners, target groups and CodeDeploy group."
  value = {
    for k, s in var.services : k => {
      cluster_name                     = module.ecs_service[k].cluster_name
      service_name                     = module.ecs_service[k].service_name
      container_name                   = module.ecs_service[k].container_name
      container_port                   = module.ecs_service[k].container_port
      codedeploy_app_name              = module.codedeploy[k].app_name
      codedeploy_deployment_group_name = module.codedeploy[k].deployment_group_name
      ecr_repository_url               = module.ecr[k].repository_url
      task_execution_role_arn          = module.ecs_service[k].task_execution_role_arn
      task_role_arn                    = module.ecs_service[k].task_role_arn
      log_group_name                   = module.ecs_service[k].log_group_name
      prod_listener_arn                = module.alb[k].prod_listener_arn
      test_listener_arn                = module.alb[k].test_listener_arn
      blue_target_group_name           = module.alb[k].blue_target_group_name
      green_target_group_name          = module.alb[k].green_target_group_name
      alb_dns_name                     = module.alb[k].alb_dns_name
      smoke_test_function_name         = try(module.smoke_test[k].function_name, "")
      # This root releases through CodeDeploy; the ECS-native keys are the other engine's.
      deployment_engine           = "codedeploy"
      prod_listener_rule_arn      = ""
      test_listener_rule_arn      = ""
      ecs_infrastructure_role_arn = ""
    }
  }
}

output "ci_deploy_role_arn" {
  description = "ARN of the GitHub Actions release role, for the deploy job (vars.AWS_ROLE_ARN of the <env> environment); null when ci_deploy.github_subjects is empty."
  value       = one(module.ci_deploy_role[*].role_arn)
}

output "ci_deploy_max_session_seconds" {
  description = "The release role's maximum session, for the deploy workflow (vars.AWS_ROLE_MAX_SESSION_SECONDS of the <env> environment); null without the role."
  value       = one(module.ci_deploy_role[*].max_session_duration_seconds)
}

output "ci_build_role_arn" {
  description = "ARN of the GitHub Actions build role, for the build job (vars.AWS_BUILD_ROLE_ARN of the build-<env> environment): pushes to the services' ECR repositories only; null when ci_deploy.build_github_subjects is empty."
  value       = one(module.ci_build_role[*].role_arn)
}

output "notification_topic_arns" {
  description = "Per service key: the SNS topic CodeDeploy's triggers publish to (start, success, failure, rollback, stop); services without notifications are left out."
  value       = { for k, m in module.codedeploy : k => m.notification_topic_arn if m.notification_topic_arn != null }
}

# What the ECS-native root (terraform/ecs-native) takes from this one through terraform_remote_state:
# the shared parts a service keeps when it moves to ECS's own blue/green (network, cluster, load
# balancer, target groups, listeners, repository, roles, log group). Not part of the release contract.
output "ecs_native_shared" {
  description = "Shared parts for terraform/ecs-native: the cluster, the CI release role's name and, per service key, its network, listeners, target-group pair and the contract values that do not change with the engine."
  value = {
    cluster_arn         = aws_ecs_cluster.this.arn
    cluster_name        = aws_ecs_cluster.this.name
    ci_deploy_role_name = one(module.ci_deploy_role[*].role_name)
    services = {
      for k, s in var.services : k => {
        service_name             = module.ecs_service[k].service_name
        service_arn              = module.ecs_service[k].service_arn
        container_name           = module.ecs_service[k].container_name
        container_port           = module.ecs_service[k].container_port
        task_definition_arn      = module.ecs_service[k].bootstrap_task_definition_arn
        subnet_ids               = local.private_subnet_ids
        security_group_ids       = [module.ecs_service[k].security_group_id]
        desired_count            = s.desired_count
        ecr_repository_url       = module.ecr[k].repository_url
        task_execution_role_arn  = module.ecs_service[k].task_execution_role_arn
        task_role_arn            = module.ecs_service[k].task_role_arn
        log_group_name           = module.ecs_service[k].log_group_name
        alb_dns_name             = module.alb[k].alb_dns_name
        prod_listener_arn        = module.alb[k].prod_listener_arn
        test_listener_arn        = module.alb[k].test_listener_arn
        blue_target_group_arn    = module.alb[k].blue_target_group_arn
        green_target_group_arn   = module.alb[k].green_target_group_arn
        blue_target_group_name   = module.alb[k].blue_target_group_name
        green_target_group_name  = module.alb[k].green_target_group_name
        smoke_test_function_name = try(module.smoke_test[k].function_name, "")
        smoke_test_function_arn  = try(module.smoke_test[k].function_arn, "")
      }
    }
  }
}

# The same contract as terraform/outputs.tf (orchestrator/contract.py's SERVICE_KEYS), for the
# services released by ECS itself. The orchestrator reads both roots' `services` into one contract
# (orchestrator/target.py): a key in both is the one from this root.

output "aws_region" {
  description = "AWS region of the stack."
  value       = var.aws_region
}

output "services" {
  description = "Per service key: everything a release needs; deployment_engine = \"ecs\", with the listener rules ECS moves weights on and the role it moves them with (the codedeploy_* keys are \"\")."
  value = {
    for k, s in var.services : k => {
      cluster_name                     = local.shared.cluster_name
      service_name                     = module.ecs_native_service[k].service_name
      container_name                   = local.base[k].container_name
      container_port                   = local.base[k].container_port
      codedeploy_app_name              = ""
      codedeploy_deployment_group_name = ""
      ecr_repository_url               = local.base[k].ecr_repository_url
      task_execution_role_arn          = local.base[k].task_execution_role_arn
      task_role_arn                    = local.base[k].task_role_arn
      log_group_name                   = local.base[k].log_group_name
      prod_listener_arn                = local.base[k].prod_listener_arn
      test_listener_arn                = local.base[k].test_listener_arn
      blue_target_group_name           = local.base[k].blue_target_group_name
      green_target_group_name          = local.base[k].green_target_group_name
      alb_dns_name                     = local.base[k].alb_dns_name
      # The smoke-test Lambda answers CodeDeploy's hook protocol, not ECS's hookStatus: none here.
      smoke_test_function_name    = ""
      deployment_engine           = "ecs"
      prod_listener_rule_arn      = module.ecs_native_service[k].prod_listener_rule_arn
      test_listener_rule_arn      = module.ecs_native_service[k].test_listener_rule_arn
      ecs_infrastructure_role_arn = module.ecs_infrastructure_role.infrastructure_role_arn
    }
  }
}

output "ci_policy_arn" {
  description = "ARN of the policy attached to the CI release role for ECS-native releases; null when the CodeDeploy root made no CI role."
  value       = one(aws_iam_policy.ci_ecs_native[*].arn)
}

output "hook_role_arn" {
  description = "ARN of the role ECS invokes the lifecycle-hook functions with; null without hooks."
  value       = module.ecs_infrastructure_role.hook_role_arn
}

output "migration" {
  description = "Per service key: what `migrate --to ecs` sends in UpdateService (rules, roles, the deployment configuration). Depends only on the rules and roles, so the targeted apply of docs/migration.md step 2 writes it before the service is imported."
  value = {
    for k, s in var.services : k => {
      prod_listener_rule_arn   = module.ecs_native_service[k].prod_listener_rule_arn
      test_listener_rule_arn   = module.ecs_native_service[k].test_listener_rule_arn
      infrastructure_role_arn  = module.ecs_infrastructure_role.infrastructure_role_arn
      hook_role_arn            = module.ecs_infrastructure_role.hook_role_arn == null ? "" : module.ecs_infrastructure_role.hook_role_arn
      strategy                 = s.strategy
      bake_time_minutes        = s.bake_time_minutes
      linear                   = s.linear
      canary                   = s.canary
      lifecycle_hooks          = s.lifecycle_hooks
      alarm_names              = s.alarm_names
      alarm_rollback           = s.alarm_rollback
      circuit_breaker_rollback = s.circuit_breaker_rollback
    }
  }
}

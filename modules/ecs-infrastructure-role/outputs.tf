output "infrastructure_role_arn" {
  description = "ARN of the infrastructure role: the services' loadBalancers[].advancedConfiguration.roleArn (the outputs contract's ecs_infrastructure_role_arn)."
  value       = aws_iam_role.infrastructure.arn
}

output "infrastructure_role_name" {
  description = "Name of the infrastructure role."
  value       = aws_iam_role.infrastructure.name
}

output "hook_role_arn" {
  description = "ARN of the role ECS invokes the lifecycle-hook functions with; null without hook functions."
  value       = one(aws_iam_role.hooks[*].arn)
}

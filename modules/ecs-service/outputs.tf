output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = var.create_cluster ? aws_ecs_cluster.this[0].name : var.cluster_name
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = local.cluster_arn
}

output "service_name" {
  description = "Name of the ECS service."
  value       = aws_ecs_service.this.name
}

output "service_arn" {
  description = "ARN of the ECS service."
  value       = aws_ecs_service.this.id
}

output "container_name" {
  description = "Container that receives the load balancer's traffic."
  value       = var.container_name
}

output "container_port" {
  description = "Port of that container."
  value       = var.container_port
}

output "task_execution_role_arn" {
  description = "ARN of the task execution role (image pull, logs)."
  value       = aws_iam_role.execution.arn
}

output "task_role_arn" {
  description = "ARN of the task role (the application's permissions)."
  value       = aws_iam_role.task.arn
}

output "log_group_name" {
  description = "Name of the service's CloudWatch log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_group_arn" {
  description = "ARN of the service's CloudWatch log group (read access to one-off tasks' logs)."
  value       = aws_cloudwatch_log_group.this.arn
}

output "task_definition_family" {
  description = "Family of the task definition."
  value       = aws_ecs_task_definition.bootstrap.family
}

output "bootstrap_task_definition_arn" {
  description = "ARN of the first task definition revision (later revisions come from releases)."
  value       = aws_ecs_task_definition.bootstrap.arn
}

output "security_group_id" {
  description = "Security group of the tasks."
  value       = aws_security_group.service.id
}

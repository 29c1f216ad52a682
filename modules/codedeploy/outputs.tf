output "app_name" {
  description = "Name of the CodeDeploy application."
  value       = aws_codedeploy_app.this.name
}

output "app_arn" {
  description = "ARN of the CodeDeploy application."
  value       = aws_codedeploy_app.this.arn
}

output "deployment_group_name" {
  description = "Name of the deployment group."
  value       = aws_codedeploy_deployment_group.this.deployment_group_name
}

output "deployment_group_arn" {
  description = "ARN of the deployment group."
  value       = aws_codedeploy_deployment_group.this.arn
}

output "deployment_config_name" {
  description = "Default deployment configuration of the group."
  value       = aws_codedeploy_deployment_group.this.deployment_config_name
}

output "service_role_arn" {
  description = "ARN of CodeDeploy's service role."
  value       = aws_iam_role.codedeploy.arn
}

output "notification_topic_arn" {
  description = "SNS topic CodeDeploy's triggers publish to (start, success, failure, rollback, stop); null when notifications are disabled."
  value       = local.topic_arn
}

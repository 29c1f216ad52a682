output "service_name" {
  description = "Name of the ECS service."
  value       = aws_ecs_service.this.name
}

output "service_arn" {
  description = "ARN of the ECS service."
  value       = aws_ecs_service.this.id
}

output "prod_listener_rule_arn" {
  description = "ARN of the production listener rule ECS moves weights on; \"\" for a ROLLING service (the outputs contract's prod_listener_rule_arn)."
  value       = try(aws_lb_listener_rule.production[0].arn, "")
}

output "test_listener_rule_arn" {
  description = "ARN of the test listener rule; \"\" for a ROLLING service (the outputs contract's test_listener_rule_arn)."
  value       = try(aws_lb_listener_rule.test[0].arn, "")
}

output "strategy" {
  description = "The deployment strategy the service was given."
  value       = var.strategy
}

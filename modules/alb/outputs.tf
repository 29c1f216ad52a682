output "alb_arn" {
  description = "ARN of the load balancer."
  value       = aws_lb.this.arn
}

output "alb_dns_name" {
  description = "DNS name of the load balancer."
  value       = aws_lb.this.dns_name
}

output "alb_zone_id" {
  description = "Route 53 zone of the load balancer (for an alias record)."
  value       = aws_lb.this.zone_id
}

output "security_group_id" {
  description = "Security group of the load balancer; the tasks' security group admits traffic from it."
  value       = aws_security_group.alb.id
}

output "prod_listener_arn" {
  description = "ARN of the production listener (HTTPS on 443 with a certificate, HTTP on 80 otherwise)."
  value       = aws_lb_listener.production.arn
}

output "test_listener_arn" {
  description = "ARN of the test listener."
  value       = aws_lb_listener.test.arn
}

output "listener_arns" {
  description = "ARNs of every listener of this module; the ECS service is created after them."
  value       = concat([aws_lb_listener.production.arn, aws_lb_listener.test.arn], aws_lb_listener.http_redirect[*].arn)
}

output "blue_target_group_name" {
  description = "Name of the blue target group (the service's target group at creation)."
  value       = aws_lb_target_group.this["blue"].name
}

output "blue_target_group_arn" {
  description = "ARN of the blue target group."
  value       = aws_lb_target_group.this["blue"].arn
}

output "green_target_group_name" {
  description = "Name of the green target group (CodeDeploy's first replacement)."
  value       = aws_lb_target_group.this["green"].name
}

output "green_target_group_arn" {
  description = "ARN of the green target group."
  value       = aws_lb_target_group.this["green"].arn
}

output "target_group_arn_suffixes" {
  description = "ARN suffixes of the blue and green target groups (for CloudWatch alarm dimensions)."
  value       = { for k, tg in aws_lb_target_group.this : k => tg.arn_suffix }
}

output "alb_arn_suffix" {
  description = "ARN suffix of the load balancer (for CloudWatch alarm dimensions)."
  value       = aws_lb.this.arn_suffix
}

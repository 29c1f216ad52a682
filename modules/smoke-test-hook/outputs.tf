output "function_name" {
  description = "Name of the smoke-test Lambda function: what the AppSpec names at AfterAllowTestTraffic (the outputs contract's smoke_test_function_name)."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the smoke-test Lambda function: the CodeDeploy service role must be allowed to invoke it."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "security_group_id" {
  description = "Security group of the function: the load balancer's must admit it on the test listener's port."
  value       = aws_security_group.this.id
}

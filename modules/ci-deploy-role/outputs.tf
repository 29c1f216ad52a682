output "role_arn" {
  description = "ARN of the role; give it to aws-actions/configure-aws-credentials as role-to-assume."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the role."
  value       = aws_iam_role.this.name
}

output "oidc_provider_arn" {
  description = "ARN of the GitHub Actions OIDC provider the role trusts."
  value       = local.oidc_provider_arn
}

output "max_session_duration_seconds" {
  description = "The role's maximum session: the deploy workflow's vars.AWS_ROLE_MAX_SESSION_SECONDS."
  value       = aws_iam_role.this.max_session_duration
}

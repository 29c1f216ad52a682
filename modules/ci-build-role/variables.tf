variable "name" {
  description = "Name of the role the build job assumes, for example \"demo-ci-build\"."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9+=,.@_-]{1,64}$", var.name))
    error_message = "name must be a valid IAM role name (1-64 characters)."
  }
}

variable "oidc_provider_arn" {
  description = "ARN of the token.actions.githubusercontent.com OIDC provider (modules/ci-deploy-role's output oidc_provider_arn, or the account's existing one)."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:iam::[0-9]{12}:oidc-provider/token\\.actions\\.githubusercontent\\.com$", var.oidc_provider_arn))
    error_message = "oidc_provider_arn must be the ARN of the token.actions.githubusercontent.com OIDC provider."
  }
}

variable "github_subjects" {
  description = "Exact OIDC subjects of the build job, such as \"repo:acme/shop:environment:build-prod\". They must differ from the release role's, or the build job could assume it. No wildcards, never :pull_request."
  type        = list(string)

  validation {
    condition     = length(var.github_subjects) > 0 && alltrue([for s in var.github_subjects : can(regex("^repo:[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+:(ref:refs/(heads|tags)/[^*?]+|environment:[^*?]+)$", s))])
    error_message = "github_subjects must be exact subjects: repo:<owner>/<repo>:ref:refs/heads/<branch>, :ref:refs/tags/<tag> or :environment:<name>, without wildcards."
  }

  validation {
    condition     = !anytrue([for s in var.github_subjects : endswith(s, ":pull_request")])
    error_message = "github_subjects must not hold a :pull_request subject: any pull request (a fork's code too) could then push images."
  }
}

variable "ecr_repository_arns" {
  description = "The ECR repositories the build job pushes to (the services' own), and nothing else."
  type        = list(string)

  validation {
    condition     = length(var.ecr_repository_arns) > 0 && alltrue([for a in var.ecr_repository_arns : can(regex("^arn:[a-z-]+:ecr:[a-z0-9-]+:[0-9]{12}:repository/[^*]+$", a))])
    error_message = "ecr_repository_arns must hold ECR repository ARNs, without wildcards."
  }
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}

variable "name" {
  description = "Name of the role the CI workflow assumes, for example \"demo-ci-deploy\"."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9+=,.@_-]{1,64}$", var.name))
    error_message = "name must be a valid IAM role name (1-64 characters)."
  }
}

variable "create_oidc_provider" {
  description = "Create the GitHub Actions OIDC provider. false: use oidc_provider_arn (an account has at most one per URL)."
  type        = bool
  default     = true
}

variable "oidc_provider_arn" {
  description = "ARN of an existing token.actions.githubusercontent.com OIDC provider, when create_oidc_provider is false."
  type        = string
  default     = null

  validation {
    condition     = var.oidc_provider_arn == null || can(regex("^arn:[a-z-]+:iam::[0-9]{12}:oidc-provider/token\\.actions\\.githubusercontent\\.com$", var.oidc_provider_arn))
    error_message = "oidc_provider_arn must be the ARN of the token.actions.githubusercontent.com OIDC provider."
  }
}

variable "github_subjects" {
  description = "Exact OIDC subjects allowed to assume the role, such as \"repo:acme/shop:environment:prod\" or \"repo:acme/shop:ref:refs/heads/main\". No wildcards, and never :pull_request (any pull request, forks included, could release)."
  type        = list(string)

  validation {
    condition     = length(var.github_subjects) > 0 && alltrue([for s in var.github_subjects : can(regex("^repo:[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+:(ref:refs/(heads|tags)/[^*?]+|environment:[^*?]+)$", s))])
    error_message = "github_subjects must be exact subjects: repo:<owner>/<repo>:ref:refs/heads/<branch>, :ref:refs/tags/<tag> or :environment:<name>, without wildcards."
  }

  validation {
    # A pull_request subject is presented by workflows of any pull request, including a fork's code.
    condition     = !anytrue([for s in var.github_subjects : endswith(s, ":pull_request")])
    error_message = "github_subjects must not hold a :pull_request subject: any pull request (a fork's code too) could then assume the release role. Use the deploy job's environment, :environment:<name>."
  }
}

variable "ecr_repository_arns" {
  description = "ECR repositories the workflow pushes images to."
  type        = list(string)

  validation {
    condition     = length(var.ecr_repository_arns) > 0 && alltrue([for a in var.ecr_repository_arns : can(regex("^arn:[a-z-]+:ecr:[a-z0-9-]+:[0-9]{12}:repository/.+$", a))])
    error_message = "ecr_repository_arns must hold ECR repository ARNs."
  }
}

variable "pass_role_arns" {
  description = "Exactly the roles a task definition may name: the services' task execution and task roles."
  type        = list(string)

  validation {
    condition     = length(var.pass_role_arns) > 0 && alltrue([for a in var.pass_role_arns : can(regex("^arn:[a-z-]+:iam::[0-9]{12}:role/.+$", a))]) && alltrue([for a in var.pass_role_arns : !strcontains(a, "*")])
    error_message = "pass_role_arns must hold role ARNs, without wildcards."
  }
}

variable "ecs_service_arns" {
  description = "ECS services the workflow releases (read only: CodeDeploy changes them)."
  type        = list(string)

  validation {
    condition     = length(var.ecs_service_arns) > 0 && alltrue([for a in var.ecs_service_arns : can(regex("^arn:[a-z-]+:ecs:[a-z0-9-]+:[0-9]{12}:service/.+$", a))])
    error_message = "ecs_service_arns must hold ECS service ARNs (arn:...:ecs:<region>:<account>:service/<cluster>/<service>)."
  }
}

variable "ecs_cluster_arns" {
  description = "ECS clusters of those services (to read their tasks)."
  type        = list(string)

  validation {
    condition     = length(var.ecs_cluster_arns) > 0 && alltrue([for a in var.ecs_cluster_arns : can(regex("^arn:[a-z-]+:ecs:[a-z0-9-]+:[0-9]{12}:cluster/.+$", a))])
    error_message = "ecs_cluster_arns must hold ECS cluster ARNs."
  }
}

variable "log_group_arns" {
  description = "CloudWatch log groups of those services (to read one-off tasks' logs: `orchestrator run`, `release --pre-task`)."
  type        = list(string)

  validation {
    condition     = length(var.log_group_arns) > 0 && alltrue([for a in var.log_group_arns : can(regex("^arn:[a-z-]+:logs:[a-z0-9-]+:[0-9]{12}:log-group:[^*]+$", a))])
    error_message = "log_group_arns must hold CloudWatch Logs log group ARNs (without a :* suffix)."
  }
}

variable "codedeploy_application_arns" {
  description = "CodeDeploy applications of those services."
  type        = list(string)

  validation {
    condition     = length(var.codedeploy_application_arns) > 0 && alltrue([for a in var.codedeploy_application_arns : can(regex("^arn:[a-z-]+:codedeploy:[a-z0-9-]+:[0-9]{12}:application:.+$", a))])
    error_message = "codedeploy_application_arns must hold CodeDeploy application ARNs."
  }
}

variable "codedeploy_deployment_group_arns" {
  description = "CodeDeploy deployment groups of those services."
  type        = list(string)

  validation {
    condition     = length(var.codedeploy_deployment_group_arns) > 0 && alltrue([for a in var.codedeploy_deployment_group_arns : can(regex("^arn:[a-z-]+:codedeploy:[a-z0-9-]+:[0-9]{12}:deploymentgroup:.+$", a))])
    error_message = "codedeploy_deployment_group_arns must hold CodeDeploy deployment group ARNs."
  }
}

variable "max_session_duration_seconds" {
  description = "Longest session of the role. The deploy workflow asks for a session covering the release's wait budget up to this (and watches only until traffic has shifted beyond it); 7200 matches the deploy job's 120-minute timeout."
  type        = number
  default     = 7200

  validation {
    condition     = var.max_session_duration_seconds >= 3600 && var.max_session_duration_seconds <= 43200
    error_message = "max_session_duration_seconds must be from 3600 to 43200."
  }
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}

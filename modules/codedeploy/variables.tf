variable "name" {
  description = "Name of the CodeDeploy application and deployment group, and prefix of its role (<name>-codedeploy), for example \"demo-web\"."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9._-]{0,52}$", var.name))
    error_message = "name must be 1-53 letters, digits, '.', '_' or '-' (the role name adds \"-codedeploy\", 64 characters at most)."
  }
}

variable "cluster_name" {
  description = "Name of the ECS cluster of the service."
  type        = string
}

variable "service_name" {
  description = "Name of the ECS service (created with the CODE_DEPLOY deployment controller)."
  type        = string
}

variable "prod_listener_arns" {
  description = "Listener(s) that carry production traffic; CodeDeploy shifts them from the original to the replacement target group."
  type        = list(string)

  validation {
    condition     = length(var.prod_listener_arns) >= 1 && alltrue([for a in var.prod_listener_arns : can(regex("^arn:[a-z-]+:elasticloadbalancing:", a))])
    error_message = "prod_listener_arns must hold at least one listener ARN."
  }
}

variable "test_listener_arns" {
  description = "Listener(s) that carry test traffic to the replacement tasks before the production shift."
  type        = list(string)

  validation {
    condition     = alltrue([for a in var.test_listener_arns : can(regex("^arn:[a-z-]+:elasticloadbalancing:", a))])
    error_message = "test_listener_arns must hold listener ARNs."
  }
}

variable "blue_target_group_name" {
  description = "Name of the blue target group (the service's at creation)."
  type        = string
}

variable "green_target_group_name" {
  description = "Name of the green target group."
  type        = string
}

variable "deployment_config_name" {
  description = "Traffic shift of each deployment: CodeDeployDefault.ECSAllAtOnce, ECSLinear10PercentEvery1Minutes, ECSCanary10Percent5Minutes, ..., or a custom ECS config. A release may override it."
  type        = string
  default     = "CodeDeployDefault.ECSAllAtOnce"

  validation {
    condition     = !startswith(var.deployment_config_name, "CodeDeployDefault.") || startswith(var.deployment_config_name, "CodeDeployDefault.ECS")
    error_message = "deployment_config_name must be an ECS configuration (CodeDeployDefault.ECS...) or a custom one."
  }
}

variable "deployment_ready_action" {
  description = "CONTINUE_DEPLOYMENT shifts production traffic as soon as the replacement tasks are ready; STOP_DEPLOYMENT waits for a `continue` (or deployment_ready_wait_minutes, after which the deployment stops)."
  type        = string
  default     = "CONTINUE_DEPLOYMENT"

  validation {
    condition     = contains(["CONTINUE_DEPLOYMENT", "STOP_DEPLOYMENT"], var.deployment_ready_action)
    error_message = "deployment_ready_action must be CONTINUE_DEPLOYMENT or STOP_DEPLOYMENT."
  }
}

variable "deployment_ready_wait_minutes" {
  description = "With STOP_DEPLOYMENT: minutes to wait for a `continue` before the deployment stops. Ignored with CONTINUE_DEPLOYMENT."
  type        = number
  default     = 60

  validation {
    condition     = var.deployment_ready_wait_minutes >= 1 && var.deployment_ready_wait_minutes <= 4320 && floor(var.deployment_ready_wait_minutes) == var.deployment_ready_wait_minutes
    error_message = "deployment_ready_wait_minutes must be a whole number from 1 to 4320 (three days)."
  }
}

variable "termination_action" {
  description = "What happens to the original tasks after a successful deployment. Only TERMINATE: KEEP_ALIVE is invalid for ECS and is refused here."
  type        = string
  default     = "TERMINATE"

  validation {
    condition     = var.termination_action == "TERMINATE"
    error_message = "termination_action must be TERMINATE: ECS blue/green does not support KEEP_ALIVE (the original task set is always removed)."
  }
}

variable "termination_wait_minutes" {
  description = "Minutes the original (blue) tasks keep running after the production shift: the window for a fast rollback."
  type        = number
  default     = 5

  validation {
    condition     = var.termination_wait_minutes >= 0 && var.termination_wait_minutes <= 2880 && floor(var.termination_wait_minutes) == var.termination_wait_minutes
    error_message = "termination_wait_minutes must be a whole number from 0 to 2880 (two days)."
  }
}

variable "auto_rollback_events" {
  description = "Events that roll a deployment back. DEPLOYMENT_STOP_ON_ALARM applies only when alarm_names is not empty."
  type        = list(string)
  default     = ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]

  validation {
    condition     = alltrue([for e in var.auto_rollback_events : contains(["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST"], e)])
    error_message = "auto_rollback_events may hold DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM and DEPLOYMENT_STOP_ON_REQUEST."
  }
}

variable "alarm_names" {
  description = "CloudWatch alarms that stop (and, with DEPLOYMENT_STOP_ON_ALARM, roll back) a deployment when they fire."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.alarm_names) <= 10
    error_message = "CodeDeploy accepts at most 10 alarms per deployment group."
  }
}

variable "ignore_alarm_poll_failure" {
  description = "Go on with a deployment when CodeDeploy cannot read the alarms' state."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}

variable "hook_function_arns" {
  description = "Lambda functions the AppSpec names as lifecycle hooks (e.g. modules/smoke-test-hook's): the service role may invoke these (AWSCodeDeployRoleForECS only allows functions named CodeDeployHook_*)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.hook_function_arns : can(regex("^arn:[a-z-]+:lambda:[a-z0-9-]+:[0-9]{12}:function:", a))])
    error_message = "hook_function_arns must hold Lambda function ARNs."
  }
}

variable "notifications" {
  description = "CodeDeploy triggers to an SNS topic on deployment start, success, failure, rollback and stop. topic_arn: an existing topic (its policy must let the service role publish); create = true: a KMS-encrypted topic <name>-deployments made here. Disabled by default."
  type = object({
    enabled     = optional(bool, false)
    topic_arn   = optional(string)
    create      = optional(bool, false)
    kms_key_arn = optional(string) # for a created topic; null: the AWS managed key alias/aws/sns
  })
  default = {}

  validation {
    condition     = !var.notifications.enabled || ((var.notifications.topic_arn != null) != var.notifications.create)
    error_message = "notifications: when enabled, give exactly one of topic_arn (an existing topic) or create = true."
  }

  validation {
    condition     = var.notifications.topic_arn == null || can(regex("^arn:[a-z-]+:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", coalesce(var.notifications.topic_arn, "x")))
    error_message = "notifications.topic_arn must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)."
  }

  validation {
    condition     = var.notifications.kms_key_arn == null || can(regex("^arn:[a-z-]+:kms:", coalesce(var.notifications.kms_key_arn, "x")))
    error_message = "notifications.kms_key_arn must be a KMS key ARN."
  }
}

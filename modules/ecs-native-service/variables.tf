variable "service_name" {
  description = "Name of the ECS service, for example \"web\" (an existing service's name when it is imported)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_-]{0,254}$", var.service_name))
    error_message = "service_name must be 1-255 letters, digits, hyphens or underscores."
  }
}

variable "cluster_arn" {
  description = "ARN of the ECS cluster the service runs in."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:ecs:[a-z0-9-]+:[0-9]{12}:cluster/.+$", var.cluster_arn))
    error_message = "cluster_arn must be an ECS cluster ARN (arn:aws:ecs:<region>:<account>:cluster/<name>)."
  }
}

variable "task_definition_arn" {
  description = "Task definition of the service at creation; ignored afterwards (releases change it)."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:ecs:[a-z0-9-]+:[0-9]{12}:task-definition/.+:[0-9]+$", var.task_definition_arn))
    error_message = "task_definition_arn must be a task definition ARN with its revision (...:task-definition/<family>:<revision>)."
  }
}

variable "desired_count" {
  description = "Number of tasks at creation; later changes (autoscaling, operators) are left alone."
  type        = number
  default     = 2

  validation {
    condition     = var.desired_count >= 0 && floor(var.desired_count) == var.desired_count
    error_message = "desired_count must be a whole number of at least 0."
  }
}

variable "subnet_ids" {
  description = "Subnets of the tasks (private subnets with a route to ECR, CloudWatch Logs and the image registry)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1 && alltrue([for s in var.subnet_ids : startswith(s, "subnet-")])
    error_message = "subnet_ids must hold at least one subnet ID (subnet-...)."
  }
}

variable "security_group_ids" {
  description = "Security groups of the tasks (the first root's <name>-service group admits the load balancer only)."
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) >= 1 && alltrue([for s in var.security_group_ids : startswith(s, "sg-")])
    error_message = "security_group_ids must hold at least one security group ID (sg-...)."
  }
}

variable "assign_public_ip" {
  description = "Give each task a public IP (only for tasks in public subnets without NAT)."
  type        = bool
  default     = false
}

variable "container_name" {
  description = "Container that receives the load balancer's traffic."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_-]{0,254}$", var.container_name))
    error_message = "container_name must be 1-255 letters, digits, hyphens or underscores."
  }
}

variable "container_port" {
  description = "Port of that container."
  type        = number

  validation {
    condition     = var.container_port >= 1 && var.container_port <= 65535 && floor(var.container_port) == var.container_port
    error_message = "container_port must be a whole number from 1 to 65535."
  }
}

variable "health_check_grace_period_seconds" {
  description = "Seconds ECS ignores failing load-balancer health checks of a new task."
  type        = number
  default     = 30

  validation {
    condition     = var.health_check_grace_period_seconds >= 0 && var.health_check_grace_period_seconds <= 2147483647
    error_message = "health_check_grace_period_seconds must be at least 0."
  }
}

variable "strategy" {
  description = "How ECS deploys: BLUE_GREEN, LINEAR or CANARY (through the listener rules), or ROLLING (with the deployment circuit breaker)."
  type        = string
  default     = "BLUE_GREEN"

  validation {
    condition     = contains(["BLUE_GREEN", "LINEAR", "CANARY", "ROLLING"], var.strategy)
    error_message = "strategy must be BLUE_GREEN, LINEAR, CANARY or ROLLING."
  }
}

variable "bake_time_minutes" {
  description = "Minutes both revisions stay up after production traffic has moved, before ECS removes the old one (the rollback window). Blue/green, linear and canary only."
  type        = number
  default     = 5

  validation {
    condition     = var.bake_time_minutes >= 0 && var.bake_time_minutes <= 1440 && floor(var.bake_time_minutes) == var.bake_time_minutes
    error_message = "bake_time_minutes must be a whole number from 0 to 1440."
  }
}

variable "linear" {
  description = "LINEAR only: the share of production traffic each step moves (3-100 %) and the minutes between steps."
  type = object({
    step_percent           = optional(number, 10)
    step_bake_time_minutes = optional(number, 1)
  })
  default = {}

  validation {
    condition     = var.linear.step_percent >= 3 && var.linear.step_percent <= 100 && var.linear.step_bake_time_minutes >= 0 && var.linear.step_bake_time_minutes <= 1440
    error_message = "linear.step_percent must be 3-100 and linear.step_bake_time_minutes 0-1440."
  }
}

variable "canary" {
  description = "CANARY only: the share of production traffic the canary gets first (0.1-100 %) and the minutes before the rest follows."
  type = object({
    percent           = optional(number, 10)
    bake_time_minutes = optional(number, 5)
  })
  default = {}

  validation {
    condition     = var.canary.percent >= 0.1 && var.canary.percent <= 100 && var.canary.bake_time_minutes >= 0 && var.canary.bake_time_minutes <= 1440
    error_message = "canary.percent must be 0.1-100 and canary.bake_time_minutes 0-1440."
  }
}

variable "lifecycle_hooks" {
  description = "Lambda lifecycle hooks (blue/green, linear, canary): the function, the stages it runs at, and optional JSON details passed to it. Not allowed at SCALE_UP, BAKE_TIME or CLEAN_UP."
  type = list(object({
    function_arn = string
    stages       = list(string)
    details      = optional(string)
  }))
  default = []

  validation {
    condition = alltrue(flatten([for h in var.lifecycle_hooks : [for s in h.stages : contains([
      "RECONCILE_SERVICE", "PRE_SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
      "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT",
    ], s)]]))
    error_message = "lifecycle_hooks[].stages must be RECONCILE_SERVICE, PRE_SCALE_UP, POST_SCALE_UP, TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT or POST_PRODUCTION_TRAFFIC_SHIFT (hooks are not allowed at SCALE_UP, BAKE_TIME or CLEAN_UP)."
  }

  validation {
    condition     = alltrue([for h in var.lifecycle_hooks : can(regex("^arn:[a-z-]+:lambda:", h.function_arn)) && length(h.stages) > 0])
    error_message = "lifecycle_hooks[].function_arn must be a Lambda function ARN and stages must not be empty."
  }
}

variable "hook_role_arn" {
  description = "Role ECS invokes the lifecycle-hook functions with (modules/ecs-infrastructure-role's hook_role_arn); null without hooks."
  type        = string
  default     = null

  validation {
    condition     = var.hook_role_arn == null || can(regex("^arn:[a-z-]+:iam::[0-9]{12}:role/", var.hook_role_arn))
    error_message = "hook_role_arn must be an IAM role ARN or null."
  }
}

variable "alarm_names" {
  description = "CloudWatch alarms that stop a deployment while it runs; empty: none."
  type        = list(string)
  default     = []
}

variable "alarm_rollback" {
  description = "Roll back (not only stop) when one of alarm_names fires."
  type        = bool
  default     = true
}

variable "circuit_breaker_rollback" {
  description = "ROLLING only: roll back to the last completed deployment when the circuit breaker stops one whose tasks fail to start."
  type        = bool
  default     = true
}

variable "prod_listener_arn" {
  description = "ARN of the production listener the production rule is added to."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:elasticloadbalancing:.+:listener/", var.prod_listener_arn))
    error_message = "prod_listener_arn must be a load balancer listener ARN."
  }
}

variable "test_listener_arn" {
  description = "ARN of the test listener the test rule is added to."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:elasticloadbalancing:.+:listener/", var.test_listener_arn))
    error_message = "test_listener_arn must be a load balancer listener ARN."
  }
}

variable "blue_target_group_arn" {
  description = "ARN of the blue target group of the pair."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:elasticloadbalancing:.+:targetgroup/", var.blue_target_group_arn))
    error_message = "blue_target_group_arn must be a target group ARN."
  }
}

variable "green_target_group_arn" {
  description = "ARN of the green target group of the pair."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:elasticloadbalancing:.+:targetgroup/", var.green_target_group_arn))
    error_message = "green_target_group_arn must be a target group ARN."
  }
}

variable "live_target_group_arn" {
  description = "The target group production traffic goes to now (blue or green, as read from the production listener): the rules start with all weight on it and the service names it as primary, so that creating them moves no traffic."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:elasticloadbalancing:.+:targetgroup/", var.live_target_group_arn))
    error_message = "live_target_group_arn must be a target group ARN (blue_target_group_arn or green_target_group_arn)."
  }
}

variable "infrastructure_role_arn" {
  description = "Role ECS moves the listener-rule weights with (modules/ecs-infrastructure-role); required unless strategy is ROLLING."
  type        = string
  default     = null

  validation {
    condition     = var.infrastructure_role_arn == null || can(regex("^arn:[a-z-]+:iam::[0-9]{12}:role/", var.infrastructure_role_arn))
    error_message = "infrastructure_role_arn must be an IAM role ARN or null."
  }
}

variable "listener_rule_priority" {
  description = "Priority of the production and test rules on their listeners (1-50000; each listener's rules need distinct priorities). 1, as the sandbox's twin: the first root makes no other rules."
  type        = number
  default     = 1

  validation {
    condition     = var.listener_rule_priority >= 1 && var.listener_rule_priority <= 50000 && floor(var.listener_rule_priority) == var.listener_rule_priority
    error_message = "listener_rule_priority must be a whole number from 1 to 50000."
  }
}

variable "listener_rule_path_patterns" {
  description = "Path patterns the rules match; the default takes every request, as the listener's default action did."
  type        = list(string)
  default     = ["/*"]

  validation {
    condition     = length(var.listener_rule_path_patterns) >= 1 && length(var.listener_rule_path_patterns) <= 5
    error_message = "listener_rule_path_patterns must hold 1-5 patterns."
  }
}

variable "tags" {
  description = "Tags added to the rules and the service."
  type        = map(string)
  default     = {}
}

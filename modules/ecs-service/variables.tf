variable "name" {
  description = "Prefix of the roles (<name>-execution, <name>-task), the security group (<name>-service), for example \"demo-web\"."
  type        = string

  validation {
    # "-execution" is appended for a role, whose names AWS limits to 64 characters.
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9-]{0,52}$", var.name))
    error_message = "name must be 1-53 letters, digits or hyphens, starting with a letter or digit."
  }
}

variable "service_name" {
  description = "Name of the ECS service, for example \"web\"."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_-]{0,254}$", var.service_name))
    error_message = "service_name must be 1-255 letters, digits, hyphens or underscores."
  }
}

variable "cluster_name" {
  description = "Name of the ECS cluster the service runs in."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_-]{0,254}$", var.cluster_name))
    error_message = "cluster_name must be 1-255 letters, digits, hyphens or underscores."
  }
}

variable "create_cluster" {
  description = "Create the cluster (with Container Insights) here. false: cluster_name names an existing cluster (a root with several services creates one and shares it)."
  type        = bool
  default     = true
}

variable "container_insights" {
  description = "Container Insights setting of a cluster created here: enabled, enhanced or disabled."
  type        = string
  default     = "enabled"

  validation {
    condition     = contains(["enabled", "enhanced", "disabled"], var.container_insights)
    error_message = "container_insights must be enabled, enhanced or disabled."
  }
}

variable "vpc_id" {
  description = "VPC of the tasks."
  type        = string

  validation {
    condition     = startswith(var.vpc_id, "vpc-")
    error_message = "vpc_id must be a VPC ID (vpc-...)."
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

variable "assign_public_ip" {
  description = "Give each task a public IP (only for tasks in public subnets without NAT)."
  type        = bool
  default     = false
}

variable "alb_security_group_id" {
  description = "Security group of the load balancer: the only source admitted to the tasks."
  type        = string

  validation {
    condition     = startswith(var.alb_security_group_id, "sg-")
    error_message = "alb_security_group_id must be a security group ID (sg-...)."
  }
}

variable "blue_target_group_arn" {
  description = "ARN of the blue target group: the one and only target group the service is created with (CodeDeploy brings green in)."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:elasticloadbalancing:", var.blue_target_group_arn))
    error_message = "blue_target_group_arn must be an Elastic Load Balancing target group ARN."
  }
}

variable "listener_arns" {
  description = "ARNs of the load balancer's listeners. The service is created only after they exist (else: \"target group does not have an associated load balancer\")."
  type        = list(string)

  validation {
    condition     = length(var.listener_arns) >= 1
    error_message = "listener_arns must hold at least the production listener."
  }
}

variable "container_name" {
  description = "Container that receives the load balancer's traffic; must be in the task definition template."
  type        = string
}

variable "container_port" {
  description = "Port of that container; must be one of its port mappings in the template."
  type        = number

  validation {
    condition     = var.container_port >= 1 && var.container_port <= 65535 && floor(var.container_port) == var.container_port
    error_message = "container_port must be a whole number from 1 to 65535."
  }
}

variable "taskdef_template_path" {
  description = "Path of the task definition template (the repository's taskdef.json): ECS RegisterTaskDefinition JSON with $${name} placeholders."
  type        = string

  validation {
    condition     = endswith(var.taskdef_template_path, ".json")
    error_message = "taskdef_template_path must be a .json file."
  }
}

variable "template_vars" {
  description = "Extra values for the template's placeholders (the root passes every outputs-contract key). The module supplies cluster_name, service_name, container_name, container_port, task_execution_role_arn, task_role_arn, log_group_name, aws_region and image itself."
  type        = map(string)
  default     = {}
}

variable "bootstrap_image" {
  description = "Image of the first task definition revision, until the first release replaces it (the template's $${image})."
  type        = string
  default     = "public.ecr.aws/nginx/nginx-unprivileged:stable-alpine"

  validation {
    condition     = length(var.bootstrap_image) > 0 && !can(regex("\\s", var.bootstrap_image))
    error_message = "bootstrap_image must be an image reference without spaces."
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

variable "health_check_grace_period_seconds" {
  description = "Seconds ECS ignores failing load-balancer health checks of a new task."
  type        = number
  default     = 30

  validation {
    condition     = var.health_check_grace_period_seconds >= 0 && var.health_check_grace_period_seconds <= 2147483647
    error_message = "health_check_grace_period_seconds must be at least 0."
  }
}

variable "log_retention_days" {
  description = "Retention of the service's CloudWatch log group, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ..., 365, ..., 3653)."
  }
}

variable "log_kms_key_arn" {
  description = "KMS key that encrypts the log group; null uses CloudWatch Logs' own encryption."
  type        = string
  default     = null

  validation {
    condition     = var.log_kms_key_arn == null || can(regex("^arn:[a-z-]+:kms:", var.log_kms_key_arn))
    error_message = "log_kms_key_arn must be a KMS key ARN or null."
  }
}

variable "task_role_policy_json" {
  description = "IAM policy document for the application's own AWS permissions (task role); null: none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}

variable "name" {
  description = "Name of the load balancer and prefix of its security group (<name>-alb) and target groups (<name>-blue, <name>-green), for example \"demo-web\"."
  type        = string

  validation {
    # "-green" is appended for a target group, whose names AWS limits to 32 characters.
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9-]{0,24}[a-zA-Z0-9]$", var.name)) && !startswith(lower(var.name), "internal-")
    error_message = "name must be 2-26 letters, digits or hyphens, not starting or ending with a hyphen, not starting with \"internal-\"."
  }
}

variable "vpc_id" {
  description = "VPC of the load balancer and the target groups."
  type        = string

  validation {
    condition     = startswith(var.vpc_id, "vpc-")
    error_message = "vpc_id must be a VPC ID (vpc-...)."
  }
}

variable "subnet_ids" {
  description = "Subnets of the load balancer, in at least two availability zones (public subnets for an internet-facing one)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2 && alltrue([for s in var.subnet_ids : startswith(s, "subnet-")])
    error_message = "subnet_ids must hold at least two subnet IDs (subnet-...)."
  }
}

variable "internal" {
  description = "Make the load balancer internal instead of internet-facing."
  type        = bool
  default     = false
}

variable "container_port" {
  description = "Port the container listens on; the target groups send traffic to it."
  type        = number

  validation {
    condition     = var.container_port >= 1 && var.container_port <= 65535 && floor(var.container_port) == var.container_port
    error_message = "container_port must be a whole number from 1 to 65535."
  }
}

variable "health_check_path" {
  description = "HTTP path of the target groups' health check."
  type        = string
  default     = "/health"

  validation {
    condition     = startswith(var.health_check_path, "/")
    error_message = "health_check_path must start with \"/\"."
  }
}

variable "health_check_matcher" {
  description = "HTTP codes a healthy target answers the health check with (\"200\", \"200-299\", \"200,204\")."
  type        = string
  default     = "200"

  validation {
    condition     = can(regex("^[0-9]{3}([-,][0-9]{3})*$", var.health_check_matcher))
    error_message = "health_check_matcher must be HTTP codes such as \"200\", \"200-299\" or \"200,204\"."
  }
}

variable "health_check_interval_seconds" {
  description = "Seconds between health checks of one target."
  type        = number
  default     = 10

  validation {
    condition     = var.health_check_interval_seconds >= 5 && var.health_check_interval_seconds <= 300
    error_message = "health_check_interval_seconds must be from 5 to 300."
  }
}

variable "healthy_threshold" {
  description = "Consecutive successful checks before a target counts as healthy."
  type        = number
  default     = 2

  validation {
    condition     = var.healthy_threshold >= 2 && var.healthy_threshold <= 10
    error_message = "healthy_threshold must be from 2 to 10."
  }
}

variable "unhealthy_threshold" {
  description = "Consecutive failed checks before a target counts as unhealthy."
  type        = number
  default     = 3

  validation {
    condition     = var.unhealthy_threshold >= 2 && var.unhealthy_threshold <= 10
    error_message = "unhealthy_threshold must be from 2 to 10."
  }
}

variable "deregistration_delay_seconds" {
  description = "Seconds the load balancer keeps draining a deregistered target (old tasks after a traffic shift)."
  type        = number
  default     = 30

  validation {
    condition     = var.deregistration_delay_seconds >= 0 && var.deregistration_delay_seconds <= 3600
    error_message = "deregistration_delay_seconds must be from 0 to 3600."
  }
}

variable "certificate_arn" {
  description = "ACM certificate for an HTTPS production listener on 443 (HTTP on 80 then redirects to it). null: the production listener is HTTP on 80."
  type        = string
  default     = null

  validation {
    condition     = var.certificate_arn == null || can(regex("^arn:[a-z-]+:acm:", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN or null."
  }
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"

  validation {
    condition     = startswith(var.ssl_policy, "ELBSecurityPolicy-")
    error_message = "ssl_policy must be an ELBSecurityPolicy-... name."
  }
}

variable "test_listener_port" {
  description = "Port of the test listener, through which CodeDeploy routes test traffic to the replacement (green) tasks before the production shift."
  type        = number
  default     = 8080

  validation {
    condition     = var.test_listener_port >= 1 && var.test_listener_port <= 65535 && !contains([80, 443], var.test_listener_port)
    error_message = "test_listener_port must be a port from 1 to 65535 other than 80 and 443 (the production listeners)."
  }
}

variable "ingress_cidr_blocks" {
  description = "IPv4 ranges allowed to reach the production listener(s)."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for c in var.ingress_cidr_blocks : can(cidrnetmask(c))])
    error_message = "ingress_cidr_blocks must hold IPv4 CIDR blocks."
  }
}

variable "vpc_cidr_block" {
  description = "IPv4 CIDR block of the VPC: the test listener's default audience (test_ingress_cidr_blocks = null)."
  type        = string

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr_block)) && !endswith(var.vpc_cidr_block, "/0")
    error_message = "vpc_cidr_block must be the VPC's IPv4 CIDR block, such as \"10.0.0.0/16\"."
  }
}

variable "test_ingress_cidr_blocks" {
  description = "IPv4 ranges allowed to reach the test listener, which serves the not-yet-live replacement (green) tasks during a deployment. null: the VPC's CIDR block only. Never 0.0.0.0/0."
  type        = list(string)
  default     = null

  validation {
    condition     = var.test_ingress_cidr_blocks == null || alltrue([for c in coalesce(var.test_ingress_cidr_blocks, []) : can(cidrnetmask(c))])
    error_message = "test_ingress_cidr_blocks must hold IPv4 CIDR blocks, or be null (the VPC's CIDR block)."
  }

  validation {
    # The green tasks are not live yet: the whole internet must never reach them.
    condition     = var.test_ingress_cidr_blocks == null || !anytrue([for c in coalesce(var.test_ingress_cidr_blocks, []) : endswith(c, "/0")])
    error_message = "test_ingress_cidr_blocks must not hold 0.0.0.0/0 (nor any /0): the test listener serves the not-yet-live green tasks; give the ranges of the people and checks that test them (default: the VPC's CIDR block)."
  }

  validation {
    condition     = var.test_ingress_cidr_blocks == null || length(coalesce(var.test_ingress_cidr_blocks, [])) > 0
    error_message = "test_ingress_cidr_blocks must hold at least one CIDR block, or be null (the VPC's CIDR block)."
  }
}

variable "idle_timeout_seconds" {
  description = "Seconds a connection may stay idle."
  type        = number
  default     = 60

  validation {
    condition     = var.idle_timeout_seconds >= 1 && var.idle_timeout_seconds <= 4000
    error_message = "idle_timeout_seconds must be from 1 to 4000."
  }
}

variable "enable_deletion_protection" {
  description = "Protect the load balancer from deletion (set true in production; false lets `make destroy` remove a dev stack)."
  type        = bool
  default     = false
}

variable "access_logs_bucket" {
  description = "S3 bucket for the load balancer's access logs (its policy must let the region's ELB account write); null: no access logs."
  type        = string
  default     = null

  validation {
    condition     = var.access_logs_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.access_logs_bucket, "x")))
    error_message = "access_logs_bucket must be an S3 bucket name (not an ARN or s3:// URL), or null."
  }
}

variable "access_logs_prefix" {
  description = "Key prefix of the access logs in the bucket; null: the load balancer's name."
  type        = string
  default     = null

  validation {
    condition     = var.access_logs_prefix == null || !can(regex("(^/|/$|AWSLogs)", coalesce(var.access_logs_prefix, "x")))
    error_message = "access_logs_prefix must not start or end with \"/\" nor contain \"AWSLogs\" (ELB adds it)."
  }
}

variable "access_logs_enabled" {
  description = "Write access logs to access_logs_bucket. false keeps the bucket configured but stops logging."
  type        = bool
  default     = true
}

variable "require_https" {
  description = "Refuse to plan without certificate_arn: the production listener of a production environment must be HTTPS."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}

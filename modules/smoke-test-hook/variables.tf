variable "name" {
  description = "Prefix of the function, role, security group and log group names: the function is <name>-smoke-test, for example \"demo-web\"."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_-]{0,39}$", var.name))
    error_message = "name must be 1-40 letters, digits, '_' or '-' (the function name <name>-smoke-test is at most 64 characters with room to spare)."
  }
}

variable "test_listener_url" {
  description = "Base URL of the service's test listener, which serves the replacement (green) tasks during a deployment, for example \"http://demo-web-123.<region>.elb.amazonaws.com:8080\"."
  type        = string

  validation {
    condition     = can(regex("^https?://[^/?#]+$", var.test_listener_url))
    error_message = "test_listener_url must be http(s)://host[:port] with no path (the paths are in var.paths)."
  }
}

variable "paths" {
  description = "Paths requested with GET on the test listener, in order; each must answer expected_status."
  type        = list(string)
  default     = ["/health"]

  validation {
    condition     = length(var.paths) >= 1 && length(var.paths) <= 20 && alltrue([for p in var.paths : startswith(p, "/") && !strcontains(p, ",")])
    error_message = "paths must hold 1-20 paths, each starting with \"/\" and without a comma."
  }
}

variable "expected_status" {
  description = "The HTTP status every path must answer."
  type        = number
  default     = 200

  validation {
    condition     = var.expected_status >= 100 && var.expected_status <= 599 && floor(var.expected_status) == var.expected_status
    error_message = "expected_status must be an HTTP status code from 100 to 599."
  }
}

variable "retries" {
  description = "Further attempts per path after one that did not answer expected_status (the new tasks may still be warming up)."
  type        = number
  default     = 3

  validation {
    condition     = var.retries >= 0 && var.retries <= 20 && floor(var.retries) == var.retries
    error_message = "retries must be a whole number from 0 to 20."
  }
}

variable "retry_delay_seconds" {
  description = "Seconds between two attempts at one path."
  type        = number
  default     = 5

  validation {
    condition     = var.retry_delay_seconds >= 0 && var.retry_delay_seconds <= 60
    error_message = "retry_delay_seconds must be from 0 to 60."
  }
}

variable "time_limit_seconds" {
  description = "Seconds for the whole smoke test (all paths and retries); past it the test fails. The function's own timeout is this plus 30 seconds to report."
  type        = number
  default     = 120

  validation {
    condition     = var.time_limit_seconds >= 5 && var.time_limit_seconds <= 840 && floor(var.time_limit_seconds) == var.time_limit_seconds
    error_message = "time_limit_seconds must be a whole number from 5 to 840 (Lambda's 15-minute limit, less the time to report)."
  }
}

variable "vpc_id" {
  description = "VPC of the load balancer: the function runs in it to reach the test listener."
  type        = string

  validation {
    condition     = startswith(var.vpc_id, "vpc-")
    error_message = "vpc_id must be a VPC ID (vpc-...)."
  }
}

variable "vpc_cidr_block" {
  description = "CIDR block of the VPC: the function's egress to an internal load balancer's test listener is limited to it."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr_block, 0))
    error_message = "vpc_cidr_block must be a CIDR block such as 10.0.0.0/16."
  }
}

variable "subnet_ids" {
  description = "Private subnets for the function; they need a route to the CodeDeploy API (a NAT gateway or a VPC endpoint) for the report."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1 && alltrue([for s in var.subnet_ids : startswith(s, "subnet-")])
    error_message = "subnet_ids must hold at least one subnet ID (subnet-...)."
  }
}

variable "test_listener_port" {
  description = "Port of the test listener: the function's only egress besides HTTPS (443) to the CodeDeploy API."
  type        = number

  validation {
    condition     = var.test_listener_port >= 1 && var.test_listener_port <= 65535 && floor(var.test_listener_port) == var.test_listener_port
    error_message = "test_listener_port must be a port from 1 to 65535."
  }
}

variable "load_balancer_internal" {
  description = "Whether the load balancer of test_listener_url is internal. false (internet-facing): its DNS name resolves to public addresses, so the function sends to the test port anywhere and its requests arrive from the NAT gateways' Elastic IPs, which the load balancer must admit on the test port (the root does). true: only the VPC's CIDR block."
  type        = bool
  default     = false
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions of the function; null (default): none, drawn from the account's unreserved pool. A reservation fails the apply on accounts whose concurrency quota is 10 (new accounts)."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrency == null || (coalesce(var.reserved_concurrency, 0) >= 1 && floor(coalesce(var.reserved_concurrency, 0)) == coalesce(var.reserved_concurrency, 0))
    error_message = "reserved_concurrency must be null or a whole number >= 1."
  }
}

variable "log_retention_days" {
  description = "Days the function's log group (/aws/lambda/<name>-smoke-test) keeps its lines."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  }
}

variable "log_kms_key_arn" {
  description = "Customer-managed KMS key for the log group; null: CloudWatch Logs' own encryption."
  type        = string
  default     = null

  validation {
    condition     = var.log_kms_key_arn == null || can(regex("^arn:[a-z-]+:kms:", var.log_kms_key_arn))
    error_message = "log_kms_key_arn must be a KMS key ARN or null."
  }
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}

variable "project" {
  description = "Project name, as in terraform/ (the prefix of this root's role and policy names)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,19}$", var.project))
    error_message = "project must be 1-20 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "environment" {
  description = "Environment name (dev, prod, ...), added as a tag to every resource."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.environment))
    error_message = "environment must be 1-16 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "aws_region" {
  description = "AWS region of the stack (the CodeDeploy root's)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must be an AWS region name (as `aws ec2 describe-regions` lists them)."
  }
}

variable "tags" {
  description = "Extra tags on every resource (Project, Environment and ManagedBy are always set)."
  type        = map(string)
  default     = {}
}

variable "codedeploy_state" {
  description = "The S3 backend of the CodeDeploy root (terraform/envs/<env>.backend.hcl's bucket, key, region): its ecs_native_shared output gives the cluster, network, listeners, target groups and CI role."
  type = object({
    bucket = string
    key    = string
    region = string
  })

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.codedeploy_state.bucket)) && length(var.codedeploy_state.key) > 0
    error_message = "codedeploy_state.bucket must be an S3 bucket name and codedeploy_state.key the CodeDeploy root's state key."
  }
}

variable "services" {
  description = "Services released by ECS itself, keyed by the CodeDeploy root's service keys. adopt_existing: import the service the CodeDeploy root made (module.ecs_native_service[\"<key>\"].aws_ecs_service.this) instead of creating one."
  type = map(object({
    strategy                 = optional(string, "BLUE_GREEN")
    bake_time_minutes        = optional(number, 5)
    linear                   = optional(object({ step_percent = optional(number, 10), step_bake_time_minutes = optional(number, 1) }), {})
    canary                   = optional(object({ percent = optional(number, 10), bake_time_minutes = optional(number, 5) }), {})
    lifecycle_hooks          = optional(list(object({ function_arn = string, stages = list(string), details = optional(string) })), [])
    alarm_names              = optional(list(string), [])
    alarm_rollback           = optional(bool, true)
    circuit_breaker_rollback = optional(bool, true)
    listener_rule_priority   = optional(number, 1)
    adopt_existing           = optional(bool, true)
  }))

  validation {
    condition     = length(var.services) > 0
    error_message = "services must hold at least one service."
  }

  validation {
    condition     = alltrue([for k in keys(var.services) : can(regex("^[a-z][a-z0-9-]*$", k))])
    error_message = "Service keys must be lower-case letters, digits or hyphens, starting with a letter (the CodeDeploy root's keys)."
  }

  validation {
    condition     = alltrue([for k, s in var.services : contains(["BLUE_GREEN", "LINEAR", "CANARY", "ROLLING"], s.strategy)])
    error_message = "services.<key>.strategy must be BLUE_GREEN, LINEAR, CANARY or ROLLING."
  }
}

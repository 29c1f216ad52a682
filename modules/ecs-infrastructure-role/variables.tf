variable "name" {
  description = "Prefix of the role names (<name>-ecs-infrastructure, <name>-ecs-hooks), for example \"demo\"."
  type        = string

  validation {
    # "-ecs-infrastructure" (19 characters) is appended; AWS limits role names to 64.
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9-]{0,44}$", var.name))
    error_message = "name must be 1-45 letters, digits or hyphens, starting with a letter or digit."
  }
}

variable "hook_function_arns" {
  description = "ARNs of the Lambda functions the services' lifecycle hooks call; the hook role may invoke these only. Empty: no hook role."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.hook_function_arns : can(regex("^arn:[a-z-]+:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$", a))])
    error_message = "hook_function_arns must hold Lambda function ARNs (arn:aws:lambda:<region>:<account>:function:<name>)."
  }
}

variable "tags" {
  description = "Tags added to both roles."
  type        = map(string)
  default     = {}
}

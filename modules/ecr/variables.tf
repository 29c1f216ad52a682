variable "name" {
  description = "Repository name, for example \"demo/web\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", var.name)) && length(var.name) <= 256
    error_message = "name must be a valid ECR repository name: lower-case letters, digits, '.', '_', '-' and '/' separators."
  }
}

variable "image_tag_mutability" {
  description = "IMMUTABLE keeps a tag pointing at one image for ever, so a task definition names exactly what was tested."
  type        = string
  default     = "IMMUTABLE"

  validation {
    condition     = contains(["IMMUTABLE", "MUTABLE"], var.image_tag_mutability)
    error_message = "image_tag_mutability must be IMMUTABLE or MUTABLE."
  }
}

variable "scan_on_push" {
  description = "Scan every pushed image for known vulnerabilities."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for the repository; null uses the AWS-managed ECR key (still KMS)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:[a-z-]+:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN or null."
  }
}

variable "max_tagged_images" {
  description = "The lifecycle policy keeps this many most recent tagged images (older ones are expired; a rollback needs the previous ones)."
  type        = number
  default     = 30

  validation {
    condition     = var.max_tagged_images >= 2 && floor(var.max_tagged_images) == var.max_tagged_images
    error_message = "max_tagged_images must be a whole number of at least 2 (the live image and the one before it)."
  }
}

variable "untagged_expiry_days" {
  description = "Untagged images (layers of failed pushes, superseded manifests) expire after this many days."
  type        = number
  default     = 7

  validation {
    condition     = var.untagged_expiry_days >= 1 && floor(var.untagged_expiry_days) == var.untagged_expiry_days
    error_message = "untagged_expiry_days must be a whole number of at least 1."
  }
}

variable "force_delete" {
  description = "Let `terraform destroy` delete the repository even when it still holds images."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}

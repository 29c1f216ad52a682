variable "name" {
  description = "Name used for the Name tag of the VPC, its subnets and gateways (usually the project)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}$", var.name))
    error_message = "name must be lower-case letters, digits and hyphens, starting with a letter, at most 31 characters."
  }
}

variable "cidr_block" {
  description = "IPv4 CIDR block of the VPC. Public subnets take /24s from index 0, private ones from index 10."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.cidr_block)) && tonumber(split("/", var.cidr_block)[1]) <= 20
    error_message = "cidr_block must be a valid IPv4 CIDR block of /20 or larger."
  }
}

variable "availability_zones" {
  description = "Availability zones for the subnets. Empty: the first az_count zones the region reports as available."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || length(var.availability_zones) >= 2
    error_message = "Give at least two availability zones (an ALB needs two), or none to pick them automatically."
  }
}

variable "az_count" {
  description = "How many availability zones to use when availability_zones is empty."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 6 && floor(var.az_count) == var.az_count
    error_message = "az_count must be a whole number from 2 to 6."
  }
}

variable "enable_nat_gateway" {
  description = "Give the private subnets outbound internet access through NAT gateways (Fargate tasks need it to pull public images and reach ECR without VPC endpoints)."
  type        = bool
  default     = true
}

variable "single_nat_gateway" {
  description = "One NAT gateway shared by all private subnets (cheaper) instead of one per availability zone (survives a zone outage)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}

variable "project" {
  description = "Project name: the ECS cluster's name and the prefix of every other name (<project>-<service>-...)."
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

variable "environment_type" {
  description = "\"production\" or \"non-production\". A production environment refuses to plan unless every service has certificate_arn (HTTPS production listener)."
  type        = string
  default     = "non-production"

  validation {
    condition     = contains(["production", "non-production"], var.environment_type)
    error_message = "environment_type must be \"production\" or \"non-production\"."
  }
}

variable "aws_region" {
  description = "AWS region of the stack."
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

variable "network" {
  description = "The VPC. create_vpc = true makes one (modules/network); false uses vpc_id with public_subnet_ids (load balancers) and private_subnet_ids (tasks)."
  type = object({
    create_vpc         = optional(bool, true)
    cidr_block         = optional(string, "10.0.0.0/16")
    availability_zones = optional(list(string), [])
    single_nat_gateway = optional(bool, true)
    vpc_id             = optional(string)
    public_subnet_ids  = optional(list(string), [])
    private_subnet_ids = optional(list(string), [])
    # An existing VPC's NAT gateway Elastic IPs: an internet-facing service's smoke test reaches its
    # test listener from these (a made VPC's are known).
    nat_public_ips = optional(list(string), [])
  })
  default = {}

  validation {
    condition     = var.network.create_vpc || (var.network.vpc_id != null && length(var.network.public_subnet_ids) >= 2 && length(var.network.private_subnet_ids) >= 1)
    error_message = "With create_vpc = false, give vpc_id, at least two public_subnet_ids and at least one private_subnet_ids."
  }
}

variable "services" {
  description = "The services, keyed by service key (also the ECS service name). Each gets its own ECR repository, load balancer, target-group pair, ECS service and CodeDeploy application."
  type = map(object({
    container_name           = string
    container_port           = number
    taskdef_path             = optional(string)
    bootstrap_image          = optional(string, "public.ecr.aws/nginx/nginx-unprivileged:stable-alpine")
    desired_count            = optional(number, 2)
    health_check_path        = optional(string, "/health")
    health_check_matcher     = optional(string, "200")
    certificate_arn          = optional(string)
    internal                 = optional(bool, false) # true: an internal load balancer, in the private subnets
    test_listener_port       = optional(number, 8080)
    ingress_cidr_blocks      = optional(list(string), ["0.0.0.0/0"])
    test_ingress_cidr_blocks = optional(list(string)) # null: the VPC's CIDR block; never 0.0.0.0/0
    deployment_config_name   = optional(string, "CodeDeployDefault.ECSAllAtOnce")
    deployment_ready_action  = optional(string, "CONTINUE_DEPLOYMENT")
    deployment_ready_wait    = optional(number, 60)
    termination_wait_minutes = optional(number, 5)
    alarm_names              = optional(list(string), [])
    log_retention_days       = optional(number, 365)
    deletion_protection      = optional(bool, false)
    # The AfterAllowTestTraffic smoke test (modules/smoke-test-hook); null: none. The AppSpec names it
    # as ${smoke_test_function_name} (the outputs contract's key, "" without a smoke test).
    smoke_test = optional(object({
      paths               = optional(list(string), ["/health"])
      expected_status     = optional(number, 200)
      retries             = optional(number, 3)
      retry_delay_seconds = optional(number, 5)
      time_limit_seconds  = optional(number, 120)
    }))
    # CodeDeploy triggers to SNS (modules/codedeploy's notifications): an existing topic_arn, or create = true.
    notifications = optional(object({
      enabled     = optional(bool, true)
      topic_arn   = optional(string)
      create      = optional(bool, false)
      kms_key_arn = optional(string)
    }), { enabled = false })
  }))

  validation {
    condition     = length(var.services) > 0
    error_message = "services must hold at least one service."
  }

  validation {
    # The test listener serves the replacement (green) tasks before they are live.
    condition     = alltrue([for k, s in var.services : s.test_ingress_cidr_blocks == null || !anytrue([for c in coalesce(s.test_ingress_cidr_blocks, []) : endswith(c, "/0")])])
    error_message = "services.<key>.test_ingress_cidr_blocks must not hold 0.0.0.0/0: the test listener serves the not-yet-live green tasks. Leave it unset (the VPC's CIDR block) or give the ranges that test them."
  }

  validation {
    # For an internet-facing load balancer the smoke test's requests arrive from the NAT gateways.
    condition     = var.network.create_vpc || length(var.network.nat_public_ips) > 0 || alltrue([for k, s in var.services : s.internal || s.smoke_test == null])
    error_message = "network.nat_public_ips is empty: with an existing VPC, an internet-facing service's smoke test reaches its test listener through the NAT gateways; give their Elastic IPs (or make the service internal = true)."
  }

  validation {
    # A full ACM ARN, so that envs/prod.tfvars's placeholder is refused by name until it is replaced.
    condition     = alltrue([for k, s in var.services : s.certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]+$", coalesce(s.certificate_arn, "x")))])
    error_message = "services.<key>.certificate_arn must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>): replace the placeholder of envs/<env>.tfvars with the ARN of the service's certificate."
  }

  validation {
    condition     = alltrue([for k in keys(var.services) : can(regex("^[a-z][a-z0-9-]*$", k))])
    error_message = "Service keys must be lower-case letters, digits or hyphens, starting with a letter."
  }

  validation {
    # <project>-<service>-green is a target group name, which AWS limits to 32 characters.
    condition     = alltrue([for k in keys(var.services) : length("${var.project}-${k}-green") <= 32])
    error_message = "<project>-<service key>-green must fit in 32 characters (a target group name): shorten the project or the service key."
  }
}

variable "ci_deploy" {
  description = "The GitHub Actions roles. github_subjects: the release role (modules/ci-deploy-role, the deploy job); build_github_subjects: the build role (modules/ci-build-role, the build job: push to the services' ECR repositories only). Empty: no such role. max_session_duration_seconds: the release role's longest session (3600-43200, default 7200). The two lists must not share a subject, or the build job could assume the release role."
  type = object({
    github_subjects       = optional(list(string), [])
    build_github_subjects = optional(list(string), [])
    create_oidc_provider  = optional(bool, true)
    oidc_provider_arn     = optional(string)
    # The release role's longest session; the deploy workflow sizes its session up to it.
    max_session_duration_seconds = optional(number, 7200)
  })
  default = {}

  validation {
    condition     = length(setintersection(toset(var.ci_deploy.github_subjects), toset(var.ci_deploy.build_github_subjects))) == 0
    error_message = "ci_deploy.github_subjects and ci_deploy.build_github_subjects share a subject: the build job (which runs repository code) could then assume the release role. Give the build job its own GitHub environment (build-<env>)."
  }

  validation {
    condition     = length(var.ci_deploy.build_github_subjects) == 0 || length(var.ci_deploy.github_subjects) > 0 || !var.ci_deploy.create_oidc_provider
    error_message = "ci_deploy.build_github_subjects without github_subjects: the OIDC provider is made with the release role; set create_oidc_provider = false and oidc_provider_arn."
  }
}

variable "access_logs" {
  description = "ALB access logs of every service: S3 bucket (its policy must let the region's ELB account write), key prefix (each service logs under <prefix>/<project>-<service>), enabled. Without a bucket: no access logs."
  type = object({
    enabled = optional(bool, true)
    bucket  = optional(string)
    prefix  = optional(string)
  })
  default = {}

  validation {
    condition     = !var.access_logs.enabled || var.access_logs.bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.access_logs.bucket, "x")))
    error_message = "access_logs.bucket must be an S3 bucket name (not an ARN or s3:// URL)."
  }

  validation {
    condition     = var.access_logs.prefix == null || var.access_logs.bucket != null
    error_message = "access_logs.prefix is set without access_logs.bucket: give the bucket too."
  }
}

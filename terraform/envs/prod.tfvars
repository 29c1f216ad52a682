project     = "demo"
environment = "prod"
# Production: every service needs certificate_arn (HTTPS), or the plan is refused.
environment_type = "production"
aws_region       = "eu-west-1"

network = {
  create_vpc         = true
  cidr_block         = "10.30.0.0/16"
  single_nat_gateway = false
}

services = {
  web = {
    container_name    = "web"
    container_port    = 8080
    desired_count     = 3
    health_check_path = "/health"
    # A placeholder on purpose: `make plan ENV=prod` is refused, naming certificate_arn, until it holds
    # the ARN of the service's ACM certificate (arn:aws:acm:<region>:<account>:certificate/<id>).
    certificate_arn          = "REPLACE-WITH-THE-ACM-CERTIFICATE-ARN"
    deployment_config_name   = "CodeDeployDefault.ECSCanary10Percent5Minutes"
    termination_wait_minutes = 30
    deletion_protection      = true
    # alarm_names            = ["demo-web-5xx"]
  }
}

# The test listener (8080) admits the VPC's CIDR block by default; add the ranges of whoever checks
# the green tasks before the traffic shift (a VPN, say). Never 0.0.0.0/0.
#   test_ingress_cidr_blocks = ["10.30.0.0/16", "192.0.2.0/24"]   (in services.web)

# ALB access logs (the bucket's policy must let the region's ELB account write to it).
# access_logs = {
#   bucket = "acme-prod-alb-logs"
#   prefix = "demo"
# }

# The deploy job (GitHub environment prod) assumes the release role; the build job (environment
# build-prod) the build role, which can only push to the ECR repository.
ci_deploy = {
  github_subjects       = ["repo:acme/demo:environment:prod"]
  build_github_subjects = ["repo:acme/demo:environment:build-prod"]
}

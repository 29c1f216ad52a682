project     = "demo"
environment = "prod"
aws_region  = "eu-west-1"

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
    # certificate_arn        = "arn:aws:acm:eu-west-1:123456789012:certificate/..."
    deployment_config_name   = "CodeDeployDefault.ECSCanary10Percent5Minutes"
    termination_wait_minutes = 30
    deletion_protection      = true
    # alarm_names            = ["demo-web-5xx"]
  }
}

ci_deploy = {
  github_subjects = ["repo:acme/demo:environment:prod"]
}

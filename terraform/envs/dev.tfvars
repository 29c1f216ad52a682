project     = "demo"
environment = "dev"
aws_region  = "eu-west-1"

network = {
  create_vpc         = true
  cidr_block         = "10.20.0.0/16"
  single_nat_gateway = true
}

services = {
  web = {
    container_name    = "web"
    container_port    = 8080
    desired_count     = 2
    health_check_path = "/health"
    # The AfterAllowTestTraffic smoke test (modules/smoke-test-hook); the AppSpec names it as
    # ${smoke_test_function_name}. And CodeDeploy's start/success/failure/rollback/stop to SNS.
    # smoke_test    = { paths = ["/health"] }
    # notifications = { create = true }
  }
}

# Uncomment to create the GitHub Actions roles (outputs ci_deploy_role_arn and ci_build_role_arn).
# Jobs that name a GitHub environment (.github/workflows/deploy.yml does) present the subject
# ...:environment:<name>: the deploy job names `dev`, the build job `build-dev`.
# ci_deploy = {
#   github_subjects       = ["repo:acme/demo:environment:dev"]
#   build_github_subjects = ["repo:acme/demo:environment:build-dev"]
# }

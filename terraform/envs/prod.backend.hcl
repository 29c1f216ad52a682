# S3 backend of the prod environment (partial configuration for terraform/versions.tf).
# Create the bucket once, with versioning and encryption, before the first `make infra ENV=prod`.
bucket       = "demo-terraform-state-CHANGE-ME"
key          = "demo/prod/terraform.tfstate"
region       = "eu-west-1"
encrypt      = true
use_lockfile = true

# S3 backend of the dev environment (partial configuration for terraform/versions.tf).
# Create the bucket once, with versioning and encryption, before the first `make infra ENV=dev`.
bucket       = "demo-terraform-state-CHANGE-ME"
key          = "demo/dev/terraform.tfstate"
region       = "eu-west-1"
encrypt      = true
use_lockfile = true

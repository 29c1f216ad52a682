terraform {
  # 1.10: the S3 backend's own state locking (use_lockfile), no DynamoDB table needed.
  required_version = ">= 1.10.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40.0, < 7.0.0"
    }
  }

  # Partial configuration: bucket, key and region come from envs/<env>.backend.hcl
  # (`terraform init -backend-config=envs/<env>.backend.hcl`, which `orchestrator infra` does).
  backend "s3" {}
}

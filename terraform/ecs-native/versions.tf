terraform {
  # 1.10: the S3 backend's own state locking (use_lockfile); 1.7: import blocks with for_each.
  required_version = ">= 1.10.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.4.0: deployment_configuration, load_balancer.advanced_configuration and an in-place change of
      # deployment_controller.type (with an older provider that change replaces the service); 6.21.0:
      # LINEAR and CANARY. Kept out of terraform/ (5.x): a module's provider requirement reaches every
      # root that calls it, even with count = 0.
      version = ">= 6.21.0, < 7.0.0"
    }
  }

  # Partial configuration, as terraform/: envs/<env>.backend.hcl gives bucket, key and region (its own
  # key, next to the CodeDeploy root's state).
  backend "s3" {}
}

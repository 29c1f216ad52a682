terraform {
  # 1.5: validation conditions may refer to other variables only from 1.9; these do not.
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.4.0: deployment_configuration, load_balancer.advanced_configuration and an in-place change of
      # deployment_controller.type (older providers replace the service); 6.21.0: LINEAR and CANARY.
      version = ">= 6.21.0, < 7.0.0"
    }
  }
}

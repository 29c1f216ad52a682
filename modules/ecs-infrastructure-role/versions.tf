terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Nothing here needs 6.x; the range matches the root that calls it (terraform/ecs-native).
      version = ">= 5.40.0, < 7.0.0"
    }
  }
}

# S3 backend of the ECS-native root's dev environment: the same bucket as terraform/envs/dev.backend.hcl,
# its own key (terraform/ecs-native/envs/dev.tfvars's codedeploy_state names the other one).
bucket       = "demo-terraform-state-CHANGE-ME"
key          = "demo/dev/ecs-native.tfstate"
region       = "eu-west-1"
encrypt      = true
use_lockfile = true

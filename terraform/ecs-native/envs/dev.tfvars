project     = "demo"
environment = "dev"
aws_region  = "eu-west-1"

# Where the CodeDeploy root (terraform/) keeps its state: this root reads its ecs_native_shared output.
codedeploy_state = {
  bucket = "demo-terraform-state-CHANGE-ME"
  key    = "demo/dev/terraform.tfstate"
  region = "eu-west-1"
}

# Services released by ECS itself; each key must be a service of terraform/ (docs/migration.md says in
# which order a service moves here).
services = {
  web = {
    strategy          = "BLUE_GREEN"
    bake_time_minutes = 5
    # strategy = "LINEAR", linear = { step_percent = 20, step_bake_time_minutes = 2 }
    # strategy = "CANARY", canary = { percent = 10, bake_time_minutes = 5 }
    # lifecycle_hooks = [{ function_arn = "arn:aws:lambda:...:function:smoke", stages = ["POST_TEST_TRAFFIC_SHIFT"] }]
    # alarm_names = ["demo-web-5xx"]
  }
}

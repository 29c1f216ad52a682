# One ECS service released by ECS itself (deployment controller ECS): rolling with the circuit
# breaker, or blue/green, linear or canary through two weighted listener rules that ECS moves.
#
# The shared parts (cluster, network, load balancer, listeners, target-group pair, task definition
# family) belong to the first root (terraform/); this module adds the rules, the service and nothing
# else. From the first deployment on ECS owns the rules' weights, which target group is primary and
# the task definition: Terraform ignores them so that it never fights a deployment.

locals {
  blue_green = var.strategy != "ROLLING"

  # Which target group serves production now is read by the caller (the production listener's
  # forward action): the rules start out sending every request there, so creating them moves no
  # traffic, and the service names it as primary (after an odd number of CodeDeploy deployments it
  # is the "green" one; ECS does not check weights before it shifts, containers-roadmap #2853).
  target_groups = {
    primary   = var.live_target_group_arn
    alternate = var.live_target_group_arn == var.blue_target_group_arn ? var.green_target_group_arn : var.blue_target_group_arn
  }
}

# Explicit rules rather than the listeners' default actions: the default rule's ARN cannot be read
# from Terraform (terraform-provider-aws #43932) and ECS needs a rule ARN.
resource "aws_lb_listener_rule" "production" {
  count = local.blue_green ? 1 : 0

  listener_arn = var.prod_listener_arn
  priority     = var.listener_rule_priority

  action {
    type = "forward"

    forward {
      target_group {
        arn    = local.target_groups.primary
        weight = 100
      }
      target_group {
        arn    = local.target_groups.alternate
        weight = 0
      }
    }
  }

  condition {
    path_pattern {
      values = var.listener_rule_path_patterns
    }
  }

  lifecycle {
    # ECS moves the weights during every deployment; Terraform must not move them back.
    ignore_changes = [action]

    precondition {
      condition     = contains([var.blue_target_group_arn, var.green_target_group_arn], var.live_target_group_arn)
      error_message = "live_target_group_arn must be one of blue_target_group_arn and green_target_group_arn (the production listener forwards to neither?)."
    }
  }

  tags = var.tags
}

resource "aws_lb_listener_rule" "test" {
  count = local.blue_green ? 1 : 0

  listener_arn = var.test_listener_arn
  priority     = var.listener_rule_priority

  action {
    type = "forward"

    forward {
      target_group {
        arn    = local.target_groups.primary
        weight = 100
      }
      target_group {
        arn    = local.target_groups.alternate
        weight = 0
      }
    }
  }

  condition {
    path_pattern {
      values = var.listener_rule_path_patterns
    }
  }

  lifecycle {
    ignore_changes = [action]
  }

  tags = var.tags
}

resource "aws_ecs_service" "this" {
  name                              = var.service_name
  cluster                           = var.cluster_arn
  task_definition                   = var.task_definition_arn
  desired_count                     = var.desired_count
  launch_type                       = "FARGATE"
  platform_version                  = "LATEST"
  health_check_grace_period_seconds = var.health_check_grace_period_seconds
  enable_ecs_managed_tags           = true
  propagate_tags                    = "SERVICE"
  wait_for_steady_state             = false

  deployment_controller {
    type = "ECS"
  }

  deployment_configuration {
    strategy             = var.strategy
    bake_time_in_minutes = local.blue_green ? tostring(var.bake_time_minutes) : null

    dynamic "linear_configuration" {
      for_each = var.strategy == "LINEAR" ? [var.linear] : []
      content {
        step_percent              = linear_configuration.value.step_percent
        step_bake_time_in_minutes = linear_configuration.value.step_bake_time_minutes
      }
    }

    dynamic "canary_configuration" {
      for_each = var.strategy == "CANARY" ? [var.canary] : []
      content {
        canary_percent              = canary_configuration.value.percent
        canary_bake_time_in_minutes = canary_configuration.value.bake_time_minutes
      }
    }

    dynamic "lifecycle_hook" {
      for_each = local.blue_green ? var.lifecycle_hooks : []
      content {
        hook_target_arn  = lifecycle_hook.value.function_arn
        role_arn         = var.hook_role_arn
        lifecycle_stages = lifecycle_hook.value.stages
        hook_details     = lifecycle_hook.value.details
      }
    }
  }

  # Rolling only: a blue/green deployment rolls back on its hooks and alarms instead.
  dynamic "deployment_circuit_breaker" {
    for_each = local.blue_green ? [] : [1]
    content {
      enable   = true
      rollback = var.circuit_breaker_rollback
    }
  }

  dynamic "alarms" {
    for_each = length(var.alarm_names) > 0 ? [1] : []
    content {
      alarm_names = var.alarm_names
      enable      = true
      rollback    = var.alarm_rollback
    }
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = var.security_group_ids
    assign_public_ip = var.assign_public_ip
  }

  load_balancer {
    target_group_arn = local.target_groups.primary
    container_name   = var.container_name
    container_port   = var.container_port

    dynamic "advanced_configuration" {
      for_each = local.blue_green ? [1] : []
      content {
        alternate_target_group_arn = local.target_groups.alternate
        production_listener_rule   = aws_lb_listener_rule.production[0].arn
        test_listener_rule         = aws_lb_listener_rule.test[0].arn
        role_arn                   = var.infrastructure_role_arn
      }
    }
  }

  lifecycle {
    # Releases register task definitions and call UpdateService (orchestrator release); ECS swaps the
    # primary and alternate target groups at the end of every blue/green deployment; scaling changes
    # the count. None of these is Terraform's to put back.
    ignore_changes = [task_definition, desired_count, load_balancer]

    # A plan that replaces or destroys the service is refused, never applied: moving it between roots
    # goes through `removed` (destroy = false) and `import`, and deleting it on purpose means removing
    # this line first (docs/migration.md).
    prevent_destroy = true

    precondition {
      condition     = !local.blue_green || var.infrastructure_role_arn != null
      error_message = "A ${var.strategy} service needs infrastructure_role_arn (the role ECS moves the listener-rule weights with)."
    }
    precondition {
      condition     = length(var.lifecycle_hooks) == 0 || var.hook_role_arn != null
      error_message = "lifecycle_hooks need hook_role_arn (the role ECS invokes the hook functions with)."
    }
  }

  tags = var.tags
}

# CodeDeploy for one ECS service: the application, a BLUE_GREEN deployment group with traffic control
# over the production and test listeners, automatic rollback, and the service role.

data "aws_partition" "current" {}

locals {
  alarms_enabled = length(var.alarm_names) > 0
  # Stop-on-alarm needs alarms to watch; without any it is left out rather than sent empty.
  rollback_events = [for e in var.auto_rollback_events : e if local.alarms_enabled || e != "DEPLOYMENT_STOP_ON_ALARM"]
}

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "CodeDeploy"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["codedeploy.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "codedeploy" {
  name               = "${var.name}-codedeploy"
  description        = "CodeDeploy blue/green deployments of ECS service ${var.service_name}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "codedeploy" {
  role       = aws_iam_role.codedeploy.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AWSCodeDeployRoleForECS"
}

resource "aws_codedeploy_app" "this" {
  name             = var.name
  compute_platform = "ECS"
  tags             = var.tags
}

resource "aws_codedeploy_deployment_group" "this" {
  app_name               = aws_codedeploy_app.this.name
  deployment_group_name  = var.name
  deployment_config_name = var.deployment_config_name
  service_role_arn       = aws_iam_role.codedeploy.arn

  deployment_style {
    deployment_type   = "BLUE_GREEN"
    deployment_option = "WITH_TRAFFIC_CONTROL"
  }

  blue_green_deployment_config {
    deployment_ready_option {
      action_on_timeout    = var.deployment_ready_action
      wait_time_in_minutes = var.deployment_ready_action == "STOP_DEPLOYMENT" ? var.deployment_ready_wait_minutes : 0
    }

    terminate_blue_instances_on_deployment_success {
      action                           = var.termination_action
      termination_wait_time_in_minutes = var.termination_wait_minutes
    }
  }

  ecs_service {
    cluster_name = var.cluster_name
    service_name = var.service_name
  }

  load_balancer_info {
    target_group_pair_info {
      prod_traffic_route {
        listener_arns = var.prod_listener_arns
      }

      dynamic "test_traffic_route" {
        for_each = length(var.test_listener_arns) > 0 ? [var.test_listener_arns] : []
        content {
          listener_arns = test_traffic_route.value
        }
      }

      target_group {
        name = var.blue_target_group_name
      }

      target_group {
        name = var.green_target_group_name
      }
    }
  }

  auto_rollback_configuration {
    enabled = length(local.rollback_events) > 0
    events  = local.rollback_events
  }

  dynamic "alarm_configuration" {
    for_each = local.alarms_enabled ? [var.alarm_names] : []
    content {
      enabled                   = true
      alarms                    = alarm_configuration.value
      ignore_poll_alarm_failure = var.ignore_alarm_poll_failure
    }
  }

  tags = var.tags

  # The role must be able to act before the group is validated against the service.
  depends_on = [aws_iam_role_policy_attachment.codedeploy]
}

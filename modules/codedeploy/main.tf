# CodeDeploy for one ECS service: the application, a BLUE_GREEN deployment group with traffic control
# over the production and test listeners, automatic rollback, and the service role.

data "aws_partition" "current" {}

locals {
  alarms_enabled = length(var.alarm_names) > 0
  # Stop-on-alarm needs alarms to watch; without any it is left out rather than sent empty.
  rollback_events = [for e in var.auto_rollback_events : e if local.alarms_enabled || e != "DEPLOYMENT_STOP_ON_ALARM"]

  notify    = var.notifications.enabled
  topic_arn = local.notify ? (var.notifications.create ? aws_sns_topic.deployments[0].arn : var.notifications.topic_arn) : null
  # Start, success, failure, rollback and stop (CreateDeploymentGroup's TriggerConfig.triggerEvents values).
  trigger_events = ["DeploymentStart", "DeploymentSuccess", "DeploymentFailure", "DeploymentStop", "DeploymentRollback"]
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

# AppSpec hook functions (e.g. modules/smoke-test-hook): the managed policy only covers CodeDeployHook_* names.
data "aws_iam_policy_document" "hooks" {
  count = length(var.hook_function_arns) > 0 ? 1 : 0

  statement {
    sid       = "InvokeHooks"
    actions   = ["lambda:InvokeFunction"]
    resources = var.hook_function_arns
  }
}

resource "aws_iam_role_policy" "hooks" {
  count = length(var.hook_function_arns) > 0 ? 1 : 0

  name   = "${var.name}-hooks"
  role   = aws_iam_role.codedeploy.id
  policy = data.aws_iam_policy_document.hooks[0].json
}

# Notifications: CodeDeploy publishes its triggers with the service role (user guide, "Create a trigger
# for a CodeDeploy event"); the managed policy only covers topics named CodeDeployTopic_*.
resource "aws_sns_topic" "deployments" {
  count = local.notify && var.notifications.create ? 1 : 0

  name              = "${var.name}-deployments"
  kms_master_key_id = coalesce(var.notifications.kms_key_arn, "alias/aws/sns")
  tags              = var.tags
}

data "aws_iam_policy_document" "notify" {
  count = local.notify ? 1 : 0

  statement {
    sid       = "PublishTriggers"
    actions   = ["sns:Publish"]
    resources = [local.topic_arn]
  }

  dynamic "statement" {
    for_each = var.notifications.create && var.notifications.kms_key_arn != null ? [var.notifications.kms_key_arn] : []
    content {
      sid       = "EncryptForTopic"
      actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "notify" {
  count = local.notify ? 1 : 0

  name   = "${var.name}-notify"
  role   = aws_iam_role.codedeploy.id
  policy = data.aws_iam_policy_document.notify[0].json
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

  dynamic "trigger_configuration" {
    for_each = local.notify ? [local.topic_arn] : []
    content {
      trigger_name       = "${var.name}-deployments"
      trigger_target_arn = trigger_configuration.value
      trigger_events     = local.trigger_events
    }
  }

  tags = var.tags

  # The role must be able to act before the group is validated against the service (and publish
  # triggers, which CodeDeploy checks when the group is saved).
  depends_on = [aws_iam_role_policy_attachment.codedeploy, aws_iam_role_policy.notify]
}

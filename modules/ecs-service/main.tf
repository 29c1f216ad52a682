# The ECS side of one service: cluster (optional), roles, log group, the first task definition
# revision, the tasks' security group, and the service under the CODE_DEPLOY deployment controller.
#
# From the first release on, the orchestrator registers task definitions and CodeDeploy changes the
# service's task set and target group; Terraform ignores those attributes so it never fights them
# ("Unable to update task definition on services with a CODE_DEPLOY deployment controller").

data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  cluster_arn     = var.create_cluster ? aws_ecs_cluster.this[0].arn : "arn:${data.aws_partition.current.partition}:ecs:${data.aws_region.current.name}:${local.account_id}:cluster/${var.cluster_name}"
  account_id      = split(":", aws_iam_role.execution.arn)[4]
  log_group_name  = "/ecs/${var.cluster_name}/${var.service_name}"
  execution_role  = "${var.name}-execution"
  task_role       = "${var.name}-task"
  security_group  = "${var.name}-service"
  ecs_assume_role = data.aws_iam_policy_document.ecs_tasks_assume.json

  # One source of truth: the repository's taskdef.json, rendered with the same placeholder names the
  # orchestrator uses at release time (the outputs-contract keys plus aws_region and image).
  template_values = merge(var.template_vars, {
    cluster_name   = var.cluster_name
    service_name   = var.service_name
    container_name = var.container_name
    container_port = tostring(var.container_port)
    log_group_name = local.log_group_name
    aws_region     = data.aws_region.current.name
    image          = var.bootstrap_image
  })
  taskdef = jsondecode(templatefile(var.taskdef_template_path, merge(local.template_values, {
    task_execution_role_arn = aws_iam_role.execution.arn
    task_role_arn           = aws_iam_role.task.arn
  })))
  # The same render with the role ARNs (unknown until apply) left empty: its shape is known when
  # planning, so a wrong container name or port fails the plan rather than the apply.
  taskdef_shape = jsondecode(templatefile(var.taskdef_template_path, merge(local.template_values, {
    task_execution_role_arn = ""
    task_role_arn           = ""
  })))
  lb_container = [
    for c in local.taskdef_shape.containerDefinitions : c
    if c.name == var.container_name && contains([for p in try(c.portMappings, []) : p.containerPort], var.container_port)
  ]
}

resource "aws_ecs_cluster" "this" {
  count = var.create_cluster ? 1 : 0

  name = var.cluster_name

  setting {
    name  = "containerInsights"
    value = var.container_insights
  }

  tags = var.tags
}

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    sid     = "EcsTasks"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# Pulls the image and writes logs; nothing the application itself calls.
resource "aws_iam_role" "execution" {
  name               = local.execution_role
  description        = "ECS task execution role of ${var.service_name}: image pull and logs"
  assume_role_policy = local.ecs_assume_role
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

# The application's own identity; empty unless task_role_policy_json is given.
resource "aws_iam_role" "task" {
  name               = local.task_role
  description        = "ECS task role of ${var.service_name}: the application's own AWS permissions"
  assume_role_policy = local.ecs_assume_role
  tags               = var.tags
}

resource "aws_iam_role_policy" "task" {
  count = var.task_role_policy_json == null ? 0 : 1

  name   = "${var.name}-task"
  role   = aws_iam_role.task.id
  policy = var.task_role_policy_json
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:Log groups are encrypted by CloudWatch Logs by default; a customer-managed key is optional (log_kms_key_arn) because its key policy is an account decision.
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

# The first revision only. Later revisions come from the orchestrator (`orchestrator release`), so
# Terraform registers this one once and then ignores it; skip_destroy keeps revisions registered when
# the resource is replaced or destroyed (the service may be running one).
resource "aws_ecs_task_definition" "bootstrap" {
  #checkov:skip=CKV_AWS_336:The root filesystem setting belongs to the application's taskdef.json, which the release validates; this bootstrap revision only renders it.
  family                   = local.taskdef_shape.family
  network_mode             = try(local.taskdef_shape.networkMode, "awsvpc")
  requires_compatibilities = try(local.taskdef_shape.requiresCompatibilities, ["FARGATE"])
  cpu                      = try(local.taskdef_shape.cpu, null)
  memory                   = try(local.taskdef_shape.memory, null)
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions    = jsonencode(local.taskdef.containerDefinitions)
  skip_destroy             = true
  tags                     = var.tags

  dynamic "runtime_platform" {
    for_each = can(local.taskdef_shape.runtimePlatform) ? [local.taskdef_shape.runtimePlatform] : []
    content {
      operating_system_family = try(runtime_platform.value.operatingSystemFamily, null)
      cpu_architecture        = try(runtime_platform.value.cpuArchitecture, null)
    }
  }

  lifecycle {
    ignore_changes = all

    precondition {
      condition     = length(local.lb_container) == 1
      error_message = "The task definition template has no container \"${var.container_name}\" with containerPort ${var.container_port}."
    }
    precondition {
      condition     = try(local.taskdef.executionRoleArn, "") == aws_iam_role.execution.arn && try(local.taskdef.taskRoleArn, "") == aws_iam_role.task.arn
      error_message = "The task definition template must take executionRoleArn and taskRoleArn from $${task_execution_role_arn} and $${task_role_arn}."
    }
  }
}

resource "aws_security_group" "service" {
  name        = local.security_group
  description = "Tasks of ${var.service_name}: traffic from the load balancer only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = local.security_group })
}

resource "aws_vpc_security_group_ingress_rule" "from_alb" {
  security_group_id            = aws_security_group.service.id
  description                  = "Container port from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
  referenced_security_group_id = var.alb_security_group_id
  tags                         = var.tags
}

resource "aws_vpc_security_group_egress_rule" "alb_to_tasks" {
  security_group_id            = var.alb_security_group_id
  description                  = "Load balancer to the tasks of ${var.service_name}"
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
  referenced_security_group_id = aws_security_group.service.id
  tags                         = var.tags
}

resource "aws_vpc_security_group_egress_rule" "tasks_https" {
  #checkov:skip=CKV_AWS_382:Tasks pull images from ECR/public registries and reach AWS APIs over HTTPS; those have no fixed address ranges.
  security_group_id = aws_security_group.service.id
  description       = "HTTPS out: image pulls, CloudWatch Logs, AWS APIs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
  tags              = var.tags
}

# Depending on this makes the service wait for the listeners, whose ARNs are only known once they
# exist: a service created before its target group is attached to a listener fails.
resource "terraform_data" "listeners_ready" {
  input = var.listener_arns
}

resource "aws_ecs_service" "this" {
  name                              = var.service_name
  cluster                           = local.cluster_arn
  task_definition                   = aws_ecs_task_definition.bootstrap.arn
  desired_count                     = var.desired_count
  launch_type                       = "FARGATE"
  platform_version                  = "LATEST"
  health_check_grace_period_seconds = var.health_check_grace_period_seconds
  enable_ecs_managed_tags           = true
  propagate_tags                    = "SERVICE"
  wait_for_steady_state             = false

  deployment_controller {
    type = "CODE_DEPLOY"
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.service.id]
    assign_public_ip = var.assign_public_ip
  }

  # Blue only: CodeDeploy attaches green to the replacement task set. Both here leaves Install stuck.
  load_balancer {
    target_group_arn = var.blue_target_group_arn
    container_name   = var.container_name
    container_port   = var.container_port
  }

  lifecycle {
    ignore_changes = [task_definition, load_balancer, desired_count]
  }

  tags = var.tags

  depends_on = [terraform_data.listeners_ready, aws_iam_role_policy_attachment.execution]
}

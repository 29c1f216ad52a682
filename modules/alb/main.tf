# The load balancer of one service, its security group, the blue/green target-group pair and the two
# listeners CodeDeploy switches between them.
#
# Both listeners start out forwarding to blue. From the first release on, CodeDeploy owns their
# default actions (which target group is live alternates between blue and green), so Terraform must
# never put them back: `ignore_changes = [default_action]` (terraform-provider-aws#632).

locals {
  https     = var.certificate_arn != null
  prod_port = local.https ? 443 : 80
  # Default: the VPC only (the orchestrator's checks and people on the VPN); never the internet.
  test_ingress_cidr_blocks = coalesce(var.test_ingress_cidr_blocks, [var.vpc_cidr_block])
  target_groups            = toset(["blue", "green"])
  ingress_ports            = toset(local.https ? [80, 443] : [80])
}

resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "Load balancer of ${var.name}: production and test listeners"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-alb" })
}

resource "aws_vpc_security_group_ingress_rule" "production" {
  #checkov:skip=CKV_AWS_260:The production listener of a public web service is meant to be reachable on port 80 (it redirects to HTTPS when a certificate is given); ingress_cidr_blocks narrows it.
  for_each = { for pair in setproduct(local.ingress_ports, var.ingress_cidr_blocks) : "${pair[0]}-${pair[1]}" => pair }

  security_group_id = aws_security_group.alb.id
  description       = "Production listener port ${each.value[0]}"
  ip_protocol       = "tcp"
  from_port         = each.value[0]
  to_port           = each.value[0]
  cidr_ipv4         = each.value[1]
  tags              = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "test" {
  for_each = toset(local.test_ingress_cidr_blocks)

  security_group_id = aws_security_group.alb.id
  description       = "Test listener (CodeDeploy test traffic route)"
  ip_protocol       = "tcp"
  from_port         = var.test_listener_port
  to_port           = var.test_listener_port
  cidr_ipv4         = each.value
  tags              = var.tags
}

# Egress to the tasks is added by the ecs-service module, which owns the tasks' security group.

resource "aws_lb" "this" {
  #checkov:skip=CKV_AWS_91:Access logs are configurable (access_logs_bucket, access_logs_prefix, access_logs_enabled; the root's access_logs); the bucket and its policy are an account-level decision.
  #checkov:skip=CKV_AWS_150:Deletion protection is a variable (enable_deletion_protection), true in envs/prod.tfvars; false by default so a dev stack can be destroyed.
  #checkov:skip=CKV2_AWS_20:HTTP redirects to HTTPS whenever certificate_arn is given (aws_lb_listener.http_redirect); without a certificate there is no HTTPS to redirect to.
  #checkov:skip=CKV2_AWS_28:A WAF web ACL is an account/organisation decision; attach one with aws_wafv2_web_acl_association outside this module.
  name                       = var.name
  internal                   = var.internal
  load_balancer_type         = "application"
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.subnet_ids
  idle_timeout               = var.idle_timeout_seconds
  drop_invalid_header_fields = true
  enable_deletion_protection = var.enable_deletion_protection

  dynamic "access_logs" {
    for_each = var.access_logs_bucket == null ? [] : [var.access_logs_bucket]
    content {
      bucket  = access_logs.value
      prefix  = coalesce(var.access_logs_prefix, var.name)
      enabled = var.access_logs_enabled
    }
  }

  tags = var.tags
}

# Names are fixed (<name>-blue, <name>-green): CodeDeploy's deployment group and the outputs contract
# refer to the target groups by name. See README.md, "Target group names", for why this is safe.
resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer; the tasks behind it in private subnets speak plain HTTP.
  for_each = local.target_groups

  name                 = "${var.name}-${each.key}"
  vpc_id               = var.vpc_id
  target_type          = "ip"
  protocol             = "HTTP"
  port                 = var.container_port
  deregistration_delay = var.deregistration_delay_seconds

  health_check {
    enabled             = true
    protocol            = "HTTP"
    path                = var.health_check_path
    port                = "traffic-port"
    matcher             = var.health_check_matcher
    interval            = var.health_check_interval_seconds
    timeout             = min(5, var.health_check_interval_seconds - 1)
    healthy_threshold   = var.healthy_threshold
    unhealthy_threshold = var.unhealthy_threshold
  }

  tags = merge(var.tags, { Name = "${var.name}-${each.key}", Color = each.key })
}

# The production listener: HTTPS on 443 with a certificate, HTTP on 80 without.
resource "aws_lb_listener" "production" {
  #checkov:skip=CKV_AWS_2:HTTPS is used whenever certificate_arn is given; without a certificate (dev, demo) the production listener is HTTP.
  #checkov:skip=CKV_AWS_103:The TLS policy (ssl_policy, TLS 1.2+ by default) applies whenever the listener is HTTPS.
  load_balancer_arn = aws_lb.this.arn
  port              = local.prod_port
  protocol          = local.https ? "HTTPS" : "HTTP"
  certificate_arn   = var.certificate_arn
  ssl_policy        = local.https ? var.ssl_policy : null

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this["blue"].arn
  }

  lifecycle {
    # CodeDeploy switches the live target group; Terraform must not switch it back.
    ignore_changes = [default_action]

    # A precondition fails the plan (a `check` block would only warn).
    precondition {
      condition     = !var.require_https || var.certificate_arn != null
      error_message = "A production environment (require_https; the root sets it from environment_type = \"production\") needs certificate_arn: without it the production listener would be plain HTTP. Give the ARN of an ACM certificate for the service's domain."
    }
  }

  tags = var.tags
}

# With HTTPS, plain HTTP only redirects to it.
resource "aws_lb_listener" "http_redirect" {
  #checkov:skip=CKV_AWS_2:This listener only answers with a redirect to HTTPS.
  count = local.https ? 1 : 0

  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }

  tags = var.tags
}

# The test listener, on its own port: CodeDeploy routes it to the replacement (green) tasks during a
# deployment, so they can be checked before any production traffic reaches them.
resource "aws_lb_listener" "test" {
  #checkov:skip=CKV_AWS_2:The test listener carries CodeDeploy's test traffic to the replacement tasks; restrict who reaches it with test_ingress_cidr_blocks.
  #checkov:skip=CKV_AWS_103:The test listener is HTTP; no TLS policy applies.
  #checkov:skip=CKV2_AWS_20:The test listener is not for users; it must reach the replacement tasks directly, not redirect.
  load_balancer_arn = aws_lb.this.arn
  port              = var.test_listener_port
  protocol          = "HTTP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this["blue"].arn
  }

  lifecycle {
    ignore_changes = [default_action]
  }

  tags = var.tags
}

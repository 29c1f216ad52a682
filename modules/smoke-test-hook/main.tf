# A smoke test CodeDeploy runs at AfterAllowTestTraffic: a Python Lambda (src/handler.py, packaged as
# handler.zip by `make smoke-hook-zip`, i.e. `python -m orchestrator.smoke_hook`) requests the test listener, which serves the replacement tasks
# only, and reports Succeeded or Failed through PutLifecycleEventHookExecutionStatus. A failure fails
# the deployment before production traffic moves (user guide, "AppSpec 'hooks' section for an
# Amazon ECS deployment").

data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  function_name = "${var.name}-smoke-test"
  account_id    = split(":", aws_iam_role.this.arn)[4] # known without an STS call at plan time
  log_group_arn = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${local.account_id}:log-group:/aws/lambda/${local.function_name}"
  # The test listener: inside the VPC for an internal load balancer; an internet-facing one's DNS name
  # resolves to public addresses that AWS may change, reached through the NAT gateway.
  test_listener_cidr = var.load_balancer_internal ? var.vpc_cidr_block : "0.0.0.0/0"
}

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "Lambda"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = local.function_name
  description        = "Smoke test of ${var.name}'s replacement tasks (CodeDeploy AfterAllowTestTraffic hook)"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "this" {
  #checkov:skip=CKV_AWS_356:The EC2 network-interface actions a function in a VPC needs support no resource-level permissions (as in AWSLambdaVPCAccessExecutionRole); everything else is scoped.
  #checkov:skip=CKV_AWS_111:The only unscoped writes are the network interfaces Lambda attaches to the function in its VPC and the hook report, which support no resource-level permissions.
  statement {
    sid     = "ReportHook"
    actions = ["codedeploy:PutLifecycleEventHookExecutionStatus"]
    # The Service Authorization Reference lists no resource type for it: IAM evaluates it against "*",
    # so a deployment-group ARN here would deny every report.
    resources = ["*"]
  }

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn}:*"]
  }

  statement {
    sid = "VpcNetworkInterfaces"
    actions = [
      "ec2:CreateNetworkInterface",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DeleteNetworkInterface",
      "ec2:AssignPrivateIpAddresses",
      "ec2:UnassignPrivateIpAddresses",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = local.function_name
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:Log groups are encrypted by CloudWatch Logs by default; a customer-managed key is optional (log_kms_key_arn) because its key policy is an account decision.
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_security_group" "this" {
  name        = local.function_name
  description = "Smoke test of ${var.name}: to the test listener and the CodeDeploy API only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = local.function_name })
}

resource "aws_vpc_security_group_egress_rule" "test_listener" {
  #checkov:skip=CKV_AWS_382:Only for an internet-facing load balancer, whose addresses are public and not fixed; only the test port is open, and the load balancer admits the NAT gateways' addresses only.
  security_group_id = aws_security_group.this.id
  description       = var.load_balancer_internal ? "The test listener (internal load balancer, inside the VPC)" : "The test listener (internet-facing load balancer, through the NAT gateway)"
  ip_protocol       = "tcp"
  from_port         = var.test_listener_port
  to_port           = var.test_listener_port
  cidr_ipv4         = local.test_listener_cidr
}

resource "aws_vpc_security_group_egress_rule" "https" {
  #checkov:skip=CKV_AWS_382:The CodeDeploy API (the report) is reached over HTTPS and has no fixed address ranges; only port 443 is open.
  security_group_id = aws_security_group.this.id
  description       = "HTTPS to the CodeDeploy API (PutLifecycleEventHookExecutionStatus)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:CodeDeploy waits for the report, not the invocation: a lost run fails the lifecycle event after an hour, so a dead-letter queue would hold nothing anyone acts on.
  #checkov:skip=CKV_AWS_173:The environment holds the test listener URL and the test's settings, no secrets; Lambda encrypts it at rest with its own key.
  #checkov:skip=CKV_AWS_272:The code is this module's own src/handler.py, packaged in the repository; code signing needs a signing profile, an account-level decision.
  function_name    = local.function_name
  description      = "CodeDeploy AfterAllowTestTraffic smoke test of ${var.name} through its test listener"
  role             = aws_iam_role.this.arn
  runtime          = "python3.12"
  handler          = "handler.handler"
  filename         = "${path.module}/handler.zip"
  source_code_hash = filebase64sha256("${path.module}/handler.zip")
  timeout          = var.time_limit_seconds + 30
  memory_size      = 128
  # None by default: a new account's concurrency quota is 10 and Lambda keeps 10 unreserved, so any
  # reservation fails the apply there (Lambda developer guide, "Lambda quotas").
  reserved_concurrent_executions = var.reserved_concurrency

  environment {
    variables = {
      TEST_LISTENER_URL = var.test_listener_url
      SMOKE_PATHS       = join(",", var.paths)
      EXPECTED_STATUS   = tostring(var.expected_status)
      RETRIES           = tostring(var.retries)
      RETRY_DELAY_S     = tostring(var.retry_delay_seconds)
      TIME_LIMIT_S      = tostring(var.time_limit_seconds)
    }
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = [aws_security_group.this.id]
  }

  tracing_config {
    mode = "Active"
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
}

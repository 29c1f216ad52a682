# The role a GitHub Actions workflow assumes (OIDC, no stored keys) to release: push the image,
# register the task definition, start and watch the CodeDeploy deployment. Nothing more: no
# ecs:UpdateService (CodeDeploy does that), no Terraform permissions.

data "aws_partition" "current" {}

locals {
  oidc_url          = "token.actions.githubusercontent.com"
  oidc_provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : var.oidc_provider_arn
  partition         = data.aws_partition.current.partition

  # [arn:PARTITION:ecs:REGION:ACCOUNT, CLUSTER] of each cluster: one-off tasks' task definitions and tasks.
  cluster_parts = [for a in var.ecs_cluster_arns : regex("^(arn:[^:]+:ecs:[^:]+:[0-9]{12}):cluster/(.+)$", a)]

  # Deployment configurations are account- and region-scoped resources; derive both from the
  # applications' ARNs rather than looking them up.
  codedeploy_scopes = distinct([for a in var.codedeploy_application_arns : join(":", slice(split(":", a), 0, 5))])
  deployment_config_arns = [
    for scope in local.codedeploy_scopes : "${scope}:deploymentconfig:*"
  ]
}

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 1 : 0

  url            = "https://${local.oidc_url}"
  client_id_list = ["sts.amazonaws.com"]
  # AWS no longer checks thumbprints for this provider (it trusts GitHub's CA); the API still wants one.
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1"]
  tags            = var.tags
}

data "aws_iam_policy_document" "trust" {
  statement {
    sid     = "GitHubActionsOidc"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_url}:aud"
      values   = ["sts.amazonaws.com"]
    }

    # Exact subjects only: a wildcard here would let any branch or fork assume the role.
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_url}:sub"
      values   = var.github_subjects
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = var.name
  description          = "Assumed by GitHub Actions to release ECS services through CodeDeploy"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = var.max_session_duration_seconds
  tags                 = var.tags

  lifecycle {
    precondition {
      condition     = var.create_oidc_provider || var.oidc_provider_arn != null
      error_message = "Set oidc_provider_arn when create_oidc_provider is false."
    }
  }
}

data "aws_iam_policy_document" "release" {
  #checkov:skip=CKV_AWS_356:GetAuthorizationToken, RegisterTaskDefinition, DescribeTaskDefinition, the ELB Describe calls and CodeDeploy's deployment stop/continue/target calls support no resource-level permissions; everything else is scoped.
  #checkov:skip=CKV_AWS_111:The only unscoped writes are ecs:RegisterTaskDefinition, ecs:DeregisterTaskDefinition, codedeploy:StopDeployment and codedeploy:ContinueDeployment, which support no resource-level permissions; PassRole still limits which roles it can name.
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "EcrPush"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:DescribeImages",
      "ecr:GetDownloadUrlForLayer",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = var.ecr_repository_arns
  }

  statement {
    sid = "TaskDefinitions"
    # ListTaskDefinitions: `orchestrator rollback` falls back to the family's previous revision.
    # DeregisterTaskDefinition: a release that loses the race at CreateDeployment removes the
    # revision it registered (without it the release only names the leftover).
    actions = [
      "ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition", "ecs:DescribeTaskDefinition",
      "ecs:ListTaskDefinitions",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "PassTaskRoles"
    actions   = ["iam:PassRole"]
    resources = var.pass_role_arns

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  statement {
    sid       = "ReadServices"
    actions   = ["ecs:DescribeServices"]
    resources = var.ecs_service_arns
  }

  statement {
    sid       = "ReadClusters"
    actions   = ["ecs:DescribeClusters"]
    resources = var.ecs_cluster_arns
  }

  statement {
    sid       = "ReadTasks"
    actions   = ["ecs:DescribeTasks", "ecs:ListTasks"]
    resources = ["*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = var.ecs_cluster_arns
    }
  }

  statement {
    sid = "OneOffTasks"
    # `orchestrator run` and `release --pre-task`: a one-off task of this account's task definitions, only in these clusters.
    actions   = ["ecs:RunTask"]
    resources = [for c in local.cluster_parts : "${c[0]}:task-definition/*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = var.ecs_cluster_arns
    }
  }

  statement {
    sid       = "StopOneOffTasks"
    actions   = ["ecs:StopTask"] # on timeout or Ctrl-C
    resources = [for c in local.cluster_parts : "${c[0]}:task/${c[1]}/*"]
  }

  statement {
    sid       = "OneOffTaskLogs"
    actions   = ["logs:GetLogEvents"]
    resources = [for arn in var.log_group_arns : "${arn}:log-stream:*"]
  }

  statement {
    sid = "Deployments"
    # Actions whose Service Authorization Reference entry has the deploymentgroup resource type.
    actions = [
      "codedeploy:BatchGetDeployments", # `orchestrator history` reads deployments in batches
      "codedeploy:CreateDeployment",
      "codedeploy:GetDeployment",
      "codedeploy:GetDeploymentGroup",
      "codedeploy:ListDeployments",
    ]
    resources = var.codedeploy_deployment_group_arns
  }

  statement {
    sid = "DeploymentsWithoutResourceType"
    # The Service Authorization Reference lists no resource type for these: IAM evaluates them against
    # "*", so a group-scoped allow never matches (stop, approve, --on-timeout stop and the watch's
    # target reads would all be denied).
    actions = [
      "codedeploy:ContinueDeployment",
      "codedeploy:GetDeploymentTarget",
      "codedeploy:ListDeploymentTargets",
      "codedeploy:StopDeployment",
    ]
    resources = ["*"]
  }

  statement {
    sid = "Revisions"
    actions = [
      "codedeploy:GetApplication",
      "codedeploy:GetApplicationRevision",
      "codedeploy:RegisterApplicationRevision",
    ]
    resources = var.codedeploy_application_arns
  }

  statement {
    sid       = "DeploymentConfigs"
    actions   = ["codedeploy:GetDeploymentConfig"]
    resources = local.deployment_config_arns
  }

  statement {
    sid = "ReadLoadBalancing"
    actions = [
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeRules",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetHealth",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "release" {
  name   = "release"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.release.json
}

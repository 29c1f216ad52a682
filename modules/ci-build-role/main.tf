# The role the build job of a GitHub Actions workflow assumes (OIDC, no stored keys) to push the
# image it built. The build job runs repository code (the Makefile, the app's build), so its role can
# do nothing else: no CodeDeploy, no ECS, no PassRole. Releasing is the deploy job's role
# (modules/ci-deploy-role), which trusts other subjects.

locals {
  oidc_url = "token.actions.githubusercontent.com"
}

data "aws_iam_policy_document" "trust" {
  statement {
    sid     = "GitHubActionsOidc"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
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
  description          = "Assumed by the GitHub Actions build job to push images to ECR, nothing else"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600
  tags                 = var.tags
}

data "aws_iam_policy_document" "push" {
  #checkov:skip=CKV_AWS_356:ecr:GetAuthorizationToken supports no resource-level permissions (it only returns a registry login); every push action is scoped to the repositories.
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "EcrPush"
    # DescribeImages: `orchestrator build` skips the push when the commit's tag is already there.
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:DescribeImages",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = var.ecr_repository_arns
  }
}

resource "aws_iam_role_policy" "push" {
  name   = "push"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.push.json
}

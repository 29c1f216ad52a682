# The two roles ECS itself assumes for its own blue/green deployments:
# - the infrastructure role, named in the service's loadBalancers[].advancedConfiguration.roleArn:
#   ECS changes the listener rules' weights with it (AWS managed policy
#   AmazonECSInfrastructureRolePolicyForLoadBalancers);
# - the hook role, named in each deploymentConfiguration.lifecycleHooks[].roleArn: ECS invokes the
#   hook functions with it (lambda:InvokeFunction on those functions only).
# Both trust ecs.amazonaws.com (ECS developer guide, "Amazon ECS infrastructure IAM role" and
# "Permissions required for Lambda functions in Amazon ECS blue/green deployments").

data "aws_partition" "current" {}

data "aws_iam_policy_document" "ecs_assume" {
  statement {
    sid     = "EcsService"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "infrastructure" {
  name               = "${var.name}-ecs-infrastructure"
  description        = "Assumed by ECS to move listener-rule weights during ECS-native blue/green deployments"
  assume_role_policy = data.aws_iam_policy_document.ecs_assume.json
  tags               = var.tags
}

# Not under service-role/: arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers
# (AWS Managed Policy reference).
resource "aws_iam_role_policy_attachment" "load_balancers" {
  role       = aws_iam_role.infrastructure.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"
}

resource "aws_iam_role" "hooks" {
  count = length(var.hook_function_arns) > 0 ? 1 : 0

  name               = "${var.name}-ecs-hooks"
  description        = "Assumed by ECS to invoke the lifecycle-hook functions of ECS-native deployments"
  assume_role_policy = data.aws_iam_policy_document.ecs_assume.json
  tags               = var.tags
}

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

  name   = "${var.name}-ecs-hooks"
  role   = aws_iam_role.hooks[0].id
  policy = data.aws_iam_policy_document.hooks[0].json
}

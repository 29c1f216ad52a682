"""The CodeDeploy engine: ECS blue/green deployments through AWS CodeDeploy (CreateDeployment with an
AppSpec naming the registered task definition). `vocabulary` holds CodeDeploy's status and error-code
words; `engine.CodeDeployEngine` implements orchestrator.engines.base.DeploymentEngine."""

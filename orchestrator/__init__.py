"""Release orchestrator for Amazon ECS blue/green deployments through AWS CodeDeploy."""

__version__ = "0.1.0"

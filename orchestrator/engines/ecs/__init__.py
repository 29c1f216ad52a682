"""The ECS engine: ECS's own service deployments (deploymentController ECS: ROLLING, BLUE_GREEN, LINEAR,
CANARY). A release registers the task definition and calls UpdateService only; ECS walks its lifecycle
stages, moves the listener rules' weights, runs its hooks and rolls back on its own.

- deployments: the reading of service deployments (typed view, wait points, waits, the failure's reason);
- wiring:      the ECS-native wiring checked before any write;
- engine:      `EcsEngine`, orchestrator.engines.base.DeploymentEngine for these services.
"""

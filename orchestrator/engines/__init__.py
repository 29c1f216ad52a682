"""Deployment engines: what starts, follows, stops and rolls back a blue/green deployment of one ECS
service. `base.DeploymentEngine` is the seam the release path (orchestrator/release/) talks to;
`codedeploy/` is the first engine; `select.engine_for` picks a service's engine from the outputs'
`deployment_engine` field. See docs/architecture.md, "Where to add an engine"."""

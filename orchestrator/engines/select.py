"""Which engine deploys a service: the outputs' `deployment_engine` field (orchestrator/contract.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.engines.base import DeploymentEngine
from orchestrator.engines.codedeploy.engine import CodeDeployEngine
from orchestrator.engines.ecs.engine import EcsEngine, is_service_deployment, poll_service_deployments
from orchestrator.errors import InputError
from orchestrator.poller import OTHER_ENGINES

if TYPE_CHECKING:
    from orchestrator.contract import ServiceOutputs

# The engines this version drives, by the outputs' `deployment_engine` value (contract.ENGINES lists
# every value the outputs may hold; a value missing here is refused as not supported yet).
ENGINES: dict[str, DeploymentEngine] = {"codedeploy": CodeDeployEngine(), "ecs": EcsEngine()}
# The shared poller follows service deployments beside CodeDeploy's (a release may mix engines).
OTHER_ENGINES.append((is_service_deployment, poll_service_deployments))


def engine_for(service: ServiceOutputs, key: str | None = None) -> DeploymentEngine:
    """The service's engine; an engine this version cannot drive yet is bad input (exit 2, nothing written)."""
    name = service.deployment_engine
    if name in ENGINES:
        return ENGINES[name]
    where = f"services.{key}.deployment_engine" if key else "deployment_engine"
    raise InputError(
        f"{where} is {name!r}: deployments through the {name} engine are not supported yet",
        hint='release this service through CodeDeploy (deployment_engine = "codedeploy")',
    )

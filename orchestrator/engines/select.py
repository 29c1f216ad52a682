"""Which engine deploys a service: the outputs' `deployment_engine` field (orchestrator/contract.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.engines.base import DeploymentEngine
from orchestrator.engines.codedeploy.engine import CodeDeployEngine
from orchestrator.errors import InputError

if TYPE_CHECKING:
    from orchestrator.contract import ServiceOutputs

# The engines this version drives, by the outputs' `deployment_engine` value (contract.ENGINES lists
# every value the outputs may hold; a value missing here is refused as not supported yet).
ENGINES: dict[str, DeploymentEngine] = {"codedeploy": CodeDeployEngine()}


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

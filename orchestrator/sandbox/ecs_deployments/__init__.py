"""ECS's own service deployments in the sandbox (deploymentController ECS; ROLLING, BLUE_GREEN, LINEAR,
CANARY), on the same scaled clock, hook runner and control endpoint as the CodeDeploy engine.

Modules:
- config:        deploymentConfiguration defaults and what ECS refuses (hooks, strategies, steps).
- records:       service revisions and service deployments, kept on moto's ECS backend; answer shapes.
- walk:          the stage walk (Run), rollbacks, stops, circuit breaker and alarms.
- hooks:         Lambda hooks (hookStatus, callBackDelay) and PAUSE hooks.
- traffic:       listener rule weights (advancedConfiguration) and the wiring check.
- service_state: what a deployment changes on moto's Service (deployments, counts, events, tasks).
- faults:        per-service faults and hook rules, /_sandbox/ecs/ on the control endpoint.
- api:           CreateService/UpdateService and the five service-deployment operations on moto.
- controller_switch: UpdateService from CODE_DEPLOY to the ECS controller in place (its preconditions).
- provision:     the ECS-native variant of the example stack (`sandbox up --engine ecs`).

`install(engine)` patches moto's ECS response class once per process; tests/sandbox_ecs/ check it all
over HTTP with boto3 and the AWS CLI. docs/sandbox-control.md, "ECS service deployments", cites sources.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.sandbox.engine import Engine

# moto internals this package relies on (tests/sandbox_ecs/test_ecs_api.py checks them).
INTERNALS = (
    "moto.ecs.responses.EC2ContainerServiceResponse.create_service",
    "moto.ecs.responses.EC2ContainerServiceResponse.update_service",
    "moto.ecs.models.Service.deployments",
    "moto.elbv2.models.ELBv2Backend.modify_rule",
    "moto.elbv2.models.ELBv2Backend.describe_rules",
)

_installed = False


def _bind(func: Callable[..., Any], engine: Engine) -> Callable[..., Any]:
    @functools.wraps(func)
    def method(self: Any) -> Any:
        return func(self, engine)

    return method


def install(engine: Engine) -> None:
    """Patch moto's ECS responses (after moto_ext.install) so that ECS-controller services deploy."""
    global _installed
    if _installed:
        return
    from moto.ecs.responses import EC2ContainerServiceResponse as Responses

    from orchestrator.sandbox.ecs_deployments import api, controller_switch

    for name in api.ADDED_ACTIONS:
        if hasattr(Responses, name):  # a newer moto has its own: ours would shadow it silently
            raise RuntimeError(f"moto now implements ECS {name}; retire the sandbox's")
    Responses.create_service = api.create_service(Responses.create_service, engine)  # type: ignore[method-assign]
    Responses.update_service = api.update_service(Responses.update_service, engine)  # type: ignore[method-assign]
    # Outermost: a deployment-controller change (CODE_DEPLOY -> ECS in place) is checked and prepared first.
    Responses.update_service = controller_switch.update_service(Responses.update_service, engine)  # type: ignore[method-assign]
    for name, func in api.ADDED_ACTIONS.items():
        setattr(Responses, name, _bind(func, engine))
    _installed = True


def reset() -> None:
    """Forget the runs and faults (moto's reset forgets the deployments themselves)."""
    from orchestrator.sandbox.ecs_deployments.faults import ECS_FAULTS
    from orchestrator.sandbox.ecs_deployments.walk import RUNS

    RUNS.clear()
    ECS_FAULTS.clear()

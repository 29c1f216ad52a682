"""The control endpoint's /_sandbox/ecs/... routes: faults and hook rules of ECS service deployments,
and the deployments' trails. Apart from faults.py so that the walk can import the faults one way."""

from __future__ import annotations

from typing import Any

from orchestrator.sandbox.ecs_deployments.faults import ECS_FAULTS, EcsFaultError
from orchestrator.sandbox.ecs_deployments.walk import trails


def control(method: str, route: str, payload: dict[str, Any]) -> tuple[str, Any]:
    """/_sandbox/ecs/faults, /_sandbox/ecs/hooks, /_sandbox/ecs/deployments."""
    service = payload.pop("service", None)
    if service is not None and (not isinstance(service, str) or not service):
        raise EcsFaultError("service must be an ECS service name")
    if route == "/ecs/faults":
        if method == "GET":
            return "200", ECS_FAULTS.get()
        if method in ("POST", "PUT"):
            return "200", ECS_FAULTS.arm(service, payload)
        if method == "DELETE":
            return "200", ECS_FAULTS.clear(service)
    if route == "/ecs/hooks" and method in ("POST", "PUT"):
        return "200", ECS_FAULTS.set_rule(service, payload.get("hook"), payload.get("result"), payload.get("delay"))
    if route == "/ecs/deployments" and method == "GET":
        return "200", trails()
    return "404", {"error": f"no such control endpoint: {method} /_sandbox{route}"}

"""/_sandbox/ecs/ on the control endpoint: faults and hook rules (faults.py), and the stage trail of every
service deployment (walk.py) — including PRE_PRODUCTION_TRAFFIC_SHIFT, which DescribeServiceDeployments
reports as PRODUCTION_TRAFFIC_SHIFT (see walk.py)."""

from __future__ import annotations

from typing import Any

from orchestrator.sandbox.ecs_deployments.faults import ECS_FAULTS, EcsFaultError
from orchestrator.sandbox.ecs_deployments.walk import RUNS


def trails() -> dict[str, Any]:
    """Every deployment's stages as the sandbox walked them."""
    return {arn: {"status": run.dep.status, "stages": list(run.dep.trail)} for arn, run in RUNS.items()}


def control(method: str, route: str, payload: dict[str, Any]) -> tuple[str, Any]:
    """/_sandbox/ecs/faults (GET, POST, DELETE), /_sandbox/ecs/hooks (POST), /_sandbox/ecs/deployments (GET)."""
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

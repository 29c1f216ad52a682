"""CodeDeploy deployment configurations: the built-in ones AWS lists, custom ECS ones, and traffic plans.

A traffic plan is the list of (percent of production traffic on the replacement, simulated minutes to
wait after that shift) that AllowTraffic walks through.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# AWS lists its built-in configurations with a creation time in 2014-2018; any fixed past date will do.
_BUILTIN_CREATED = datetime(2018, 11, 27, tzinfo=UTC)


@dataclass
class DeploymentConfig:
    name: str
    compute_platform: str
    traffic_routing: dict[str, Any] | None = None
    minimum_healthy_hosts: dict[str, Any] | None = None
    config_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    create_time: datetime = field(default_factory=lambda: datetime.now(UTC))

    def info(self) -> dict[str, Any]:
        """The DeploymentConfigInfo shape."""
        out: dict[str, Any] = {
            "deploymentConfigId": self.config_id,
            "deploymentConfigName": self.name,
            "createTime": self.create_time,
            "computePlatform": self.compute_platform,
        }
        if self.minimum_healthy_hosts is not None:
            out["minimumHealthyHosts"] = self.minimum_healthy_hosts
        if self.traffic_routing is not None:
            out["trafficRoutingConfig"] = self.traffic_routing
        return out

    def traffic_plan(self) -> list[tuple[int, float]]:
        """[(green percent, minutes to wait after this shift)] ending at 100 percent."""
        routing = self.traffic_routing or {"type": "AllAtOnce"}
        kind = routing.get("type", "AllAtOnce")
        if kind == "TimeBasedCanary":
            canary = routing["timeBasedCanary"]
            return [(int(canary["canaryPercentage"]), float(canary["canaryInterval"])), (100, 0.0)]
        if kind == "TimeBasedLinear":
            linear = routing["timeBasedLinear"]
            step, interval = int(linear["linearPercentage"]), float(linear["linearInterval"])
            plan: list[tuple[int, float]] = []
            percent = step
            while percent < 100:
                plan.append((percent, interval))
                percent += step
            plan.append((100, 0.0))
            return plan
        return [(100, 0.0)]


def _builtin(
    name: str, platform: str, routing: dict[str, Any] | None, hosts: dict[str, Any] | None
) -> DeploymentConfig:
    # Stable ids so that repeated GetDeploymentConfig calls agree, as on AWS.
    return DeploymentConfig(
        name=f"CodeDeployDefault.{name}",
        compute_platform=platform,
        traffic_routing=routing,
        minimum_healthy_hosts=hosts,
        config_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"codedeploy:{name}")),
        create_time=_BUILTIN_CREATED,
    )


def _canary(percent: int, minutes: int) -> dict[str, Any]:
    return {"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": percent, "canaryInterval": minutes}}


def _linear(percent: int, minutes: int) -> dict[str, Any]:
    return {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": percent, "linearInterval": minutes}}


_ALL_AT_ONCE = {"type": "AllAtOnce"}

BUILTIN: dict[str, DeploymentConfig] = {
    c.name: c
    for c in [
        _builtin("OneAtATime", "Server", None, {"type": "HOST_COUNT", "value": 1}),
        _builtin("HalfAtATime", "Server", None, {"type": "FLEET_PERCENT", "value": 50}),
        _builtin("AllAtOnce", "Server", None, {"type": "HOST_COUNT", "value": 0}),
        _builtin("LambdaAllAtOnce", "Lambda", _ALL_AT_ONCE, None),
        _builtin("LambdaCanary10Percent5Minutes", "Lambda", _canary(10, 5), None),
        _builtin("LambdaCanary10Percent10Minutes", "Lambda", _canary(10, 10), None),
        _builtin("LambdaCanary10Percent15Minutes", "Lambda", _canary(10, 15), None),
        _builtin("LambdaCanary10Percent30Minutes", "Lambda", _canary(10, 30), None),
        _builtin("LambdaLinear10PercentEvery1Minute", "Lambda", _linear(10, 1), None),
        _builtin("LambdaLinear10PercentEvery2Minutes", "Lambda", _linear(10, 2), None),
        _builtin("LambdaLinear10PercentEvery3Minutes", "Lambda", _linear(10, 3), None),
        _builtin("LambdaLinear10PercentEvery10Minutes", "Lambda", _linear(10, 10), None),
        _builtin("ECSAllAtOnce", "ECS", _ALL_AT_ONCE, None),
        _builtin("ECSLinear10PercentEvery1Minutes", "ECS", _linear(10, 1), None),
        _builtin("ECSLinear10PercentEvery3Minutes", "ECS", _linear(10, 3), None),
        _builtin("ECSCanary10Percent5Minutes", "ECS", _canary(10, 5), None),
        _builtin("ECSCanary10Percent15Minutes", "ECS", _canary(10, 15), None),
    ]
}

ECS_DEFAULT = "CodeDeployDefault.ECSAllAtOnce"

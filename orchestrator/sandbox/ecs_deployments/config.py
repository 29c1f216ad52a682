"""A service's `deploymentConfiguration` for ECS's own deployments: defaults, and what ECS refuses.

Sources (botocore's ECS model, ECS API reference, ECS developer guide):
- `DeploymentConfiguration`: `maximumPercent` defaults to 200 and `minimumHealthyPercent` to 100 for a
  REPLICA service; `strategy` ROLLING | BLUE_GREEN | LINEAR | CANARY; `bakeTimeInMinutes` "You must
  provide this parameter when you use the BLUE_GREEN deployment strategy".
- `LinearConfiguration`: stepPercent "multiples of 0.1 from 3.0 to 100.0. The default value is 10.0";
  stepBakeTimeInMinutes "0 to 1440 ... The default value is 6".
- `CanaryConfiguration`: canaryPercent "multiples of 0.1 from 0.1 to 100.0. The default value is 5.0";
  canaryBakeTimeInMinutes "0 to 1440 ... The default value is 10".
- `DeploymentLifecycleHook.lifecycleStages`: the hook stages are botocore's DeploymentLifecycleHookStage
  (no SCALE_UP, BAKE_TIME or CLEAN_UP); "PAUSE hooks cannot be configured at TEST_TRAFFIC_SHIFT or
  PRODUCTION_TRAFFIC_SHIFT stages"; hookTargetArn "You must provide this parameter when configuring an
  AWS_LAMBDA lifecycle hook"; targetType defaults to AWS_LAMBDA; timeoutConfiguration.timeoutInMinutes
  defaults to 1440, its action to ROLLBACK.
- `AdvancedConfiguration` (loadBalancers[]): alternateTargetGroupArn, productionListenerRule,
  testListenerRule, roleArn ("Required resources for Amazon ECS blue/green deployments").

The exact wording of ECS's InvalidParameterException messages is not documented: the texts here are the
sandbox's, each naming the field and the value refused.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

STRATEGIES = ("ROLLING", "BLUE_GREEN", "LINEAR", "CANARY")
TRAFFIC_STRATEGIES = ("BLUE_GREEN", "LINEAR", "CANARY")
HOOK_STAGES = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
)
NO_HOOK_STAGES = ("SCALE_UP", "BAKE_TIME", "CLEAN_UP")
LAMBDA_ONLY_STAGES = ("TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT")
DEFAULT_HOOK_TIMEOUT_MINUTES = 1440
MAX_BAKE_MINUTES = 1440


class ConfigError(ValueError):
    """What ECS answers InvalidParameterException for."""


@dataclass(frozen=True)
class Hook:
    index: int
    target_type: str  # AWS_LAMBDA | PAUSE
    target_arn: str | None
    role_arn: str | None
    stages: tuple[str, ...]
    details: Any
    timeout_minutes: int
    timeout_action: str  # ROLLBACK | CONTINUE


def defaults(config: dict[str, Any] | None) -> dict[str, Any]:
    """The configuration as DescribeServices reports it: the given keys plus ECS's documented defaults."""
    out = copy.deepcopy(config or {})
    out.setdefault("maximumPercent", 200)
    out.setdefault("minimumHealthyPercent", 100)
    out.setdefault("deploymentCircuitBreaker", {"enable": False, "rollback": False})
    out.setdefault("strategy", "ROLLING")
    if out["strategy"] == "LINEAR":
        linear = out.setdefault("linearConfiguration", {})
        linear.setdefault("stepPercent", 10.0)
        linear.setdefault("stepBakeTimeInMinutes", 6)
    if out["strategy"] == "CANARY":
        canary = out.setdefault("canaryConfiguration", {})
        canary.setdefault("canaryPercent", 5.0)
        canary.setdefault("canaryBakeTimeInMinutes", 10)
    return out


def _tenths(value: Any, low: float, high: float, field: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{field} must be a number, got {value!r}.") from None
    if not low <= number <= high or not math.isclose(round(number * 10), number * 10, abs_tol=1e-6):
        raise ConfigError(f"{field} must be a multiple of 0.1 from {low:g} to {high:g}, got {number:g}.")
    return number


def _minutes(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_BAKE_MINUTES:
        raise ConfigError(f"{field} must be a whole number of minutes from 0 to {MAX_BAKE_MINUTES}, got {value!r}.")
    return value


def validate(config: dict[str, Any], controller: str, load_balancers: list[dict[str, Any]]) -> dict[str, Any]:
    """The configuration with defaults, or ConfigError for what ECS refuses (checked before any write)."""
    full = defaults(config)
    strategy = full["strategy"]
    if strategy not in STRATEGIES:
        raise ConfigError(f"deploymentConfiguration.strategy {strategy!r} is not one of {', '.join(STRATEGIES)}.")
    if strategy != "ROLLING" and controller != "ECS":
        raise ConfigError(f"The {strategy} deployment strategy requires the ECS deployment controller.")
    if "linearConfiguration" in config and strategy != "LINEAR":
        raise ConfigError("linearConfiguration is only valid when the deployment strategy is LINEAR.")
    if "canaryConfiguration" in config and strategy != "CANARY":
        raise ConfigError("canaryConfiguration is only valid when the deployment strategy is CANARY.")
    if strategy == "LINEAR":
        linear = full["linearConfiguration"]
        _tenths(linear["stepPercent"], 3.0, 100.0, "linearConfiguration.stepPercent")
        _minutes(linear["stepBakeTimeInMinutes"], "linearConfiguration.stepBakeTimeInMinutes")
    if strategy == "CANARY":
        canary = full["canaryConfiguration"]
        _tenths(canary["canaryPercent"], 0.1, 100.0, "canaryConfiguration.canaryPercent")
        _minutes(canary["canaryBakeTimeInMinutes"], "canaryConfiguration.canaryBakeTimeInMinutes")
    if strategy == "BLUE_GREEN" and "bakeTimeInMinutes" not in full:
        raise ConfigError("bakeTimeInMinutes is required when the deployment strategy is BLUE_GREEN.")
    if "bakeTimeInMinutes" in full:
        _minutes(full["bakeTimeInMinutes"], "deploymentConfiguration.bakeTimeInMinutes")
    hooks(full)
    if strategy in TRAFFIC_STRATEGIES:
        advanced: list[dict[str, Any]] = [
            lb["advancedConfiguration"] for lb in load_balancers if lb.get("advancedConfiguration")
        ]
        if not advanced:
            raise ConfigError(
                f"The {strategy} deployment strategy requires a load balancer with an advancedConfiguration "
                "(alternateTargetGroupArn, productionListenerRule, roleArn)."
            )
        for key in ("alternateTargetGroupArn", "productionListenerRule", "roleArn"):
            if not advanced[0].get(key):
                raise ConfigError(f"loadBalancers[].advancedConfiguration.{key} is required for {strategy}.")
    return full


def hooks(config: dict[str, Any]) -> list[Hook]:
    """The configuration's lifecycle hooks, checked: stages, targets, timeouts."""
    out: list[Hook] = []
    for index, raw in enumerate(config.get("lifecycleHooks") or []):
        where = f"deploymentConfiguration.lifecycleHooks[{index}]"
        kind = raw.get("targetType") or "AWS_LAMBDA"
        if kind not in ("AWS_LAMBDA", "PAUSE"):
            raise ConfigError(f"{where}.targetType {kind!r} is not AWS_LAMBDA or PAUSE.")
        stages = tuple(raw.get("lifecycleStages") or ())
        if not stages:
            raise ConfigError(f"{where}.lifecycleStages is required.")
        for stage in stages:
            if stage in NO_HOOK_STAGES:
                raise ConfigError(
                    f"{where}.lifecycleStages: lifecycle hooks are not supported at the {stage} stage; "
                    f"valid stages are {', '.join(HOOK_STAGES)}."
                )
            if stage not in HOOK_STAGES:
                raise ConfigError(f"{where}.lifecycleStages: {stage!r} is not a lifecycle hook stage.")
            if kind == "PAUSE" and stage in LAMBDA_ONLY_STAGES:
                raise ConfigError(f"{where}: PAUSE hooks cannot be configured at the {stage} stage.")
        if kind == "AWS_LAMBDA" and not raw.get("hookTargetArn"):
            raise ConfigError(f"{where}.hookTargetArn is required for an AWS_LAMBDA lifecycle hook.")
        if kind == "AWS_LAMBDA" and not raw.get("roleArn"):
            raise ConfigError(f"{where}.roleArn is required for an AWS_LAMBDA lifecycle hook.")
        timeout = raw.get("timeoutConfiguration") or {}
        minutes = timeout.get("timeoutInMinutes", DEFAULT_HOOK_TIMEOUT_MINUTES)
        if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1:
            raise ConfigError(f"{where}.timeoutConfiguration.timeoutInMinutes must be a positive number of minutes.")
        out.append(
            Hook(
                index=index,
                target_type=kind,
                target_arn=raw.get("hookTargetArn") if kind == "AWS_LAMBDA" else None,
                role_arn=raw.get("roleArn"),
                stages=stages,
                details=raw.get("hookDetails"),
                timeout_minutes=minutes,
                timeout_action=timeout.get("action") or "ROLLBACK",
            )
        )
    return out


def traffic_plan(config: dict[str, Any]) -> list[tuple[float, float]]:
    """Production steps as (percent to the new revision, simulated seconds to wait after it)."""
    strategy = config.get("strategy")
    if strategy == "LINEAR":
        linear = config["linearConfiguration"]
        step, wait = float(linear["stepPercent"]), float(linear["stepBakeTimeInMinutes"]) * 60
        plan: list[tuple[float, float]] = []
        percent = 0.0
        while percent < 100.0 - 1e-9:
            percent = min(round(percent + step, 1), 100.0)
            # "This bake time is not applied after reaching 100 percent traffic."
            plan.append((percent, wait if percent < 100.0 else 0.0))
        return plan
    if strategy == "CANARY":
        canary = config["canaryConfiguration"]
        first = float(canary["canaryPercent"])
        if first >= 100.0:
            return [(100.0, 0.0)]
        return [(first, float(canary["canaryBakeTimeInMinutes"]) * 60), (100.0, 0.0)]
    return [(100.0, 0.0)]

"""Where the sandbox's listeners send traffic, read the way a user reads it (DescribeListeners)."""

from __future__ import annotations

from typing import Any


def production_weights(sandbox: Any, listener_key: str = "prod_listener_arn") -> dict[str, float]:
    """Target group name → percent of the listener's default forward action."""
    arn = sandbox.service_outputs()[listener_key]
    action = sandbox.client("elbv2").describe_listeners(ListenerArns=[arn])["Listeners"][0]["DefaultActions"][0]
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or [
        {"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}
    ]
    total = sum(g.get("Weight", 1) for g in groups) or 1
    return {
        g["TargetGroupArn"].split(":targetgroup/")[1].split("/")[0]: 100.0 * g.get("Weight", 1) / total for g in groups
    }


def serving_group(sandbox: Any) -> str | None:
    """The target group that receives all production traffic."""
    return next((name for name, weight in production_weights(sandbox).items() if weight == 100.0), None)

"""The lifecycle of a CodeDeploy ECS blue/green deployment, in the order AWS runs it.

One list, shared by the sandbox engine, the fault options, the AppSpec checks and the console.
"""

from __future__ import annotations

LIFECYCLE_EVENTS: tuple[str, ...] = (
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "AllowTestTraffic",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
)

# The events an AppSpec may attach a Lambda hook to (the others are CodeDeploy's own steps).
HOOK_EVENTS: tuple[str, ...] = (
    "BeforeInstall",
    "AfterInstall",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AfterAllowTraffic",
)

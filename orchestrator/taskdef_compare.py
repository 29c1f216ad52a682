"""Whether a registered task definition is the one a release rendered (re-attach, lost answers)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.ecs_read import without_empty
from orchestrator.taskdef import strip_read_only

if TYPE_CHECKING:
    from orchestrator.aws import Aws


def covers(live: Any, ours: Any) -> bool:
    """Everything we set is set the same in `live`; keys only `live` has are ECS's defaults (hostPort
    under awsvpc, say). Lists must match element by element."""
    if isinstance(ours, dict):
        return isinstance(live, dict) and all(k in live and covers(live[k], v) for k, v in ours.items())
    if isinstance(ours, list):
        return isinstance(live, list) and len(live) == len(ours) and all(map(covers, live, ours))
    return bool(live == ours)


def same_task_definition(aws: Aws, arn: str, rendered: dict[str, Any]) -> bool:
    td = aws.client("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
    return matches_rendered(td, arn, rendered)


def matches_rendered(td: dict[str, Any], arn: str, rendered: dict[str, Any]) -> bool:
    """A described task definition has every setting of the rendered one."""
    return covers(
        without_empty(strip_read_only(td, arn), blank_strings=True), without_empty(rendered, blank_strings=True)
    )

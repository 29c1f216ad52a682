"""ARNs as people read them: the resource's own name after the last `/` (a task definition's
family:revision, a task's id). Output only: JSON lines and summaries keep the whole ARN."""

from __future__ import annotations


def short_arn(arn: str | None, missing: str = "-") -> str:
    """`arn:aws:ecs:…:task-definition/web:7` -> `web:7`; `missing` when there is none."""
    return str(arn).rsplit("/", 1)[-1] if arn else missing

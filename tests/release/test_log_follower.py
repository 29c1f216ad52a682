"""The awslogs follower reads a task's stream to its end: GetLogEvents pages may be empty while more
events follow; the end is nextForwardToken coming back as the token sent (GetLogEvents API reference)."""

from __future__ import annotations

from typing import Any

from orchestrator.runtask import LogFollower, LogSource


class _Logs:
    """A stream whose first pages are empty, then lines; the end repeats the token."""

    def __init__(self, pages: list[list[str]]) -> None:
        self.pages = pages
        self.calls = 0

    def get_log_events(self, **kw: Any) -> dict[str, Any]:
        self.calls += 1
        at = int(kw.get("nextToken", "f/0").split("/")[1])
        if at >= len(self.pages):
            return {"events": [], "nextForwardToken": kw["nextToken"]}
        return {"events": [{"message": m} for m in self.pages[at]], "nextForwardToken": f"f/{at + 1}"}


class _Aws:
    def __init__(self, logs: _Logs) -> None:
        self.logs = logs

    def client(self, name: str) -> Any:
        return self.logs


def test_empty_pages_do_not_end_the_stream() -> None:
    logs = _Logs([[], [], ["migrating", "done"], [], ["exit 0"]])
    follower = LogFollower(_Aws(logs), LogSource("group", "stream"))  # type: ignore[arg-type]
    assert follower.fetch() == ["migrating", "done", "exit 0"]
    # The next poll starts where this one ended and sees only what came since.
    logs.pages.append(["late line"])
    assert follower.fetch() == ["late line"]

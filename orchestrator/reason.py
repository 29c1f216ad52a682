"""The one-line failure reason: short (at most REASON_MAX characters), target groups by name, each
clue once, and ending with what to do next. The full text goes to the JSON summary's `details`."""

from __future__ import annotations

import re
from collections.abc import Sequence

REASON_MAX = 300
# arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>: the name is unique per region.
_TG_ARN = re.compile(r"arn:aws[\w-]*:elasticloadbalancing:[\w-]*:\d*:targetgroup/([\w-]+)/[0-9a-fA-F]+")
_SPACES = re.compile(r"\s+")


# `EVENT failed (hook function F): CODE message log: last line` (deployment.failure_clues)
_HOOK_LOG = re.compile(r"^(?P<head>.*?\): \S+) .*? log: (?P<last>.*)$")


def with_names(text: str) -> str:
    """Target-group ARNs replaced by their names; runs of whitespace (newlines too) by one space."""
    return _SPACES.sub(" ", _TG_ARN.sub(r"\1", text)).strip()


def brief(clue: str) -> str:
    """A clue for the one line: names for ARNs; for a hook, its last log line (a smoke test's own
    verdict) instead of CodeDeploy's message (the details keep both)."""
    text = with_names(clue)
    hook = _HOOK_LOG.match(text)
    return f"{hook['head']} {hook['last']}" if hook else text


def _cut(text: str, room: int) -> str:
    if len(text) <= room:
        return text
    return text[: max(room - 1, 0)].rstrip(" ;,:") + "…"


def one_line(head: str, clues: Sequence[str], tail: str = "", limit: int = REASON_MAX) -> str:
    """`head: clue; clue; tail` in at most `limit` characters. Clues come most telling first; each is
    shown once (after target-group ARNs become names), cut to what room is left; `tail` (the outcome
    and what to do next) is always whole."""
    seen: list[str] = []
    for clue in clues:
        text = brief(clue)
        if text and not any(text in s for s in seen):
            seen.append(text)
    tail = with_names(tail)
    room = limit - len(head) - 2 - (len(tail) + 2 if tail else 0)
    shown: list[str] = []
    for text in seen:
        left = room - sum(len(s) + 2 for s in shown)
        if left < 24:  # no room for a readable clue: the details have it
            break
        shown.append(_cut(text, left))
    body = "; ".join([*shown, tail] if tail else shown)
    return f"{head}: {body}" if body else head


def next_step(clues: Sequence[str], follow: str) -> str:
    """What to do next, from what failed; `follow` is a command that shows more (e.g. history).
    ECS service events and stopped tasks are left out: they may be older than this deployment."""
    text = " ".join(c for c in clues if not c.startswith(("ECS:", "stopped task"))).lower()
    if "replaced by another release" in text:
        what = "nothing to fix here: the newer release runs instead"
    elif "stopped by a stopdeployment request" in text:
        what = "nothing to fix if another release replaced it (see which in the history); else release again"
    elif "alarm" in text:
        what = "fix what the alarm watches, release again"
    elif "hook function" in text:
        what = "fix what the hook checks, release again"
    elif re.search(r"\bcontainer \S+ exited \d", text):
        what = "fix what makes the container exit, release again"
    elif "health" in text:
        what = "fix the health check or the app, release again"
    elif re.search(r"\btasks? stopped: ", text):
        what = "fix what keeps the tasks from starting (image, roles, resources), release again"
    else:
        what = "fix the cause, release again"
    return f"{what}; see `{follow}`" if follow else what

"""Suggested commands on lines of their own (issue 19): a reason or hint names the command to run next in
backticks (`orchestrator history --sandbox --service web`); a terminal that wraps such a sentence cuts the
command in two, and copy-paste breaks. For people at a terminal the sentence keeps the command's name,
and the whole command follows on a line of its own.

Plain lines and JSON keep the sentence as it is (one line per event, for logs and `grep`). No rich here:
cli.py uses this for the error line on a terminal.
"""

from __future__ import annotations

import re

# A backticked command line the user can run: `orchestrator ...` or `make ...`.
_COMMAND = re.compile(r"`((?:orchestrator|make) [^`\n]+)`")
INDENT = "  "


def command_name(command: str) -> str:
    """`orchestrator status --watch --sandbox` -> `orchestrator status`: the words before the first option
    or argument that is not a subcommand (at most three words)."""
    words: list[str] = []
    for word in command.split():
        if word.startswith("-") or not re.fullmatch(r"[a-z][a-z0-9-]*", word) or len(words) == 3:
            break
        words.append(word)
    return " ".join(words) or command


def lift_commands(text: str) -> tuple[str, list[str]]:
    """(the sentence with each suggested command shortened to its name, the whole commands in order,
    each once). A text without a backticked command comes back as it is, with no commands."""
    commands: list[str] = []

    def shorten(match: re.Match[str]) -> str:
        command = match.group(1).strip()
        if command not in commands:
            commands.append(command)
        return f"`{command_name(command)}`"

    return _COMMAND.sub(shorten, text), commands


def with_command_lines(text: str, indent: str = INDENT) -> str:
    """The sentence, then each suggested command on a line of its own (indented)."""
    prose, commands = lift_commands(text)
    return "\n".join([prose, *(indent + c for c in commands)])

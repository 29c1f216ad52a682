"""Docs match the tool: every `orchestrator …` command line in README.md, docs/*.md and the modules'
READMEs names a real command and only options that command has (parsed against the real Typer app).

Code blocks are read line by line, inline code spans one by one. Synopsis notation is understood:
`[...]` optional parts, `a|b` alternatives (the first is checked), placeholders such as `FILE`.
Deprecated spellings fail too: the docs use the current vocabulary.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from clitree import options, resolve, takes_value

from orchestrator.commands.common import DEPRECATED

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "modules").glob("*/README.md")])
# Where a command starts inside a shell line: the line's start, or after a shell separator / `$(`.
START = re.compile(r"(?:^|[;&|(]\s*|\$\(\s*|\"\$\(|^\s*\$\s+)orchestrator\s+(?=[a-z-])")
SHELL_END = re.compile(r"\s(?:#|\|\||&&|\||;|>|2>)\s|\)\"?$|`")


def command_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, the text from `orchestrator` on) of each command line in a Markdown file."""
    found: list[tuple[int, str]] = []
    fenced = False
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            for match in START.finditer(line):
                rest = line[match.start() :]
                rest = rest[rest.index("orchestrator") :]
                cut = SHELL_END.search(rest)
                found.append((number, (rest[: cut.start()] if cut else rest).rstrip(" \\")))
        else:
            for span in re.findall(r"`([^`]+)`", line):
                if span.startswith("orchestrator ") and re.match(r"orchestrator [a-z-]", span):
                    cut = SHELL_END.search(span)
                    found.append((number, span[: cut.start()] if cut else span))
    return found


def _words(text: str) -> list[str]:
    text = re.sub(r"\$\([^()]*\)?", "SUBSTITUTED", text)  # `$(git rev-parse HEAD)` is a value
    text = text.replace("\\|", "|").replace("…", " ").replace("...", " ")
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    out: list[str] = []
    for word in words:
        word = word.strip("[]{}()")
        if not word or word == "|":
            continue
        # `--wait-until complete|traffic-shifted`, `--image URI|--build`: check the first alternative.
        out.append(word.split("|", 1)[0])
    return out


def problems(line: str) -> list[str]:
    """What is wrong with one command line (empty when it parses)."""
    words = _words(line)[1:]  # drop "orchestrator"
    path, cmd, rest = resolve(words)
    if not path and words and not words[0].startswith("-"):
        return [f"unknown command {words[0]!r}"]
    if hasattr(cmd, "commands") and rest and not rest[0].startswith("-"):
        return [f"unknown command {' '.join((*path, rest[0]))!r}"]
    opts = options(cmd)
    deprecated = DEPRECATED.get(" ".join(path), {})
    found: list[str] = []
    skip = False
    for word in rest:
        if skip:
            skip = False
            continue
        if word == "--":  # the rest is the command's arguments (`orchestrator run -- COMMAND...`)
            break
        if not word.startswith("-") or word == "-":
            continue  # a placeholder, an argument or a value
        name = word.split("=", 1)[0]
        if name in deprecated:
            found.append(f"{name} is deprecated in `{' '.join(path)}`: use {' '.join(deprecated[name])}")
        elif name not in opts:
            found.append(f"`{' '.join(path)}` has no option {name}")
        elif takes_value(opts[name]) and "=" not in word:
            skip = True
    return found


CASES = [(path, number, line) for path in DOCS for number, line in command_lines(path)]


def test_the_docs_have_command_lines_to_check() -> None:
    assert len(CASES) > 40
    files = {path.name for path, _, _ in CASES}
    assert {"README.md", "release.md", "operations.md", "sandbox.md"} <= files


@pytest.mark.parametrize(("path", "number", "line"), CASES, ids=[f"{p.relative_to(ROOT)}:{n}" for p, n, _ in CASES])
def test_every_documented_command_line_parses(path: Path, number: int, line: str) -> None:
    assert problems(line) == [], f"{path.relative_to(ROOT)}:{number}: {line}"


@pytest.mark.parametrize(
    "line",
    [
        "orchestrator continue --sandbox",
        "orchestrator release --no-such-option",
        "orchestrator render -o taskdef-new.json",
        "orchestrator sandbox stauts",
        "orchestrator status --json",
    ],
)
def test_the_checker_catches_what_the_tool_would_refuse(line: str) -> None:
    assert problems(line) != []


def test_the_checker_accepts_synopsis_notation() -> None:
    assert problems("orchestrator release --image URI [--wait-until complete|traffic-shifted] [--no-wait]") == []
    assert problems("orchestrator deploy taskdef-new.json --outputs-file outputs.json -o json") == []


def test_command_lines_are_found_in_code_blocks_and_inline_code(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "Run `orchestrator status --watch` or `make demo`; the `orchestrator` CLI.\n\n"
        "```sh\n"
        'eval "$(orchestrator sandbox env)"\n'
        "orchestrator release --image repo/web:1 --no-wait   # comment\n"
        "make release ENV=prod\n"
        "```\n"
    )
    assert command_lines(doc) == [
        (1, "orchestrator status --watch"),
        (4, "orchestrator sandbox env"),
        (5, "orchestrator release --image repo/web:1 --no-wait"),
    ]


# Pages for contributors: the tests, the layout and the Python interfaces live there. sandbox-control.md
# is the sandbox's fidelity reference: each behaviour cites its AWS source and the tests that show it.
CONTRIBUTOR_PAGES = {"contributing.md", "architecture.md", "sandbox-control.md"}
USER_DOCS = [p for p in DOCS if p.name not in CONTRIBUTOR_PAGES and "modules" not in p.parts]
# Test files, the orchestrator's Python interfaces (a boto3 snippet for the sandbox is not one).
_INTERNALS = re.compile(
    r"\btests/|\btest_\w+\.py\b|\b(?:from|import) orchestrator\b|\borchestrator\.[a-z_]+\.[A-Za-z_]+\("
    r"|\borchestrator/\w+\.py\b"
)


@pytest.mark.parametrize("path", USER_DOCS, ids=[p.name for p in USER_DOCS])
def test_user_docs_name_no_test_files_or_python_interfaces(path: Path) -> None:
    found = [
        f"{number}: {line.strip()}"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if _INTERNALS.search(line)
    ]
    assert found == [], f"{path.relative_to(ROOT)} (move these to docs/contributing.md):\n" + "\n".join(found)

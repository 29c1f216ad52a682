"""The one way a user's file is read: task definitions, AppSpecs, outputs files, settings.

Every failure is an InputError of one line naming the file (shortened when its name is long) — never a
traceback and never a hang:
- the path's length is checked first (Linux: PATH_MAX 4096 bytes, NAME_MAX 255 bytes per name);
- only a regular file is read: it is opened non-blocking and checked with fstat before the first read,
  so a FIFO, a socket or a device (which could block forever or never end) is refused at once;
- at most MAX_BYTES are read (a task definition is at most 64 KiB; an outputs file of many services a
  few hundred KiB);
- a JSON or YAML document is refused when nested deeper than MAX_DEPTH (a task definition is about 6
  levels deep; parsers and the checks that walk a document recurse, and 100,000 levels would overflow)
  or when it holds more than MAX_VALUES values (YAML aliases can expand a small file enormously).
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any

from orchestrator.errors import InputError

MAX_PATH_BYTES = 4095  # PATH_MAX (4096) counts the terminating NUL
MAX_NAME_BYTES = 255  # NAME_MAX
MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
# YAML aliases can make a small file a huge document (each `*ref` repeats its anchor's value).
MAX_VALUES = 200_000

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def shown(path: Path | str, limit: int = 160) -> str:
    """The path as messages show it: whole when short, else its start and end around an ellipsis."""
    text = str(path)
    if len(text) <= limit:
        return text
    return f"{text[: limit // 2]}…{text[-(limit // 2 - 1) :]} ({len(text)} characters)"


def _article(what: str) -> str:
    return ("an " if what[:1].lower() in "aeiou" else "a ") + what


def check_path(path: Path, what: str) -> None:
    """Refuse a path the kernel would refuse as too long (ENAMETOOLONG), before any system call."""
    raw = os.fsencode(path)
    longest = max((len(part) for part in raw.split(b"/")), default=0)
    if len(raw) > MAX_PATH_BYTES or longest > MAX_NAME_BYTES:
        raise InputError(
            f"{shown(path)}: path too long for {_article(what)}",
            hint=f"at most {MAX_PATH_BYTES} bytes, {MAX_NAME_BYTES} per name",
        )


def _open_error(path: Path, what: str, exc: OSError) -> InputError:
    name = shown(path)
    if exc.errno == errno.ENOENT:
        return InputError(f"{name}: no such {what}")
    if exc.errno == errno.EISDIR:
        return InputError(f"{name}: is a directory, not {_article(what)}")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return InputError(f"{name}: cannot read the {what} (permission denied)")
    if exc.errno == errno.ENAMETOOLONG:
        return InputError(f"{name}: path too long for {_article(what)}")
    return InputError(f"{name}: cannot read the {what}: {exc.strerror or exc}")


def read_bytes(path: Path, what: str) -> bytes:
    """The bytes of a regular file of at most MAX_BYTES, or one InputError line."""
    check_path(path, what)
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise _open_error(path, what, exc) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((text for test, text in _KINDS if test(mode)), "not a regular file")
            raise InputError(f"{shown(path)}: is {kind}, not {_article(what)}", hint="name a regular file")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise _open_error(path, what, exc) from None
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise InputError(f"{shown(path)}: larger than {MAX_BYTES // (1024 * 1024)} MiB; not {_article(what)}")
    return data


def read_text(path: Path, what: str, expected: str = "") -> str:
    """The UTF-8 text of a regular file; `expected` says what the file should hold when it is binary."""
    data = read_bytes(path, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        hint = f"; expected {expected}" if expected else ""
        raise InputError(f"{shown(path)}: not a text file (not UTF-8){hint}") from None


def too_deep(source: str) -> InputError:
    return InputError(f"{source}: nested more than {MAX_DEPTH} levels deep", hint="no valid file nests that deep")


def check_depth(doc: Any, source: str) -> None:
    """Refuse a document nested deeper than MAX_DEPTH or holding more than MAX_VALUES values (walked
    without recursion; a self-referencing YAML document ends at the depth limit)."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    count = 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise InputError(f"{source}: more than {MAX_VALUES:,} values", hint="no valid file holds that many")
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > MAX_DEPTH:
            raise too_deep(source)
        stack.extend((child, depth + 1) for child in children)


def parse_json(text: str, source: str) -> Any:
    """A JSON document from text; syntax errors name the line and column."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise too_deep(source) from None
    check_depth(doc, source)
    return doc


def load_json(path: Path, what: str, expected: str = "") -> Any:
    """Read and parse a JSON file: one InputError line for whatever is wrong with it."""
    return parse_json(read_text(path, what, expected), shown(path))

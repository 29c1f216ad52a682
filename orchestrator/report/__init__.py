"""One reporter interface, several renderers: rich live console, plain lines, JSON lines."""

from __future__ import annotations

import os
import sys
from typing import Protocol, TextIO

from orchestrator.events import Event

OUTPUT_CHOICES = ("auto", "rich", "plain", "json")


class Reporter(Protocol):
    def emit(self, event: Event) -> None: ...

    def close(self) -> None: ...


class MultiReporter:
    """Fan one event stream out to several reporters (console plus a GitHub job summary, say)."""

    def __init__(self, *reporters: Reporter) -> None:
        self.reporters = reporters

    def emit(self, event: Event) -> None:
        for r in self.reporters:
            r.emit(event)

    def close(self) -> None:
        for r in self.reporters:
            r.close()


def make_reporter(output: str = "auto", stream: TextIO | None = None) -> Reporter:
    stream = stream or sys.stdout
    base = _base_reporter(output, stream)
    # Under GitHub Actions: step outputs, job summary, annotations and log groups as well. It goes
    # first so that a step's `::group::` opens before the step's first console line.
    from orchestrator.report.github import github_reporter_for

    github = github_reporter_for(output, stream)
    return MultiReporter(github, base) if github is not None else base


def _base_reporter(output: str, stream: TextIO) -> Reporter:
    if output not in OUTPUT_CHOICES:
        from orchestrator.errors import InputError

        raise InputError(f"--output {output!r} is not one of {', '.join(OUTPUT_CHOICES)}")
    if output == "json":
        from orchestrator.report.jsonl import JsonLinesReporter

        return JsonLinesReporter(stream)
    if output == "rich" or (output == "auto" and stream.isatty() and os.environ.get("TERM") != "dumb"):
        try:
            from orchestrator.report.console import ConsoleReporter
        except ImportError:  # the live console is optional; plain lines always work
            pass
        else:
            return ConsoleReporter(stream)
    from orchestrator.report.plain import PlainReporter

    return PlainReporter(stream)

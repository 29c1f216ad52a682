"""One reporter interface, several renderers: rich live console, plain lines, JSON lines."""

from __future__ import annotations

import os
import sys
from typing import TextIO, cast

from orchestrator.events import Event, Reporter

__all__ = ["OUTPUT_CHOICES", "MultiReporter", "Reporter", "make_cli_reporter", "make_reporter"]

OUTPUT_CHOICES = ("auto", "rich", "plain", "json")


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


class GuardedStream:
    """stdout that may go away (`orchestrator release ... | head -1`): after a broken pipe, writes are
    dropped and `broken` is set, so that a reporter can carry on on stderr instead of dying mid-release."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.broken = False

    def _lost(self) -> None:
        self.broken = True
        # The interpreter flushes stdout at exit: point the descriptor at /dev/null so that this flush
        # (of what is still buffered) does not fail with a second, noisy BrokenPipeError.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return self.stream.write(text)
            except BrokenPipeError:
                self._lost()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._lost()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def __getattr__(self, name: str) -> object:
        return getattr(self.stream, name)


class PipeSafeReporter:
    """Once stdout is gone, the outcome (warnings, errors, the deployment's end, the summary) goes to
    stderr as plain lines; the release itself goes on and exits with the deployment's result. With
    several services, each line starts with its service's key."""

    def __init__(self, inner: Reporter, stream: GuardedStream, fallback: TextIO | None = None) -> None:
        self.inner, self.stream = inner, stream
        self.fallback = fallback or sys.stderr
        self.switched = False
        self._told: dict[str | None, str] = {}  # as PlainReporter: a state line does not repeat the reason

    def emit(self, event: Event) -> None:
        from orchestrator.events import DeploymentCreated, DeploymentFinished, Message, ServiceState, Summary
        from orchestrator.report.services import UNTOLD_ENDS, prefixed, summary_line

        if not self.switched:
            self.inner.emit(event)
            if not self.stream.broken:
                return
            self.switched = True
            self._write("warning: stdout was closed; carrying on, warnings and the outcome go to stderr")
        # With several services each line says whose it is (`[web] ...`), and the summary lists them all.
        if isinstance(event, DeploymentFinished) and not event.failed_command:
            self._told[event.service_key] = event.reason
        elif isinstance(event, ServiceState) and event.detail and event.detail == self._told.get(event.service_key):
            from dataclasses import replace

            event = replace(event, detail="")
        if isinstance(event, Summary):
            self._write(summary_line(event))
        elif (
            isinstance(event, DeploymentCreated | DeploymentFinished)
            or (isinstance(event, Message) and event.level != "info")
            # A service's end that no deployment line tells: a failed registration, a skip, a rollback.
            or (isinstance(event, ServiceState) and event.state in UNTOLD_ENDS)
        ):
            self._write(prefixed(event))

    def _write(self, line: str) -> None:
        try:
            self.fallback.write(line + "\n")
            self.fallback.flush()
        except OSError:  # stderr gone as well: the exit code is all that is left
            pass

    def close(self) -> None:
        self.inner.close()


def make_reporter(output: str = "auto", stream: TextIO | None = None) -> Reporter:
    stream = stream or sys.stdout
    base = _base_reporter(output, stream)
    # Under GitHub Actions: step outputs, job summary, annotations and log groups as well. It goes
    # first so that a step's `::group::` opens before the step's first console line.
    from orchestrator.report.github import github_reporter_for

    github = github_reporter_for(output, stream)
    return MultiReporter(github, base) if github is not None else base


def make_cli_reporter(output: str = "auto") -> Reporter:
    """The commands' reporter on stdout, surviving a closed stdout (see PipeSafeReporter)."""
    guarded = GuardedStream(sys.stdout)
    # Duck-typed: write, flush and isatty guarded; the rest is delegated.
    return PipeSafeReporter(make_reporter(output, cast(TextIO, guarded)), guarded)


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

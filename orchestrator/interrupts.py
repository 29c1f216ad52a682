"""Ctrl-C and SIGTERM (a cancelled CI job): how commands turn them into a clean end.

`sigterm_as_interrupt` makes SIGTERM behave like Ctrl-C; `deferred_interrupts` lets a write in flight
finish before the interrupt is raised (so AWS and the report agree); `InterruptShield` holds signals
across a request that must reach AWS exactly once (stopping a cancelled deployment).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a cancelled CI job) behaves like Ctrl-C."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class InterruptShield:
    """Hold Ctrl-C and SIGTERM from `up()` until `down()`: a request that must reach AWS exactly once
    (stopping a cancelled deployment) and the reads it needs first cannot be cut short by a second
    Ctrl-C. `down()` restores the handlers and raises KeyboardInterrupt if a signal was held."""

    active: InterruptShield | None = None  # the shield that is up; deferred_interrupts() defers to it

    def __init__(self) -> None:
        self.pending: list[int] = []
        self._previous: tuple[Any, Any] | None = None

    def _hold(self, signum: int, frame: Any) -> None:
        self.pending.append(signum)

    def up(self) -> InterruptShield:
        try:
            self._previous = (signal.signal(signal.SIGINT, self._hold), signal.signal(signal.SIGTERM, self._hold))
        except ValueError:  # not the main thread: leave signals alone
            return self
        InterruptShield.active = self
        return self

    def down(self, *, raise_pending: bool = True) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous[0])
            signal.signal(signal.SIGTERM, self._previous[1])
            self._previous = None
            InterruptShield.active = None
        if raise_pending and self.pending:
            self.pending.clear()
            raise KeyboardInterrupt


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Let a write in flight finish: an interrupt arriving meanwhile is raised after the block."""
    if InterruptShield.active is not None:  # already held, until the shield comes down
        yield
        return
    pending: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        pending.append(signum)

    try:
        prev_int = signal.signal(signal.SIGINT, handler)
        prev_term = signal.signal(signal.SIGTERM, handler)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, prev_int)
        signal.signal(signal.SIGTERM, prev_term)
    if pending:
        raise KeyboardInterrupt

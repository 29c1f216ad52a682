"""The sandbox's clock and lock: the time scale every simulated duration is multiplied by, and the one
lock under which moto's state, the engine's runs and the simulated tasks change.

A module of its own so that the engine, the tasks and the moto extensions share them without importing
each other (the engine starts service tasks; the tasks need the time scale and the lock).
"""

from __future__ import annotations

import os
import threading

# All moto state is touched under LOCK, which the WSGI middleware also holds around every request, so
# clients never observe a half-applied step.
LOCK = threading.RLock()

DEFAULT_TIME_SCALE = 0.05
TIME_SCALE_ENV = "ORCHESTRATOR_SANDBOX_TIME_SCALE"


def default_time_scale() -> float:
    raw = os.environ.get(TIME_SCALE_ENV)
    if raw:
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if value > 0:
            return value
    return DEFAULT_TIME_SCALE


class Clock:
    """Wall-clock seconds per simulated AWS second (one per process: moto's state is process-global)."""

    def __init__(self) -> None:
        self.time_scale = default_time_scale()


CLOCK = Clock()

"""JSON lines for CI: one object per event, the last one the summary."""

from __future__ import annotations

import json
from typing import TextIO

from orchestrator.events import Event


class JsonLinesReporter:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def emit(self, event: Event) -> None:
        self.stream.write(json.dumps(event.to_dict(), default=str, separators=(",", ":")) + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()

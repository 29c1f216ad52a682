"""Run the orchestrator CLI with every AWS API call it makes logged, in order: the bench's request log.

    python bench/calltrace.py LOG.jsonl release --sandbox --no-wait ...

Each call botocore makes (one line per operation, before it is sent; retries are not repeated) is
appended to LOG.jsonl as {"at": epoch seconds, "service": "ecs", "action": "RegisterTaskDefinition"}.
The sandbox's request accounting counts calls but not their order; calls before the first write need it.
Only the bench uses this: the CLI itself is unchanged (botocore is imported first here, which the
CLI's own start-up avoids, so wall times of a traced run are not the figures the bench reports).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any


def install(log_path: str) -> None:
    import botocore.client

    lock = threading.Lock()  # a multi-service release calls AWS from worker threads
    client_class: Any = botocore.client.BaseClient
    original = client_class._make_api_call

    def traced(self: Any, operation_name: str, api_params: Any) -> Any:
        line = {"at": time.time(), "service": self.meta.service_model.service_name, "action": operation_name}
        with lock, open(log_path, "a", encoding="utf-8") as log:
            log.write(json.dumps(line) + "\n")
        return original(self, operation_name, api_params)

    client_class._make_api_call = traced


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: calltrace.py LOG.jsonl ORCHESTRATOR-ARGS...")
    install(sys.argv[1])
    from orchestrator.cli import run

    sys.exit(run(sys.argv[2:]))


if __name__ == "__main__":
    main()

"""boto3 clients for the sandbox, cached: building one costs tens of milliseconds and an endpoint
lives as long as the session."""

from __future__ import annotations

import threading
from typing import Any

REGION = "eu-west-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

_CLIENTS: dict[tuple[str, str, int], Any] = {}
_LOCK = threading.Lock()


def client(endpoint: str, service: str, *, attempts: int = 1) -> Any:
    """A client of `service` at `endpoint`. One attempt by default, so that injected faults surface;
    the fixtures' clients retry (attempts=3) as a user's would."""
    with _LOCK:
        key = (endpoint, service, attempts)
        if key not in _CLIENTS:
            import boto3
            from botocore.config import Config

            _CLIENTS[key] = boto3.session.Session(
                region_name=REGION,
                aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            ).client(
                service, endpoint_url=endpoint, config=Config(retries={"mode": "standard", "max_attempts": attempts})
            )
        return _CLIENTS[key]

"""The one place that makes boto3 clients: region, endpoint, retries, user agent.

boto3 is imported lazily so that `orchestrator --help` stays fast.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from orchestrator import __version__
from orchestrator.errors import AwsRefused

# Dummy credentials for the embedded sandbox; moto accepts anything.
SANDBOX_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

_REFUSED_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
}


_CLIENTS_LOCK = threading.Lock()


@dataclass
class Aws:
    """Lazily created, cached boto3 clients for one region and (optionally) one endpoint."""

    region: str
    endpoint_url: str | None = None
    sandbox: bool = False
    max_attempts: int = 8
    # The endpoint's clock against AWS's (orchestrator.target decides it): 1.0 on AWS, the sandbox's
    # time scale, None for another endpoint whose clock is unknown (no predicted wait ends then).
    time_scale: float | None = 1.0
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    # Per-command memo of reads that cannot change (e.g. revisions.appspec_content by sha256).
    cache: dict[str, Any] = field(default_factory=dict, repr=False)
    _session: Any = field(default=None, repr=False)

    def session(self) -> Any:
        if self._session is None:
            import boto3

            kwargs: dict[str, Any] = {"region_name": self.region}
            if self.sandbox:
                import botocore.session

                # The sandbox must not depend on the user's AWS config: a stale AWS_PROFILE would
                # otherwise fail with ProfileNotFound before the first call.
                core = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
                kwargs.update(SANDBOX_CREDENTIALS, botocore_session=core)
            self._session = boto3.session.Session(**kwargs)
        return self._session

    def client(self, service: str, retries: bool = True) -> Any:
        """The service's client; retries=False: one attempt per call (for non-idempotent writes that
        orchestrator.writes retries only after checking what the failed attempt did)."""
        key = service if retries else f"{service}/once"
        if key in self._clients:
            return self._clients[key]
        # A multi-service release reads and writes from worker threads; boto3 sessions are not
        # thread-safe (clients are), so clients are made one at a time.
        with _CLIENTS_LOCK:
            if key in self._clients:
                return self._clients[key]
            from botocore.config import Config

            # AWS_MAX_ATTEMPTS, the SDKs' own setting, wins over our default when the user sets it.
            attempts = os.environ.get("AWS_MAX_ATTEMPTS", "").strip()
            config = Config(
                # total_max_attempts counts the first try (max_attempts counts retries only).
                retries={
                    "mode": "standard",
                    "max_attempts": int(attempts) if attempts.isdigit() else self.max_attempts,
                }
                if retries
                else {"mode": "standard", "total_max_attempts": 1},
                user_agent_extra=f"orchestrator/{__version__}",
                connect_timeout=10,
                read_timeout=60,
            )
            endpoint = self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
            self._clients[key] = self.session().client(service, endpoint_url=endpoint, config=config)
        return self._clients[key]


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Message", "")) or str(exc)


def as_refusal(exc: BaseException) -> AwsRefused | None:
    """Turn a botocore error meaning "AWS said no" (credentials, permissions, throttling) into exit 4."""
    name = type(exc).__name__
    if name in {"NoCredentialsError", "PartialCredentialsError", "NoRegionError", "ProfileNotFound"}:
        return AwsRefused(f"AWS credentials: {exc}", hint="configure credentials or run `orchestrator sandbox env`")
    # Connection refused, endpoint gone mid-call, no answer in time (after the retries).
    if name in {"EndpointConnectionError", "ConnectionClosedError", "ConnectTimeoutError", "ReadTimeoutError"}:
        return AwsRefused(f"cannot reach AWS: {exc}", hint="is the sandbox running? `orchestrator sandbox status`")
    code = error_code(exc)
    if code in _REFUSED_CODES:
        return AwsRefused(f"AWS refused ({code}): {error_message(exc)}")
    return None


@contextmanager
def refusals() -> Iterator[None]:
    """Re-raise AWS refusals as AwsRefused; leave every other error alone."""
    try:
        yield
    except Exception as exc:
        refused = as_refusal(exc)
        if refused is None:
            raise
        raise refused from exc

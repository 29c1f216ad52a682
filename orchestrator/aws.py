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
from orchestrator.errors import AwsRefused, InputError

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
            with _config_errors():
                self._session = self._new_session()
        return self._session

    def _new_session(self) -> Any:
        import boto3

        kwargs: dict[str, Any] = {"region_name": self.region}
        if self.sandbox:
            import botocore.session

            # The sandbox must not depend on the user's AWS config: a stale AWS_PROFILE would
            # otherwise fail with ProfileNotFound before the first call.
            core = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
            kwargs.update(SANDBOX_CREDENTIALS, botocore_session=core)
        return boto3.session.Session(**kwargs)

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
            if endpoint is not None:
                check_endpoint(endpoint, "the endpoint" if self.endpoint_url else "AWS_ENDPOINT_URL")
            session = self.session()
            with _config_errors():
                self._clients[key] = session.client(service, endpoint_url=endpoint, config=config)
        return self._clients[key]


def check_endpoint(endpoint: str, where: str = "AWS_ENDPOINT_URL") -> None:
    """An endpoint botocore would refuse with a traceback (ValueError: Invalid endpoint): one line."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # a port that is not a number, an unbalanced [ipv6
        valid = False
    if not valid or any(c.isspace() for c in endpoint):
        shown = endpoint if len(endpoint) <= 80 else endpoint[:77] + "..."
        raise InputError(
            f"{where} {shown!r} is not an endpoint URL", hint="like https://ecs.eu-west-1.amazonaws.com, or unset it"
        )


@contextmanager
def _config_errors() -> Iterator[None]:
    """The user's AWS configuration is unusable (a config or credentials file that does not parse, an
    endpoint or setting botocore refuses): one line, exit 2, before any call."""
    import botocore.exceptions

    try:
        yield
    except botocore.exceptions.ConfigParseError as exc:
        path = getattr(exc, "kwargs", {}).get("path") or "(AWS_CONFIG_FILE or AWS_SHARED_CREDENTIALS_FILE)"
        raise InputError(
            f"AWS configuration file {path}: does not parse as an INI file",
            hint="fix it, or point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE elsewhere",
        ) from None
    except ValueError as exc:  # botocore's own "Invalid endpoint: ...", and settings it cannot use
        raise InputError(f"AWS configuration: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


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

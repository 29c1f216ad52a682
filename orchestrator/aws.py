"""The one place that makes boto3 clients: region, endpoint, retries, user agent.

boto3 is imported lazily so that `orchestrator --help` stays fast.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from orchestrator import __version__
from orchestrator.errors import AwsRefused, InputError

# Dummy credentials for the embedded sandbox; moto accepts anything.
SANDBOX_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

# AWS's answers, sorted once (classify): the throttling codes the SDKs retry, the credential and
# permission codes that no retry mends, and the server-side codes after which a call may or may not
# have been processed.
THROTTLED_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"})
_REFUSED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
    }
)
# The session credentials expired (AWS's common errors; STS and other query APIs say ExpiredToken).
EXPIRED_CODES = frozenset({"ExpiredToken", "ExpiredTokenException"})
_SERVER_CODES = frozenset(
    {
        "InternalFailure",
        "InternalError",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ServerException",
    }
)
_NO_CREDENTIALS = frozenset({"NoCredentialsError", "PartialCredentialsError", "NoRegionError", "ProfileNotFound"})
# Connection refused, endpoint gone mid-call, no answer in time: the call's fate is unknown.
_LOST = frozenset({"EndpointConnectionError", "ConnectionClosedError", "ConnectTimeoutError", "ReadTimeoutError"})


class ErrorKind(StrEnum):
    """What an error from an AWS call means for the caller."""

    REFUSED = "refused"  # credentials, permissions: exit 4, no retry helps
    THROTTLED = "throttled"  # slow down; past the retries it is a refusal too
    RETRYABLE = "retryable"  # the server failed (HTTP 5xx): the call may or may not have been processed
    LOST = "lost"  # no answer (connection refused or dropped, timed out): the call's fate is unknown
    OTHER = "other"  # AWS's own answer to this request (a validation error, a conflict, ...)


def classify(exc: BaseException) -> ErrorKind:
    """The one reading of an AWS error (botocore exceptions, ClientError codes and HTTP status)."""
    name = type(exc).__name__
    if name in _NO_CREDENTIALS:
        return ErrorKind.REFUSED
    if name in _LOST:
        return ErrorKind.LOST
    code = error_code(exc)
    if code in THROTTLED_CODES:
        return ErrorKind.THROTTLED
    if code in _REFUSED_CODES:
        return ErrorKind.REFUSED
    response = getattr(exc, "response", None) or {}
    status = int((response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
    if code in _SERVER_CODES or status >= 500:
        return ErrorKind.RETRYABLE
    return ErrorKind.OTHER


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
    """Turn a botocore error meaning "AWS said no" (credentials, permissions, throttling) or "AWS is
    out of reach" into exit 4."""
    kind = classify(exc)
    if type(exc).__name__ in _NO_CREDENTIALS:
        return AwsRefused(f"AWS credentials: {exc}", hint="configure credentials or run `orchestrator sandbox env`")
    if kind is ErrorKind.LOST:
        return AwsRefused(f"cannot reach AWS: {exc}", hint="is the sandbox running? `orchestrator sandbox status`")
    if kind in (ErrorKind.REFUSED, ErrorKind.THROTTLED):
        return AwsRefused(f"AWS refused ({error_code(exc)}): {error_message(exc)}")
    return None


def throttled(exc: BaseException) -> bool:
    return classify(exc) is ErrorKind.THROTTLED


def retryable(exc: BaseException) -> bool:
    """A failure after which the call may or may not have been processed, and a retry may succeed."""
    return classify(exc) in (ErrorKind.LOST, ErrorKind.THROTTLED, ErrorKind.RETRYABLE)


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

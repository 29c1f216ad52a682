"""Whether the AWS credentials a release runs with last as long as its watch.

A CI job's session credentials expire (configure-aws-credentials' default session is one hour); a
release that loses them mid-watch cannot follow, stop or roll back its deployment. The deploy workflow
passes the session's expiry as `AWS_CREDENTIAL_EXPIRATION` (ISO 8601, the variable botocore's
environment provider reads with the keys). Credential sources that renew themselves (SSO, assume-role
profiles, instance and container roles) are renewed by botocore and not warned about.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from orchestrator.clock import clock_text, utc_iso

EXPIRATION_ENV = "AWS_CREDENTIAL_EXPIRATION"


def credentials_expiry(environ: dict[str, str] | None = None) -> datetime | None:
    """When the credentials expire, from AWS_CREDENTIAL_EXPIRATION (None: unknown, or not a time)."""
    raw = (os.environ if environ is None else environ).get(EXPIRATION_ENV, "").strip()
    if not raw:
        return None
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def expiry_warning(expires: datetime | None, budget_s: float, now: datetime | None = None) -> str | None:
    """One line when the credentials expire before the watch budget ends, naming what to do instead."""
    if expires is None:
        return None
    left = (expires - (now or datetime.now(UTC))).total_seconds()
    if left >= budget_s:
        return None
    when = f"expired at {utc_iso(expires)}" if left <= 0 else f"expire at {utc_iso(expires)} (in {clock_text(left)})"
    return (
        f"the AWS credentials {when}, before this release's watch budget ({clock_text(budget_s)}) ends: "
        "release with `--wait-until traffic-shifted` or `--no-wait`, or with credentials that last longer"
    )

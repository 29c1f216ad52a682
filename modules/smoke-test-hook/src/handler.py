"""Smoke test of the replacement (green) tasks through the test listener, as a CodeDeploy ECS hook.

CodeDeploy invokes this at AfterAllowTestTraffic with {"DeploymentId", "LifecycleEventHookExecutionId"}
and waits (at most an hour) for PutLifecycleEventHookExecutionStatus: Succeeded lets production
traffic shift, Failed fails the deployment (user guide, "AppSpec 'hooks' section for an Amazon ECS
deployment"). Standard library plus the boto3 the Lambda Python runtime ships.

Settings (environment variables, from the Terraform module's variables):
  TEST_LISTENER_URL   base URL of the test listener, e.g. http://demo-web-123.eu-west-1.elb.amazonaws.com:8080
  SMOKE_PATHS         comma-separated paths, each requested with GET, e.g. /health,/
  EXPECTED_STATUS     the HTTP status every path must answer (default 200)
  RETRIES             further attempts per path after a failed one (default 3)
  RETRY_DELAY_S       seconds between attempts (default 5)
  TIME_LIMIT_S        seconds for the whole test, all paths and retries (default 60)
  REQUEST_TIMEOUT_S   seconds per request (default 5)

The verdict is the last line written to stderr (CloudWatch Logs on AWS; the sandbox's hook log).

It always reports: any failure inside the test (a bad setting, an exception nobody foresaw) is reported
as Failed, and everything fits in the function's own timeout (TIME_LIMIT_S plus 30 s in the Terraform
module): the test ends REPORT_RESERVE_S before the invocation would, and the report's client gives up
within that reserve (connect and read timeouts, a bounded number of attempts) instead of boto3's
defaults (60 s reads, retried), which could outlast the function and leave CodeDeploy waiting an hour.
"""

from __future__ import annotations

import http.client
import os
import sys
import time
import traceback
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Settings:
    url: str
    paths: tuple[str, ...]
    expected_status: int
    retries: int
    retry_delay_s: float
    time_limit_s: float
    request_timeout_s: float


def settings(env: Any = None) -> Settings:
    env = os.environ if env is None else env
    url = str(env.get("TEST_LISTENER_URL", "")).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"TEST_LISTENER_URL must be an http(s) URL, got {url!r}")
    paths = tuple(p.strip() for p in str(env.get("SMOKE_PATHS", "/")).split(",") if p.strip())
    return Settings(
        url=url,
        paths=paths or ("/",),
        expected_status=int(env.get("EXPECTED_STATUS", 200)),
        retries=int(env.get("RETRIES", 3)),
        retry_delay_s=float(env.get("RETRY_DELAY_S", 5)),
        time_limit_s=float(env.get("TIME_LIMIT_S", 60)),
        request_timeout_s=float(env.get("REQUEST_TIMEOUT_S", 5)),
    )


def _status(url: str, timeout: float) -> tuple[int | None, str]:
    """(HTTP status, "") or (None, why there was none)."""
    request = urllib.request.Request(url, method="GET", headers={"User-Agent": "smoke-test-hook"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - URL is the test listener
            return int(response.status), ""
    except urllib.error.HTTPError as exc:  # 4xx/5xx still answer a status
        return int(exc.code), ""
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:  # a broken answer is none
        return None, str(getattr(exc, "reason", exc)) or type(exc).__name__


def run(
    config: Settings, clock: Any = time.monotonic, sleep: Any = time.sleep, budget_s: float | None = None
) -> tuple[bool, str]:
    """Request each path until it answers the expected status; (passed, one-line verdict). budget_s:
    the seconds the invocation leaves for the test (its time limit is cut to that)."""
    limit = config.time_limit_s if budget_s is None else min(config.time_limit_s, budget_s)
    deadline = clock() + limit
    for path in config.paths:
        got = ""
        for attempt in range(config.retries + 1):
            remaining = deadline - clock()
            if remaining <= 0:
                return False, f"smoke test failed: time limit {limit:g}s reached at GET {path} ({got})"
            status, problem = _status(config.url + path, min(config.request_timeout_s, remaining))
            if status == config.expected_status:
                break
            got = f"got {status}" if status is not None else f"no answer: {problem}"
            print(f"GET {path} attempt {attempt + 1}: {got}", file=sys.stderr, flush=True)
            if attempt < config.retries:
                sleep(max(0.0, min(config.retry_delay_s, deadline - clock())))
        else:
            tries = config.retries + 1
            return False, (
                f"smoke test failed: GET {path} {got}, expected {config.expected_status} "
                f"({tries} attempt{'s' if tries > 1 else ''})"
            )
    return True, f"smoke test passed: {', '.join(config.paths)} answered {config.expected_status}"


# Seconds kept for the report at the end of the invocation; the module gives the function 30 s more
# than TIME_LIMIT_S. One attempt takes at most CONNECT_TIMEOUT_S + READ_TIMEOUT_S, plus the standard
# retry mode's backoff (at most 2**attempt seconds) before the next.
REPORT_RESERVE_S = 25.0
CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 5.0


def report_attempts(seconds: float) -> int:
    """How many report attempts fit in `seconds` (at least one: a report that may be late beats none)."""
    attempts, spent = 0, 0.0
    while attempts < 3:
        cost = CONNECT_TIMEOUT_S + READ_TIMEOUT_S + (2.0**attempts if attempts else 0.0)
        if spent + cost > seconds:
            break
        attempts, spent = attempts + 1, spent + cost
    return max(attempts, 1)


def remaining_s(context: Any) -> float | None:
    """Seconds left in this invocation (Lambda's context), None outside Lambda."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return remaining() / 1000.0 if callable(remaining) else None


def verdict_of(context: Any) -> tuple[bool, str]:
    """The test's verdict; any failure inside it is a Failed verdict naming the failure."""
    try:
        left = remaining_s(context)
        return run(settings(), budget_s=None if left is None else max(0.0, left - REPORT_RESERVE_S))
    except ValueError as exc:  # a bad setting fails the hook rather than leaving CodeDeploy waiting
        return False, f"smoke test misconfigured: {exc}"
    except Exception as exc:  # whatever it is, CodeDeploy must hear Failed, not silence
        traceback.print_exc(file=sys.stderr)
        return False, f"smoke test failed: {type(exc).__name__}: {exc}"


def report(event: dict[str, Any], passed: bool, seconds: float) -> None:
    """PutLifecycleEventHookExecutionStatus with a client that gives up within `seconds`."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"mode": "standard", "total_max_attempts": report_attempts(seconds)},
    )
    boto3.client("codedeploy", config=config).put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status="Succeeded" if passed else "Failed",
    )


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    passed, verdict = verdict_of(context)
    # Written before the report: the report ends the lifecycle event, and the log is what explains it.
    print(verdict, file=sys.stderr, flush=True)
    left = remaining_s(context)
    try:
        report(event, passed, REPORT_RESERVE_S if left is None else left - 1.0)
    except Exception as exc:
        # Said in the log, then raised: the invocation fails (an asynchronous invocation is retried by
        # Lambda, which runs the test and reports again); CodeDeploy's hour is the last resort.
        print(f"smoke test could not report {'Succeeded' if passed else 'Failed'}: {exc}", file=sys.stderr, flush=True)
        raise
    return {"passed": passed, "verdict": verdict}

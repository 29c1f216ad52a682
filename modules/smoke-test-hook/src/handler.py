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
"""

from __future__ import annotations

import os
import sys
import time
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
    except (urllib.error.URLError, OSError) as exc:
        return None, str(getattr(exc, "reason", exc))


def run(config: Settings, clock: Any = time.monotonic, sleep: Any = time.sleep) -> tuple[bool, str]:
    """Request each path until it answers the expected status; (passed, one-line verdict)."""
    deadline = clock() + config.time_limit_s
    for path in config.paths:
        got = ""
        for attempt in range(config.retries + 1):
            remaining = deadline - clock()
            if remaining <= 0:
                return False, f"smoke test failed: time limit {config.time_limit_s:g}s reached at GET {path} ({got})"
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


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        passed, verdict = run(settings())
    except ValueError as exc:  # a bad setting fails the hook rather than leaving CodeDeploy waiting
        passed, verdict = False, f"smoke test misconfigured: {exc}"
    # Written before the report: the report ends the lifecycle event, and the log is what explains it.
    print(verdict, file=sys.stderr, flush=True)
    import boto3

    boto3.client("codedeploy").put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status="Succeeded" if passed else "Failed",
    )
    return {"passed": passed, "verdict": verdict}

"""Lifecycle hooks of ECS service deployments: Lambda hooks and PAUSE hooks.

Developer guide, "Lambda hooks for Amazon ECS service deployments": ECS invokes the function, which "must
return a JSON object containing a hookStatus field" — SUCCEEDED (continue), FAILED (roll back) or
IN_PROGRESS ("Amazon ECS invokes the function again after a delay. By default, the delay is 30 seconds"
or the returned `callBackDelay`); `hookDetails` returned with IN_PROGRESS are passed to the next call.
"If your function doesn't return a valid hookStatus, or if it fails, Amazon ECS rolls back the
deployment." The payload's documented fields: serviceArn, targetServiceRevisionArn, testTrafficWeights,
productionTrafficWeights (revision ARN -> percent); the sandbox adds the hook's configured `hookDetails`.
"Pause hooks": the deployment waits (hook status AWAITING_ACTION, a `hookId` like `ecs-pause-...`) until
ContinueServiceDeployment(CONTINUE|ROLLBACK) or the hook's timeout (timeoutConfiguration, default 1440
minutes, action ROLLBACK). Both kinds at one stage: "Both hooks must complete before the deployment
proceeds" — the sandbox runs them one after the other, in the configuration's order.

What answers a Lambda hook in the sandbox, first match wins: a rule of `sandbox ecs-fault --hook`; the
function's own Python handler (run as the CodeDeploy hooks are, forked from hook_runner's warm process,
its return value read back); else the hook fails with a message saying the sandbox cannot run it.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.sandbox.ecs_deployments.config import Hook
from orchestrator.sandbox.ecs_deployments.faults import ECS_FAULTS
from orchestrator.sandbox.ecs_deployments.records import utcnow

if TYPE_CHECKING:
    from orchestrator.sandbox.ecs_deployments.walk import Run

CALLBACK_DELAY = 30.0  # simulated seconds: the guide's default between IN_PROGRESS calls
STARTUP_ALLOWANCE = 30.0  # wall seconds on top of the function's Timeout (a cold Python + boto3 start)


class HookFailed(Exception):
    """A hook ended FAILED or TIMED_OUT with timeout action ROLLBACK: the deployment rolls back."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Invocation:
    done: threading.Event = field(default_factory=threading.Event)
    response: Any = None
    error: str | None = None


def run_hooks(run: Run, stage: str, hooks: list[Hook]) -> Iterator[float]:
    """Every hook configured for `stage`, one after the other."""
    for hook in hooks:
        if stage not in hook.stages:
            continue
        if hook.target_type == "PAUSE":
            yield from _pause(run, stage, hook)
        else:
            yield from _lambda(run, stage, hook)


def _detail(run: Run, hook: Hook, prefix: str) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "hookId": f"{prefix}-{secrets.token_urlsafe(32)}",
        "targetType": hook.target_type,
        "status": "AWAITING_ACTION" if hook.target_type == "PAUSE" else "IN_PROGRESS",
        "expiresAt": utcnow() + timedelta(minutes=hook.timeout_minutes),
        "timeoutAction": hook.timeout_action,
    }
    if hook.target_arn:
        detail["targetArn"] = hook.target_arn
    run.dep.hook_details.append(detail)
    run.dep.touch()
    return detail


def _timed_out(run: Run, stage: str, hook: Hook, detail: dict[str, Any], what: str) -> None:
    detail["status"] = "TIMED_OUT"
    run.dep.touch()
    if hook.timeout_action == "ROLLBACK":
        raise HookFailed(f"Lifecycle hook {what} timed out at {stage} after {hook.timeout_minutes} minutes")


def _pause(run: Run, stage: str, hook: Hook) -> Iterator[float]:
    detail = _detail(run, hook, "ecs-pause")
    deadline = run.deadline(hook.timeout_minutes * 60.0)
    while detail["status"] == "AWAITING_ACTION":
        left = run.left(deadline)
        if left <= 0:
            _timed_out(run, stage, hook, detail, "PAUSE")
            return
        yield left  # ContinueServiceDeployment wakes the run (walk.Run.continue_hook)
    if detail["status"] == "FAILED":
        raise HookFailed(f"ContinueServiceDeployment with action ROLLBACK on the PAUSE hook at {stage}")


def _lambda(run: Run, stage: str, hook: Hook) -> Iterator[float]:
    from moto.awslambda.models import lambda_backends

    arn = str(hook.target_arn)
    detail = _detail(run, hook, "ecs-hook")
    deadline = run.deadline(hook.timeout_minutes * 60.0)
    try:
        fn = lambda_backends[run.account][run.region].get_function(arn)
    except Exception as exc:
        detail["status"] = "FAILED"
        raise HookFailed(f"Lifecycle hook {arn} failed at {stage}: {getattr(exc, 'message', None) or exc}") from exc
    names = (arn, str(fn.function_name), str(fn.function_arn))
    state = hook.details
    while True:
        rule = ECS_FAULTS.rule(run.dep.service, stage, names)
        if rule is not None:
            yield min(rule.delay, max(run.left(deadline), 0.0))
            response: Any = {
                "succeed": {"hookStatus": "SUCCEEDED"},
                "fail": {"hookStatus": "FAILED"},
                "in-progress": {"hookStatus": "IN_PROGRESS"},
                "silent": None,
            }[rule.result]
            error = None if rule.result != "silent" else "silent"
        else:
            invocation = Invocation()
            problem = _start(run, fn, _payload(run, state), invocation)
            if problem:
                detail["status"] = "FAILED"
                raise HookFailed(f"Lifecycle hook {arn} failed at {stage}: the sandbox cannot run it: {problem}")
            while not invocation.done.is_set() and run.left(deadline) > 0:
                yield run.left(deadline)  # the invocation's thread wakes the run when the function returns
            response, error = invocation.response, invocation.error
        if run.left(deadline) <= 0 or error == "silent":
            if error == "silent":
                yield max(run.left(deadline), 0.0)
            _timed_out(run, stage, hook, detail, arn)
            return
        status = response.get("hookStatus") if isinstance(response, dict) else None
        if status == "SUCCEEDED":
            detail["status"] = "SUCCEEDED"
            run.dep.touch()
            return
        if status != "IN_PROGRESS":
            detail["status"] = "FAILED"
            why = error or (f"returned hookStatus {status}" if status else "returned no valid hookStatus")
            raise HookFailed(f"Lifecycle hook {arn} failed at {stage}: {why}")
        state = response.get("hookDetails", state)
        delay = response.get("callBackDelay", CALLBACK_DELAY)
        yield min(float(delay) if isinstance(delay, int | float) else CALLBACK_DELAY, max(run.left(deadline), 0.0))


def _payload(run: Run, details: Any) -> dict[str, Any]:
    d = run.dep
    payload: dict[str, Any] = {
        "serviceArn": d.service_arn,
        "targetServiceRevisionArn": d.target,
        "testTrafficWeights": {k: float(v) for k, v in d.test_weights.items()},
        "productionTrafficWeights": {k: float(v) for k, v in d.prod_weights.items()},
    }
    if details is not None:
        payload["hookDetails"] = details
    return payload


# Runs in the function's own process: import the handler, call it, write its return value as JSON.
_RUNNER = """
import importlib, json, sys, types, uuid
module_name, function_name = sys.argv[1].rsplit(".", 1)
handler = getattr(importlib.import_module(module_name), function_name)
context = types.SimpleNamespace(
    function_name=sys.argv[2], aws_request_id=str(uuid.uuid4()), invoked_function_arn=sys.argv[3],
    memory_limit_in_mb=128, get_remaining_time_in_millis=lambda: 60000,
)
result = handler(json.load(sys.stdin), context)
with open(sys.argv[4], "w") as out:
    json.dump(result, out)
"""


def _start(run: Run, fn: Any, payload: dict[str, Any], invocation: Invocation) -> str | None:
    """Invoke the function's handler in a thread; None, or why the sandbox cannot run it."""
    from orchestrator.sandbox import hooks as codedeploy_hooks

    problem = codedeploy_hooks._not_runnable(fn)
    if problem:
        return problem

    def invoke() -> None:
        try:
            invocation.response, invocation.error = _invoke(fn, payload, run.region)
        except Exception as exc:  # the function "fails": ECS rolls back
            invocation.error = f"{type(exc).__name__}: {exc}"
        finally:
            invocation.done.set()
            run.wake_threadsafe()

    threading.Thread(target=invoke, name="ecs-hook", daemon=True).start()
    return None


def _invoke(fn: Any, payload: dict[str, Any], region: str) -> tuple[Any, str | None]:
    from orchestrator.sandbox import hooks as codedeploy_hooks
    from orchestrator.sandbox.hook_runner import ZYGOTE

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({str(k): str(v) for k, v in (getattr(fn, "environment_vars", None) or {}).items()})
    env.update(
        {
            "AWS_ENDPOINT_URL": str(codedeploy_hooks.ENDPOINT),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_LAMBDA_FUNCTION_NAME": str(fn.function_name),
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    timeout = float(getattr(fn, "timeout", 3) or 3) + STARTUP_ALLOWANCE
    with (
        tempfile.TemporaryDirectory(prefix="sandbox-ecs-hook-") as code_dir,
        tempfile.TemporaryDirectory(prefix="sandbox-ecs-hook-io-") as io_dir,
    ):
        with zipfile.ZipFile(BytesIO(fn.code_bytes)) as archive:
            archive.extractall(code_dir)
        env["PYTHONPATH"] = code_dir
        result = Path(io_dir) / "result.json"
        argv = [str(fn.handler), str(fn.function_name), str(fn.function_arn), str(result)]
        child = ZYGOTE.spawn(_RUNNER, argv, env, code_dir, json.dumps(payload), Path(io_dir))
        if child is None:
            return None, "the sandbox's hook runner is unavailable"
        started = time.monotonic()
        if not child.wait(timeout):
            return None, f"Task timed out after {time.monotonic() - started:.0f} seconds"
        try:
            return json.loads(result.read_text()), None
        except (FileNotFoundError, ValueError):
            tail = child.output().strip().splitlines()[-1:] or ["no output"]
            return None, f"the function failed: {tail[0]}"

"""AppSpec `Hooks` of ECS deployments: CodeDeploy invokes the Lambda function and waits for its report.

As the CodeDeploy user guide describes it ("AppSpec 'hooks' section for an Amazon ECS deployment"):
the function named for a lifecycle event is invoked with `{"DeploymentId", "LifecycleEventHookExecutionId"}`,
it calls `PutLifecycleEventHookExecutionStatus` (Succeeded | Failed), and "the deployment is considered to
have failed if CodeDeploy is not notified by the Lambda validation function within one hour".

What answers a hook in the sandbox, first match wins:
1. a rule set through the control endpoint (`orchestrator sandbox fault --hook ...`), keyed by the
   lifecycle event or the function name: report Succeeded/Failed after N simulated seconds, or stay silent;
2. the function's own handler, when it is a Python zip function in moto's Lambda: the sandbox runs it in
   a process of its own (moto's own invocation needs Docker; hook_runner.py forks it from a warm process)
   with boto3 pointed at the sandbox;
3. nothing: a function the sandbox cannot run fails the event at once, with a message that says how to
   answer it (a sandbox choice: passing silently would hide what AWS would do).
A hook naming a function that does not exist fails the event (`ScriptMissing`, Lambda's "Function not
found: ARN") before any rule applies: AWS cannot invoke it either.
The report itself (PutLifecycleEventHookExecutionStatus) is hooks_api.py's: it needs moto at import time,
and this module is imported by the engine, which the CLI loads without moto.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from orchestrator.sandbox.engine_ecs import DeploymentError

HOOK_TIMEOUT = 3600.0  # simulated seconds: the user guide's one hour
DEFAULT_RULE_DELAY = 8.0  # simulated seconds a rule's function "runs" before it reports
RESULTS = ("succeed", "fail", "silent")
LOG_SETTLE_S = 5.0  # wall seconds a reported hook's process gets to exit, for its log
STARTUP_ALLOWANCE = 30.0  # wall seconds on top of the function's Timeout: a Python + boto3 cold start here

# The sandbox's own endpoint, for the handlers it runs (set by the server that starts last).
ENDPOINT: str | None = None


def set_endpoint(endpoint: str) -> None:
    global ENDPOINT
    ENDPOINT = endpoint


# ---- rules (the control endpoint) ---------------------------------------------------------------------
class HookRuleError(ValueError):
    """A bad hook rule (the control endpoint answers HTTP 400)."""


@dataclass(frozen=True)
class HookRule:
    result: str  # succeed | fail | silent
    delay: float = DEFAULT_RULE_DELAY  # simulated seconds before a succeed/fail report


class HookRules:
    """Per-hook answers, keyed by lifecycle event name or function name, optionally only for one
    deployment group's deployments; kept until cleared."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: dict[tuple[str | None, str], HookRule] = {}  # (group or None, event or function)

    def get(self) -> dict[str, dict[str, Any]]:
        """Unscoped rules under their event/function; a group's as "GROUP/EVENT" with "group" and "hook"."""
        with self._lock:
            out: dict[str, dict[str, Any]] = {}
            for (group, target), rule in self._rules.items():
                if group is None:
                    out[target] = asdict(rule)
                else:
                    out[f"{group}/{target}"] = asdict(rule) | {"group": group, "hook": target}
            return out

    def set(self, target: Any, result: Any, delay: Any = None, group: str | None = None) -> dict[str, dict[str, Any]]:
        if not isinstance(target, str) or not target.strip():
            raise HookRuleError("hook must be a lifecycle event or a function name")
        if result not in RESULTS:
            raise HookRuleError(f"result must be one of {', '.join(RESULTS)}, got {result!r}")
        try:
            seconds = DEFAULT_RULE_DELAY if delay is None else float(delay)
        except (TypeError, ValueError) as exc:
            raise HookRuleError("delay must be a number of seconds") from exc
        if seconds < 0:
            raise HookRuleError(f"delay must be 0 or more, got {seconds:g}")
        with self._lock:
            self._rules[(group, target.strip())] = HookRule(result, seconds)
        return self.get()

    def clear(self, group: str | None = None) -> None:
        """Remove every rule, or only `group`'s."""
        with self._lock:
            if group is None:
                self._rules.clear()
            else:
                self._rules = {k: v for k, v in self._rules.items() if k[0] != group}

    def match(self, event: str, names: tuple[str, ...], group: str | None = None) -> HookRule | None:
        """The rule for this function (any of its names), else for this lifecycle event: the deployment
        group's own rules first, then the unscoped ones."""
        with self._lock:
            for scope in (group, None) if group is not None else (None,):
                for key in (*names, event):
                    if (scope, key) in self._rules:
                        return self._rules[(scope, key)]
        return None


RULES = HookRules()


def control(method: str, payload: dict[str, Any], group: str | None = None) -> tuple[str, Any]:
    """/_sandbox/hooks: GET the rules; POST {"hook", "result", "delay"?, "group"?}; DELETE clears them (or
    the group's). `group` is checked by the caller (middleware: a deployment group that exists)."""
    if method == "GET":
        return "200", RULES.get()
    if method in ("POST", "PUT"):
        return "200", RULES.set(payload.get("hook"), payload.get("result"), payload.get("delay"), group=group)
    if method == "DELETE":
        RULES.clear(group)
        return "200", {}
    return "405", {"error": f"{method} not allowed on /_sandbox/hooks"}


# ---- executions ---------------------------------------------------------------------------------------
@dataclass
class HookExecution:
    execution_id: str
    deployment_id: str
    event: str
    function: str  # as the AppSpec names it
    status: str | None = None  # Succeeded | Failed once reported
    closed: bool = False  # the lifecycle event ended (reported, timed out, deployment stopped)
    log: list[str] = field(default_factory=list)  # the handler's output, for the diagnostics' logTail
    finished: threading.Event = field(default_factory=threading.Event)  # the handler's process ended


EXECUTIONS: dict[str, HookExecution] = {}


def _execution_id() -> str:
    # AWS's ids are opaque tokens (base64 text); the format is not documented.
    return base64.b64encode(json.dumps({"id": uuid.uuid4().hex}).encode()).decode()


def _failure(event: str, function: str, error_code: str, message: str, log: str = "") -> DeploymentError:
    # errorInformation's message for hook failures is not documented; it names the event and function.
    return DeploymentError(
        "HOOK_EXECUTION_FAILURE",
        f"The deployment failed because the {event} lifecycle event hook {function} failed ({error_code}).",
        diagnostics={"errorCode": error_code, "scriptName": function, "message": message, "logTail": log[-2048:]},
    )


def run_hook(run: Any, event: str, function: str) -> Iterator[float]:
    """The hook of one lifecycle event (run is engine_run.Run): invoke, then wait for the report."""
    from moto.awslambda.models import lambda_backends

    backend = lambda_backends[run.account_id][run.region]
    try:
        fn = backend.get_function(function)
    except Exception as exc:  # UnknownFunctionException: Lambda's "Function not found: arn:aws:lambda:..."
        message = getattr(exc, "message", None) or str(exc)
        raise _failure(event, function, "ScriptMissing", message) from exc
    execution = HookExecution(_execution_id(), run.deployment.deployment_id, event, function)
    EXECUTIONS[execution.execution_id] = execution
    try:
        names = (function, str(fn.function_name), str(fn.function_arn))
        rule = RULES.match(event, names, str(run.deployment.deployment_group.deployment_group_name))
        if rule is None:
            problem = _not_runnable(fn)
            if problem:
                yield DEFAULT_RULE_DELAY
                raise _failure(
                    event,
                    function,
                    "UnknownError",
                    f"the sandbox cannot run {fn.function_name}: {problem}; answer the hook with "
                    f"`orchestrator sandbox fault --hook {event} --hook-result succeed|fail|silent`",
                )
            payload = {"DeploymentId": execution.deployment_id, "LifecycleEventHookExecutionId": execution.execution_id}
            threading.Thread(
                target=_invoke, args=(fn, payload, run.region, execution), name=f"hook-{event}", daemon=True
            ).start()
            yield HOOK_TIMEOUT  # PutLifecycleEventHookExecutionStatus wakes the run earlier
            # The report usually comes just before the handler's process exits: let it finish so that
            # its output (the smoke test's verdict) is in the logTail. Bounded in wall seconds.
            settle = time.monotonic() + LOG_SETTLE_S
            while execution.status is not None and not execution.finished.is_set() and time.monotonic() < settle:
                yield 0.1
        elif rule.result == "silent" or rule.delay >= HOOK_TIMEOUT:
            yield HOOK_TIMEOUT
        else:
            yield rule.delay
            if execution.status is None:  # the rule's function reports now (unless someone already did)
                execution.status = "Succeeded" if rule.result == "succeed" else "Failed"
        log = "".join(execution.log)
        if execution.status is None:
            raise _failure(
                event,
                function,
                "ScriptTimedOut",
                f"CodeDeploy was not notified by {function} within one hour (no PutLifecycleEventHookExecutionStatus)",
                log,
            )
        if execution.status == "Failed":
            raise _failure(
                event,
                function,
                "ScriptFailed",
                f"{function} reported Failed (PutLifecycleEventHookExecutionStatus)",
                log,
            )
    finally:
        execution.closed = True


def _not_runnable(fn: Any) -> str | None:
    if ENDPOINT is None:
        return "no sandbox endpoint to point it at"
    if getattr(fn, "package_type", "Zip") != "Zip":
        return "only zip functions run here (not container images)"
    runtime = str(getattr(fn, "run_time", "") or "")
    if not runtime.startswith("python"):
        return f"only Python functions run here, not {runtime or 'an unknown runtime'}"
    handler = str(getattr(fn, "handler", "") or "")
    if "." not in handler:
        return f"the handler {handler!r} is not module.function"
    try:
        with zipfile.ZipFile(BytesIO(fn.code_bytes)) as archive:
            module = handler.rsplit(".", 1)[0].replace(".", "/")
            if f"{module}.py" not in archive.namelist() and f"{module}/__init__.py" not in archive.namelist():
                return f"its code has no {module}.py for the handler {handler}"
    except (zipfile.BadZipFile, AttributeError, TypeError):
        return "its code is not a zip archive"
    return None


# Runs in the handler's own process: import the handler and call it with the event on stdin. Its log is
# what the handler prints, as in CloudWatch Logs; the return value of a hook's handler is not logged
# (CodeDeploy takes the verdict from PutLifecycleEventHookExecutionStatus alone).
_RUNNER = """
import importlib, json, sys, types, uuid
module_name, function_name = sys.argv[1].rsplit(".", 1)
handler = getattr(importlib.import_module(module_name), function_name)
context = types.SimpleNamespace(
    function_name=sys.argv[2], aws_request_id=str(uuid.uuid4()), invoked_function_arn=sys.argv[3],
    memory_limit_in_mb=128, get_remaining_time_in_millis=lambda: 60000,
)
handler(json.load(sys.stdin), context)
"""


def _invoke(fn: Any, payload: dict[str, Any], region: str, execution: HookExecution) -> None:
    """Run the function's handler once (as Lambda would), its AWS calls going to the sandbox."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({str(k): str(v) for k, v in (getattr(fn, "environment_vars", None) or {}).items()})
    env.update(
        {
            "AWS_ENDPOINT_URL": str(ENDPOINT),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_LAMBDA_FUNCTION_NAME": str(fn.function_name),
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    timeout = float(getattr(fn, "timeout", 3) or 3) + STARTUP_ALLOWANCE
    argv = [str(fn.handler), str(fn.function_name), str(fn.function_arn)]
    with (
        tempfile.TemporaryDirectory(prefix="sandbox-hook-") as code_dir,
        tempfile.TemporaryDirectory(prefix="sandbox-hook-io-") as io_dir,
    ):
        with zipfile.ZipFile(BytesIO(fn.code_bytes)) as archive:
            archive.extractall(code_dir)
        env["PYTHONPATH"] = code_dir
        from orchestrator.sandbox.hook_runner import ZYGOTE

        # Forked from a process with boto3 imported (hook_runner.py): many hooks at once stay cheap.
        child = ZYGOTE.spawn(_RUNNER, argv, env, code_dir, json.dumps(payload), Path(io_dir))
        if child is not None:
            try:
                finished = child.wait(timeout)
                execution.log.append(child.output())
                if not finished:
                    execution.log.append(f"Task timed out after {timeout:.0f} seconds\n")
            finally:
                execution.finished.set()
            return
        try:
            done = subprocess.run(
                [sys.executable, "-c", _RUNNER, *argv],
                input=json.dumps(payload),
                capture_output=True,
                text=True,
                cwd=code_dir,
                env=env,
                timeout=timeout,
            )
            execution.log.append(done.stdout + done.stderr)
        except subprocess.TimeoutExpired:
            execution.log.append(f"Task timed out after {timeout:.0f} seconds\n")
        finally:
            execution.finished.set()

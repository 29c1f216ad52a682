"""`orchestrator sandbox fault`: inject faults into the running sandbox, or show them.

Only typer and the standard library at import time (the sandbox's control client loads inside).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from orchestrator.lifecycle import HOOK_EVENTS, LIFECYCLE_EVENTS

# Target health reason codes of failing health checks (ELBv2 API reference, TargetHealth); the sandbox
# checks them too (sandbox/faults.py), this copy keeps the command free of the sandbox's imports.
HEALTH_REASONS = ("Target.ResponseCodeMismatch", "Target.Timeout", "Target.FailedHealthChecks")


def _echo(text: str = "", err: bool = False) -> None:
    typer.echo(text, err=err)


def _fraction(option: str, value: float | None) -> float | None:
    from orchestrator.errors import InputError

    if value is not None and not 0.0 <= value <= 1.0:
        raise InputError(f"{option} {value:g}: must be a fraction between 0 and 1 (0.2 = one call in five)")
    return value


def _event(name: str) -> str:
    from orchestrator.errors import InputError

    by_lower = {e.lower(): e for e in LIFECYCLE_EVENTS}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    import difflib

    close = difflib.get_close_matches(name, LIFECYCLE_EVENTS, n=1)
    hint = f"did you mean {close[0]}?" if close else None
    raise InputError(f"--fail-at {name!r} is not a lifecycle event; events: {', '.join(LIFECYCLE_EVENTS)}", hint=hint)


def _armed(faults: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in faults.items() if v not in (None, False, 0, "", [], {})}


def group_faults_line(faults: dict[str, Any]) -> str:
    """One deployment group's armed per-deployment faults: "fail_at=AfterInstall, message=..."."""
    return ", ".join(f"{k}={v}" for k, v in _armed(faults).items())


def _show_faults(faults: Any) -> None:
    if not isinstance(faults, dict):
        _echo(json.dumps(faults, indent=2))
        return
    groups = faults.get("groups") or {}
    active = _armed({k: v for k, v in faults.items() if k != "groups"})
    if not active and not groups:
        _echo("no faults set")
        return
    if active:
        _echo("faults (next deployment on any group; per-call ones on every call):")
        for key, value in active.items():
            _echo(f"  {key}: {value if isinstance(value, str) else json.dumps(value)}")
    if groups:
        _echo("faults of the next deployment on a group:")
        for name, armed in groups.items():
            _echo(f"  {name}: {group_faults_line(armed)}")


def _task_faults(
    exit_code: int | None, log: list[str] | None, run_seconds: float | None, no_start: bool, reason: str | None
) -> dict[str, Any]:
    """The --task-* options as /_sandbox/tasks settings (sandbox/tasks.py), checked here for a clear error."""
    from orchestrator.errors import InputError

    settings: dict[str, Any] = {}
    if exit_code is not None:
        if not 0 <= exit_code <= 255:
            raise InputError(f"--task-exit-code {exit_code}: must be between 0 and 255")
        settings["exit_code"] = exit_code
    if log:
        settings["log"] = list(log)
    if run_seconds is not None:
        if not 0 <= run_seconds <= 86_400:
            raise InputError(f"--task-run-seconds {run_seconds:g}: must be between 0 and 86400")
        settings["run_seconds"] = run_seconds
    if reason is not None and not no_start:
        raise InputError("--task-stopped-reason goes with --task-no-start")
    if no_start:
        settings["no_start"] = reason or True
    return settings


def _show_task_faults(faults: dict[str, Any]) -> None:
    armed = {k: v for k, v in faults.items() if v is not None and v != []}
    if armed:
        _echo(
            "next RunTask: "
            + ", ".join(f"{k}={v if k != 'no_start' else v or 'CannotPullContainerError'}" for k, v in armed.items())
        )


def _hook_rule(hook: str | None, result: str | None, delay: float | None) -> tuple[str, str, float | None] | None:
    from orchestrator.errors import InputError

    if hook is None:
        if result is not None or delay is not None:
            raise InputError("--hook-result and --hook-delay go with --hook EVENT_OR_FUNCTION")
        return None
    if not hook.strip():
        raise InputError("--hook: give a lifecycle event (e.g. AfterInstall) or a Lambda function name")
    if result is None:
        raise InputError("--hook needs --hook-result succeed|fail|silent")
    if result not in ("succeed", "fail", "silent"):
        raise InputError(f"--hook-result {result!r}: must be succeed, fail or silent")
    if delay is not None and delay < 0:
        raise InputError(f"--hook-delay {delay:g}: must be 0 or more (simulated seconds)")
    by_lower = {e.lower(): e for e in HOOK_EVENTS}
    return by_lower.get(hook.strip().lower(), hook.strip()), result, delay


def _show_hook_rules(rules: Any) -> None:
    if not rules:
        return
    _echo("hook rules:")
    for key, rule in sorted(rules.items()):
        delay = "" if rule.get("result") == "silent" else f" after {rule.get('delay', 0):g}s"
        scope = f"{rule['hook']} (group {rule['group']})" if rule.get("group") else key
        _echo(f"  {scope}: {rule.get('result')}{delay}")


def fault(
    fail_at: Annotated[
        str | None,
        typer.Option(
            "--fail-at",
            metavar="EVENT",
            help="Fail this lifecycle event of the next deployment: " + ", ".join(LIFECYCLE_EVENTS) + ".",
        ),
    ] = None,
    message: Annotated[
        str | None, typer.Option("--message", metavar="TEXT", help="Diagnostics message of the --fail-at failure.")
    ] = None,
    unhealthy: Annotated[
        bool, typer.Option("--unhealthy", help="The next deployment's replacement tasks never become healthy.")
    ] = False,
    health_code: Annotated[
        int | None,
        typer.Option(
            "--health-code",
            metavar="HTTP_CODE",
            help="With --unhealthy: the code the health checks get (Target.ResponseCodeMismatch), e.g. 503.",
        ),
    ] = None,
    health_reason: Annotated[
        str | None,
        typer.Option(
            "--health-reason",
            metavar="REASON",
            help="With --unhealthy: the target health reason code: Target.ResponseCodeMismatch, "
            "Target.Timeout or Target.FailedHealthChecks (default).",
        ),
    ] = None,
    crash: Annotated[
        int | None,
        typer.Option(
            "--crash",
            metavar="EXIT_CODE",
            help="The next deployment's replacement tasks' container exits with this code (0-255) soon after start.",
        ),
    ] = None,
    crash_log: Annotated[
        list[str] | None,
        typer.Option("--crash-log", metavar="LINE", help="With --crash: the container's last log lines (repeatable)."),
    ] = None,
    crash_reason: Annotated[
        str | None,
        typer.Option(
            "--crash-reason",
            metavar="TEXT",
            help="With --crash: ECS's containers[].reason, e.g. OutOfMemoryError: ...",
        ),
    ] = None,
    throttle: Annotated[
        float | None,
        typer.Option("--throttle", metavar="FRACTION", help="Answer this fraction of calls ThrottlingException."),
    ] = None,
    latency_ms: Annotated[
        int | None, typer.Option("--latency-ms", metavar="N", help="Add N milliseconds to every call.")
    ] = None,
    error_rate: Annotated[
        float | None, typer.Option("--error-rate", metavar="FRACTION", help="Answer this fraction of calls HTTP 500.")
    ] = None,
    hook: Annotated[
        str | None,
        typer.Option(
            "--hook",
            metavar="EVENT_OR_FUNCTION",
            help="Answer the AppSpec hook of this lifecycle event (or this Lambda function) with --hook-result.",
        ),
    ] = None,
    hook_result: Annotated[
        str | None,
        typer.Option(
            "--hook-result",
            metavar="succeed|fail|silent",
            help="With --hook: report Succeeded, report Failed, or never report (the event times out after an hour).",
        ),
    ] = None,
    hook_delay: Annotated[
        float | None,
        typer.Option("--hook-delay", metavar="SECONDS", help="With --hook: simulated seconds before it reports (8)."),
    ] = None,
    error_after_rate: Annotated[
        float | None,
        typer.Option(
            "--error-after-rate",
            metavar="FRACTION",
            help="Process this fraction of calls, then answer HTTP 500 anyway (a write is committed).",
        ),
    ] = None,
    list_lag: Annotated[
        float | None,
        typer.Option(
            "--list-lag",
            metavar="SECONDS",
            help="List and batch reads (ListDeployments, BatchGetDeployments, GetDeployment, ListTasks, "
            "DescribeTasks, ListTaskDefinitions, DescribeTaskDefinition) miss what was created in the last "
            "SECONDS simulated seconds (eventual consistency; 0 ends it).",
        ),
    ] = None,
    action: Annotated[
        list[str] | None,
        typer.Option("--action", metavar="ACTION", help="Limit --error-after-rate to this action (repeatable)."),
    ] = None,
    task_exit_code: Annotated[
        int | None,
        typer.Option("--task-exit-code", metavar="N", help="The next RunTask's container exits with N (0-255)."),
    ] = None,
    task_log: Annotated[
        list[str] | None,
        typer.Option("--task-log", metavar="LINE", help="The next RunTask's task logs LINE (repeatable, in order)."),
    ] = None,
    task_run_seconds: Annotated[
        float | None,
        typer.Option("--task-run-seconds", metavar="SECONDS", help="Simulated seconds the next task runs (5)."),
    ] = None,
    task_no_start: Annotated[
        bool,
        typer.Option("--task-no-start", help="The next RunTask's task never starts (CannotPullContainerError)."),
    ] = False,
    task_stopped_reason: Annotated[
        str | None,
        typer.Option("--task-stopped-reason", metavar="TEXT", help="With --task-no-start: ECS's stoppedReason."),
    ] = None,
    group: Annotated[
        str | None,
        typer.Option(
            "--group",
            metavar="NAME",
            help="Only for this CodeDeploy deployment group (its name, as the outputs' "
            "codedeploy_deployment_group_name): --fail-at/--message/--unhealthy/--crash, --hook rules, --clear.",
        ),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove every fault (hook rules too).")] = False,
) -> None:
    """Inject faults into the running sandbox; with no option, show the current ones.

    --fail-at, --unhealthy and --crash apply to the next deployment (with --group NAME: the next deployment on that
    deployment group; several groups may hold faults at once); --throttle, --latency-ms, --error-rate and
    --error-after-rate to every call (or every --action call) until --clear; --hook rules to every
    deployment's hooks (with --group: that group's deployments) until --clear; --task-* to the tasks of
    the next RunTask (`orchestrator run`, `release --pre-task`). --clear --group NAME removes only that
    group's faults and hook rules.
    """
    from orchestrator.errors import InputError

    rule = _hook_rule(hook, hook_result, hook_delay)
    task_settings = _task_faults(task_exit_code, task_log, task_run_seconds, task_no_start, task_stopped_reason)
    settings = _deployment_settings(
        fail_at, message, unhealthy, (health_code, health_reason), (crash, crash_log, crash_reason)
    )
    calls = _call_settings(throttle, latency_ms, error_rate, error_after_rate, action)
    if list_lag is not None:
        if not 0 <= list_lag <= 3600:
            raise InputError(f"--list-lag {list_lag:g}: must be between 0 and 3600 simulated seconds")
        calls["list_lag"] = list_lag
    if clear and (settings or calls or rule or task_settings):
        raise InputError("--clear cannot be combined with other fault options")
    if group is not None and (calls or task_settings):
        per_call = [f"--{k.replace('_', '-')}" for k in calls if k != "error_after_actions"]
        per_call += ["--task-*"] if task_settings else []
        raise InputError(
            f"--group goes with --fail-at, --message, --unhealthy, --crash, --hook and --clear; "
            f"{', '.join(per_call)} (every call or task) cannot be limited to one deployment group"
        )
    _apply(group, clear, settings | calls, task_settings, rule)


def _deployment_settings(
    fail_at: str | None,
    message: str | None,
    unhealthy: bool,
    health: tuple[int | None, str | None],
    crash: tuple[int | None, list[str] | None, str | None],
) -> dict[str, Any]:
    """The next deployment's faults (/_sandbox/faults, sandbox/faults.py), checked here for a clear error."""
    from orchestrator.errors import InputError

    settings: dict[str, Any] = {}
    if fail_at is not None:
        settings["fail_at"] = _event(fail_at)
        if message is not None:
            settings["message"] = message
    elif message is not None:
        raise InputError("--message goes with --fail-at EVENT")
    code, reason = health
    if (code is not None or reason is not None) and not unhealthy:
        raise InputError("--health-code and --health-reason go with --unhealthy")
    if unhealthy:
        settings["unhealthy"] = True
    if code is not None:
        if not 100 <= code <= 599:
            raise InputError(f"--health-code {code}: must be an HTTP status code (100-599)")
        settings["health_code"] = code
    if reason is not None:
        if reason not in HEALTH_REASONS:
            raise InputError(f"--health-reason {reason!r}: must be one of {', '.join(HEALTH_REASONS)}")
        settings["health_reason"] = reason
    exit_code, lines, crash_reason = crash
    if exit_code is None:
        if lines or crash_reason is not None:
            raise InputError("--crash-log and --crash-reason go with --crash EXIT_CODE")
        return settings
    if not 0 <= exit_code <= 255:
        raise InputError(f"--crash {exit_code}: must be an exit code between 0 and 255")
    if unhealthy:
        raise InputError("--crash and --unhealthy are exclusive: a crashing container never reaches its health checks")
    settings["crash_exit_code"] = exit_code
    settings["crash_log"] = list(lines or [])
    if crash_reason is not None:
        settings["crash_reason"] = crash_reason
    return settings


def _call_settings(
    throttle: float | None,
    latency_ms: int | None,
    error_rate: float | None,
    error_after_rate: float | None,
    action: list[str] | None,
) -> dict[str, Any]:
    """The faults of every AWS call, checked here for a clear error."""
    from orchestrator.errors import InputError

    settings: dict[str, Any] = {}
    if throttle is not None:
        settings["throttle"] = _fraction("--throttle", throttle)
    if error_rate is not None:
        settings["error_rate"] = _fraction("--error-rate", error_rate)
    if error_after_rate is not None:
        settings["error_after_rate"] = _fraction("--error-after-rate", error_after_rate)
        settings["error_after_actions"] = list(action or [])
    elif action:
        raise InputError("--action goes with --error-after-rate FRACTION")
    if latency_ms is not None:
        if latency_ms < 0:
            raise InputError(f"--latency-ms {latency_ms}: must be 0 or more")
        settings["latency_ms"] = latency_ms
    return settings


def _apply(
    group: str | None,
    clear: bool,
    settings: dict[str, Any],
    task_settings: dict[str, Any],
    rule: tuple[str, str, float | None] | None,
) -> None:
    """Send the checked settings to the running sandbox's control endpoint, then show what is armed."""
    from orchestrator.errors import AwsRefused, InputError
    from orchestrator.sandbox import process
    from orchestrator.sandbox.control import ControlError, SandboxControl

    found = process.find()
    info = found.info
    if info is None or not found.running:
        raise InputError("the sandbox is not running", hint="start it with `orchestrator sandbox up`")
    control = SandboxControl(info.endpoint)
    try:
        if group is not None:
            known = control.groups()  # checked here first, so that nothing is set for a typo
            if group not in known:
                raise InputError(
                    f"--group {group!r}: no such deployment group in the sandbox; groups: {', '.join(known) or 'none'}"
                )
        if clear:
            control.clear_faults(group)
            if group is None:
                control.clear_hook_rules()
            _echo("faults cleared" + (f" for group {group}" if group is not None else ""))
            return
        if settings:
            control.set_faults(**settings, group=group)
            scope = f" for the next deployment on group {group}" if group is not None else ""
            _echo(f"faults set{scope}: " + ", ".join(f"{k}={v}" for k, v in settings.items()))
        if task_settings:
            control.set_task_faults(**task_settings)
            _echo("task faults set for the next RunTask: " + ", ".join(f"{k}={v}" for k, v in task_settings.items()))
        if rule:
            control.set_hook_rule(*rule, group=group)
            _echo(
                f"hook rule set: {rule[0]} -> {rule[1]}"
                + (f" after {rule[2]:g}s" if rule[2] is not None else "")
                + (f" (group {group})" if group is not None else "")
            )
        _show_faults(control.faults())
        _show_hook_rules(control.hook_rules())
        _show_task_faults(control.task_faults())
    except ControlError as exc:
        import urllib.error

        if isinstance(exc.__cause__, urllib.error.HTTPError):  # the sandbox refused the setting
            raise InputError(f"sandbox fault: {exc}") from exc
        raise AwsRefused(f"cannot reach the sandbox control endpoint at {info.endpoint}: {exc}") from exc

"""`orchestrator sandbox ecs-fault`: faults of the sandbox's ECS-native service deployments.

A command of its own beside `sandbox fault` (whose stages are CodeDeploy's lifecycle events): per ECS
service, the next service deployment's failure at a lifecycle stage, unhealthy tasks or tasks that never
start, and answers to its lifecycle hooks. Only typer and the standard library at import time.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

STAGES = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
)
HOOK_RESULTS = ("succeed", "fail", "in-progress", "silent")


def _stage(value: str, option: str) -> str:
    from orchestrator.errors import InputError

    wanted = value.strip().upper().replace("-", "_")
    if wanted in STAGES:
        return wanted
    raise InputError(f"{option} {value!r} is not an ECS lifecycle stage; stages: {', '.join(STAGES)}")


def ecs_fault(
    service: Annotated[
        str | None,
        typer.Option("--service", "-s", metavar="NAME", help="Only this ECS service (its name); default: any."),
    ] = None,
    fail_at: Annotated[
        str | None, typer.Option("--fail-at", metavar="STAGE", help="Fail the next deployment at this stage.")
    ] = None,
    message: Annotated[
        str | None, typer.Option("--message", metavar="TEXT", help="With --fail-at: the rollback reason.")
    ] = None,
    unhealthy: Annotated[
        bool, typer.Option("--unhealthy", help="The next deployment's tasks fail their health checks.")
    ] = False,
    no_start: Annotated[
        bool, typer.Option("--no-start", help="The next deployment's tasks never start (CannotPullContainerError).")
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--stopped-reason", metavar="TEXT", help="With --no-start: the tasks' reason.")
    ] = None,
    hook: Annotated[
        str | None,
        typer.Option("--hook", metavar="STAGE_OR_FUNCTION", help="Answer the lifecycle hooks of a stage or function."),
    ] = None,
    hook_result: Annotated[
        str | None,
        typer.Option("--hook-result", metavar="|".join(HOOK_RESULTS), help="With --hook: the hookStatus answered."),
    ] = None,
    hook_delay: Annotated[
        float | None, typer.Option("--hook-delay", metavar="SECONDS", help="With --hook: simulated seconds (5).")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the faults and hook rules (of --service).")] = False,
) -> None:
    """Faults of ECS-native service deployments; with no option, show the current ones."""
    from orchestrator.errors import AwsRefused, InputError

    settings: dict[str, Any] = {}
    if fail_at is not None:
        settings["fail_at"] = _stage(fail_at, "--fail-at")
        if message is not None:
            settings["message"] = message
    elif message is not None:
        raise InputError("--message goes with --fail-at STAGE")
    if unhealthy:
        settings["unhealthy"] = True
    if no_start:
        settings["no_start"] = reason or True
    elif reason is not None:
        raise InputError("--stopped-reason goes with --no-start")
    rule: dict[str, Any] | None = None
    if hook is not None:
        if hook_result not in HOOK_RESULTS:
            raise InputError(f"--hook needs --hook-result {'|'.join(HOOK_RESULTS)}")
        if hook_delay is not None and hook_delay < 0:
            raise InputError(f"--hook-delay {hook_delay:g}: must be 0 or more (simulated seconds)")
        target = hook.strip().upper().replace("-", "_")
        rule = {"hook": target if target in STAGES else hook.strip(), "result": hook_result, "delay": hook_delay}
    elif hook_result is not None or hook_delay is not None:
        raise InputError("--hook-result and --hook-delay go with --hook STAGE_OR_FUNCTION")
    if clear and (settings or rule):
        raise InputError("--clear cannot be combined with other fault options")

    from orchestrator.sandbox import process
    from orchestrator.sandbox.control import ControlError, SandboxControl

    found = process.find()
    if found.info is None or not found.running:
        raise InputError("the sandbox is not running", hint="start it with `orchestrator sandbox up`")
    control = SandboxControl(found.info.endpoint)
    scope = {"service": service} if service else {}
    try:
        if clear:
            control._call("DELETE", "/ecs/faults", scope)
            typer.echo("ECS faults cleared" + (f" for service {service}" if service else ""))
            return
        if settings:
            control._call("POST", "/ecs/faults", {**settings, **scope})
        if rule:
            control._call("POST", "/ecs/hooks", {**rule, **scope})
        typer.echo(json.dumps(control._call("GET", "/ecs/faults"), indent=2, sort_keys=True))
    except ControlError as exc:
        import urllib.error

        if isinstance(exc.__cause__, urllib.error.HTTPError):
            raise InputError(f"sandbox ecs-fault: {exc}") from exc
        raise AwsRefused(f"cannot reach the sandbox control endpoint at {found.info.endpoint}: {exc}") from exc


def register(app: typer.Typer) -> None:
    from orchestrator.commands.common import command

    command(app, "ecs-fault")(ecs_fault)

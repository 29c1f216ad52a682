"""`orchestrator sandbox up|down|status|env|fault`: the embedded AWS sandbox as a background process.

Only typer and the standard library at import time: the sandbox modules (and boto3) load inside
the commands.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Annotated, Any

import typer

from orchestrator.commands.common import OutputOpt, command
from orchestrator.lifecycle import HOOK_EVENTS, LIFECYCLE_EVENTS

app = typer.Typer(
    help="The embedded AWS sandbox (moto + a CodeDeploy blue/green engine) on 127.0.0.1.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


# A bound of our own for `--services N` (Terraform has none): `demo-svc99-green`, the longest target group
# name, stays within ELB's 32 characters, and a benchmark needs 20.
MAX_SERVICES = 99


def _echo(text: str = "", err: bool = False) -> None:
    typer.echo(text, err=err)


@command(app)
def up(
    port: Annotated[int, typer.Option("--port", metavar="PORT", help="Port on 127.0.0.1 (0: a free one).")] = 0,
    time_scale: Annotated[
        float | None,
        typer.Option(
            "--time-scale",
            metavar="FACTOR",
            help="Wall-clock seconds per simulated AWS second: 1 = real time, 0.05 = twenty times faster "
            "(default: $ORCHESTRATOR_SANDBOX_TIME_SCALE or 0.05).",
        ),
    ] = None,
    region: Annotated[
        str, typer.Option("--region", metavar="REGION", help="Region the stack is provisioned in.")
    ] = "eu-west-1",
    services: Annotated[
        list[str] | None,
        typer.Option(
            "--service",
            "-s",
            metavar="KEY[:ENGINE]",
            help="Service keys to provision (repeatable); web:ecs = ECS-native.",
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine", metavar="ENGINE", help="codedeploy (default) or ecs: ECS's own blue/green deployments."
        ),
    ] = "codedeploy",
    count: Annotated[
        int | None,
        typer.Option(
            "--services",
            metavar="N",
            help=f"Provision N services named svc01, svc02, ... (benchmarks; 1-{MAX_SERVICES}; not with --service).",
        ),
    ] = None,
    project_root: Annotated[
        Path,
        typer.Option(
            "--project-root",
            metavar="DIR",
            help="Directory holding taskdef.json (or services/<key>/taskdef.json per service).",
        ),
    ] = Path("."),
    test_listener_url: Annotated[
        str | None,
        typer.Option(
            "--test-listener-url",
            metavar="URL",
            help="Where the smoke-test hook reaches the test listener (the sandbox's ALB is not real): "
            "a local server, e.g. http://127.0.0.1:8099.",
        ),
    ] = None,
) -> None:
    """Start the sandbox in the background and provision the example stack."""
    from orchestrator.errors import InputError
    from orchestrator.sandbox import process
    from orchestrator.sandbox.ecs_deployments.provision import split_engines

    try:
        engines = split_engines(_service_keys(services, count), engine)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    keys = tuple(engines)
    for key in keys:
        if not key or not key.replace("-", "").isalnum() or not key[0].isalpha() or key != key.lower():
            raise InputError(f"--service {key!r}: use lower-case letters, digits and dashes, starting with a letter")
    with process.locked():
        _up_locked(process, keys, port, time_scale, region, project_root, test_listener_url, engines)


def _service_keys(services: list[str] | None, count: int | None) -> tuple[str, ...]:
    """The keys to provision: --service KEY (repeatable), --services N (svc01..svcNN), else web."""
    from orchestrator.errors import InputError

    if count is None:
        return tuple(dict.fromkeys(services or ["web"]))
    if services:
        raise InputError("--services N and --service KEY are exclusive: give the count or the keys")
    if not 1 <= count <= MAX_SERVICES:
        raise InputError(f"--services {count}: must be between 1 and {MAX_SERVICES}")
    return tuple(f"svc{i:02d}" for i in range(1, count + 1))


def _up_locked(
    process: Any,
    keys: tuple[str, ...],
    port: int,
    time_scale: float | None,
    region: str,
    project_root: Path,
    test_listener_url: str | None = None,
    engines: dict[str, str] | None = None,
) -> None:
    found = process.find()
    if found.running and found.info is not None:
        _echo(f"sandbox already running (pid {found.info.pid}) at {found.info.endpoint}")
        _echo("stop it first with `orchestrator sandbox down` to start a fresh one")
        return
    if found.stale and found.info is not None:
        process.remove_state()
        _echo(f"removed stale sandbox state (pid {found.info.pid} is not a running sandbox)")
    if time_scale is None:
        from orchestrator.sandbox.engine import default_time_scale

        time_scale = default_time_scale()
    info = process.start(
        port or None,
        time_scale,
        region=region,
        project_root=project_root,
        services=keys,
        test_listener_url=test_listener_url,
        engines=engines,
    )
    _echo(f"sandbox running (pid {info.pid}) at {info.endpoint}, time scale {info.time_scale:g}")
    _echo(f"  stack: {', '.join(keys)} in {info.region}; outputs in {process.outputs_path()}")
    _echo(f"  log:   {process.log_path()}")
    _echo("next:")
    _echo('  eval "$(orchestrator sandbox env)"     # point AWS tools at it')
    _echo("  orchestrator sandbox status")
    _echo("  orchestrator sandbox down")


@command(app)
def down() -> None:
    """Stop the background sandbox (only the process `sandbox up` started)."""
    from orchestrator.sandbox import process

    with process.locked():
        _down_locked(process)


def _down_locked(process: Any) -> None:
    found = process.find()
    info = found.info
    if info is None:
        _echo(f"the sandbox is not running (no {process.sandbox_dir() / 'server.json'})")
    elif found.ours:
        if not process.terminate(info.pid):
            from orchestrator.errors import DeploymentFailed

            raise DeploymentFailed(f"sandbox pid {info.pid} did not stop", hint=f"kill {info.pid}")
        process.remove_state()
        _echo(f"sandbox stopped (pid {info.pid}, {info.endpoint})")
    elif found.healthy:
        # A sandbox answers there, but it is not a process `sandbox up` started (the test fixture's
        # in-process server, say): not ours to stop.
        _echo(
            f"the sandbox at {info.endpoint} was not started by `orchestrator sandbox up`; not stopping pid {info.pid}"
        )
        raise typer.Exit(1)
    else:
        process.remove_state()
        _echo(f"the sandbox is not running (removed stale state of pid {info.pid})")
    note = process.stop_registry()
    if note:
        _echo(note, err=True)


def _active_deployments(info: Any, outputs: Any) -> dict[str, list[str]] | None:
    """Active CodeDeploy deployments per service; None when the sandbox does not answer."""
    from orchestrator.aws import Aws

    aws = Aws(info.region, endpoint_url=info.endpoint, sandbox=True, max_attempts=1)
    active: dict[str, list[str]] = {}
    try:
        client = aws.client("codedeploy")
        for key, svc in outputs.services.items():
            if svc.deployment_engine == "ecs":  # ECS's own service deployments
                from orchestrator.sandbox.ecs_deployments.provision import active_deployments

                active[key] = active_deployments(aws.client("ecs"), svc.cluster_name, svc.service_name)
                continue
            active[key] = client.list_deployments(
                applicationName=svc.codedeploy_app_name,
                deploymentGroupName=svc.codedeploy_deployment_group_name,
                includeOnlyStatuses=["Created", "Queued", "InProgress", "Baking", "Ready"],
            ).get("deployments", [])
    except Exception:
        return None
    return active


def _current_faults(endpoint: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The sandbox's faults and hook rules (/_sandbox/faults, /_sandbox/hooks); None when it does not answer."""
    from orchestrator.sandbox.control import ControlError, SandboxControl

    control = SandboxControl(endpoint, timeout=2.0)
    try:
        return control.faults(), control.hook_rules()
    except ControlError:
        return None, None


@command(app)
def status(
    output: OutputOpt = "auto",
) -> None:
    """Is the sandbox running; where; what it holds (--output json: one JSON object)."""
    from orchestrator.report import OUTPUT_CHOICES
    from orchestrator.sandbox import process

    if output not in OUTPUT_CHOICES:
        from orchestrator.errors import InputError

        raise InputError(f"--output {output!r} is not one of {', '.join(OUTPUT_CHOICES)}")
    as_json = output == "json"

    found = process.find()
    info = found.info
    doc: dict[str, Any] = {"running": found.running, "state_dir": str(process.sandbox_dir())}
    if info is not None:
        doc |= {
            "pid": info.pid,
            "endpoint": info.endpoint,
            "port": info.port,
            "region": info.region,
            "time_scale": info.time_scale,
            "registry": info.registry,
            "stale": found.stale,
        }
    outputs = None
    if found.running:
        from orchestrator.contract import load_outputs_file
        from orchestrator.errors import InputError

        try:
            outputs = load_outputs_file(process.outputs_path())
        except InputError as exc:
            doc["outputs_error"] = str(exc)
        else:
            doc["services"] = {
                k: {"cluster": s.cluster_name, "service": s.service_name} for k, s in outputs.services.items()
            }
            doc["active_deployments"] = _active_deployments(info, outputs)
            doc["groups"] = {k: s.codedeploy_deployment_group_name for k, s in outputs.services.items()}
        doc["faults"], doc["hook_rules"] = _current_faults(info.endpoint) if info is not None else (None, None)
    if as_json:
        _echo(json.dumps(doc, indent=2))
        return
    if info is None:
        _echo("sandbox: not running")
        _echo("  start it with `orchestrator sandbox up`")
        return
    if found.stale:
        _echo(
            f"sandbox: not running (stale state: pid {info.pid} is not a running sandbox; "
            "`sandbox up` or `sandbox down` cleans it)"
        )
        return
    _echo(f"sandbox: running (pid {info.pid})")
    _echo(f"  endpoint:   {info.endpoint}{'' if found.healthy else '  (not answering!)'}")
    _echo(f"  region:     {info.region}")
    _echo(f"  time scale: {info.time_scale:g}")
    if info.registry:
        _echo(f"  registry:   {info.registry}")
    if "outputs_error" in doc:
        _echo(f"  outputs:    {doc['outputs_error']}")
    faults = doc.get("faults") or {}
    group_faults = faults.get("groups") or {}
    group_rules: dict[str, list[tuple[str, str]]] = {}
    for rule in (doc.get("hook_rules") or {}).values():
        if rule.get("group"):
            group_rules.setdefault(rule["group"], []).append((rule["hook"], rule["result"]))
    for key, svc in doc.get("services", {}).items():
        active = (doc.get("active_deployments") or {}).get(key)
        state = "unknown" if active is None else (", ".join(active) or "none")
        group = doc["groups"][key]
        armed = group_faults_line(group_faults.get(group) or {})
        armed += ", " if armed and group_rules.get(group) else ""
        armed += ", ".join(f"hook {hook}={result}" for hook, result in group_rules.get(group, []))
        note = f"; faults on group {group}: {armed}" if armed else ""
        _echo(f"  service {key}: cluster {svc['cluster']}, service {svc['service']}; active deployments: {state}{note}")
    unscoped = group_faults_line({k: faults.get(k) for k in ("fail_at", "message", "unhealthy")})
    if unscoped:
        _echo(f"  faults:     next deployment on any group: {unscoped}")
    _echo(f"  state dir:  {doc['state_dir']}")


@command(app)
def env() -> None:
    """Print shell exports for the sandbox: eval "$(orchestrator sandbox env)"."""
    from orchestrator.aws import SANDBOX_CREDENTIALS
    from orchestrator.errors import InputError
    from orchestrator.sandbox import process

    found = process.find()
    info = found.info
    if info is None or not found.running:
        raise InputError("the sandbox is not running", hint="start it with `orchestrator sandbox up`")
    exports = {
        "AWS_ENDPOINT_URL": info.endpoint,
        "AWS_ACCESS_KEY_ID": SANDBOX_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": SANDBOX_CREDENTIALS["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": info.region,
        "AWS_REGION": info.region,
        "ORCHESTRATOR_SANDBOX_DIR": str(process.sandbox_dir().resolve()),
    }
    for key, value in exports.items():
        _echo(f"export {key}={shlex.quote(value)}")
    # A profile or session token from the real account would otherwise mix in.
    _echo("unset AWS_PROFILE AWS_SESSION_TOKEN")


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


@command(app)
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
            "codedeploy_deployment_group_name): --fail-at/--message/--unhealthy, --hook rules, --clear.",
        ),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove every fault (hook rules too).")] = False,
) -> None:
    """Inject faults into the running sandbox; with no option, show the current ones.

    --fail-at and --unhealthy apply to the next deployment (with --group NAME: the next deployment on that
    deployment group; several groups may hold faults at once); --throttle, --latency-ms, --error-rate and
    --error-after-rate to every call (or every --action call) until --clear; --hook rules to every
    deployment's hooks (with --group: that group's deployments) until --clear; --task-* to the tasks of
    the next RunTask (`orchestrator run`, `release --pre-task`). --clear --group NAME removes only that
    group's faults and hook rules.
    """
    from orchestrator.errors import InputError

    rule = _hook_rule(hook, hook_result, hook_delay)
    task_settings = _task_faults(task_exit_code, task_log, task_run_seconds, task_no_start, task_stopped_reason)
    settings: dict[str, Any] = {}
    if fail_at is not None:
        settings["fail_at"] = _event(fail_at)
        if message is not None:
            settings["message"] = message
    elif message is not None:
        raise InputError("--message goes with --fail-at EVENT")
    if unhealthy:
        settings["unhealthy"] = True
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
    if clear and (settings or rule or task_settings):
        raise InputError("--clear cannot be combined with other fault options")
    if group is not None:
        per_call = [
            option
            for option, given in (
                ("--throttle", throttle is not None),
                ("--latency-ms", latency_ms is not None),
                ("--error-rate", error_rate is not None),
                ("--error-after-rate", error_after_rate is not None),
                ("--task-*", bool(task_settings)),
            )
            if given
        ]
        if per_call:
            raise InputError(
                f"--group goes with --fail-at, --message, --unhealthy, --hook and --clear; "
                f"{', '.join(per_call)} (every call or task) cannot be limited to one deployment group"
            )

    from orchestrator.sandbox import process

    found = process.find()
    info = found.info
    if info is None or not found.running:
        raise InputError("the sandbox is not running", hint="start it with `orchestrator sandbox up`")
    from orchestrator.errors import AwsRefused
    from orchestrator.sandbox.control import ControlError, SandboxControl

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

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
from orchestrator.commands.sandbox_fault import fault, group_faults_line

app = typer.Typer(
    help="The embedded AWS sandbox (moto + a CodeDeploy blue/green engine) on 127.0.0.1.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


# A bound of our own for `--services N` (Terraform has none): `demo-svc99-green`, the longest target group
# name, stays within ELB's 32 characters, and a benchmark needs 20.
MAX_SERVICES = 99
MAX_SEEDED = 5000  # sandbox/history.py's bound per call
DEFAULT_READY_WAIT_MINUTES = 60  # the Terraform root's services[*].deployment_ready_wait default


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
    unmanaged: Annotated[
        list[str] | None,
        typer.Option(
            "--unmanaged-service",
            metavar="NAME",
            help="Also make a rolling (ECS controller) Fargate service NAME directly through the AWS API, as a "
            "service the stack did not create: no load balancer, no CodeDeploy, not in the outputs (repeatable).",
        ),
    ] = None,
    ready_wait: Annotated[
        str,
        typer.Option(
            "--ready-wait",
            metavar="continue|manual",
            help="The deployment groups' ready option: continue (CONTINUE_DEPLOYMENT, the default) or manual "
            "(STOP_DEPLOYMENT: a release waits in Ready until `orchestrator approve`, or stops after the wait).",
        ),
    ] = "continue",
    ready_wait_minutes: Annotated[
        int | None,
        typer.Option(
            "--ready-wait-minutes",
            metavar="N",
            help="With --ready-wait manual: minutes to wait for approval before the deployment stops (60).",
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
    extra = tuple(dict.fromkeys(unmanaged or []))
    for name in extra:
        if not name or not name.replace("-", "").isalnum() or not name[0].isalpha() or name != name.lower():
            raise InputError(
                f"--unmanaged-service {name!r}: use lower-case letters, digits and dashes, starting with a letter"
            )
        if name in keys:
            raise InputError(f"--unmanaged-service {name!r}: the stack's own service has that name; choose another")
    if ready_wait not in ("continue", "manual"):
        raise InputError(f"--ready-wait {ready_wait!r}: must be continue or manual")
    if ready_wait_minutes is not None and ready_wait != "manual":
        raise InputError("--ready-wait-minutes goes with --ready-wait manual")
    stack = process.StackOptions(
        region=region,
        project_root=project_root,
        services=keys,
        test_listener_url=test_listener_url,
        engines=engines,
        unmanaged=extra,
        ready_wait_minutes=(DEFAULT_READY_WAIT_MINUTES if ready_wait_minutes is None else ready_wait_minutes)
        if ready_wait == "manual"
        else None,
    )
    process.validate_stack(stack)  # before the lock and before anything starts
    with process.locked():
        _up_locked(process, port, time_scale, stack)


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


def _up_locked(process: Any, port: int, time_scale: float | None, stack: Any) -> None:
    found = process.find()
    if found.running and found.info is not None:
        _echo(f"sandbox already running (pid {found.info.pid}) at {found.info.endpoint}")
        _echo("stop it first with `orchestrator sandbox down` to start a fresh one")
        return
    if found.stale and found.info is not None:
        process.remove_state()
        _echo(f"removed stale sandbox state (pid {found.info.pid} is not a running sandbox)")
    if time_scale is None:
        from orchestrator.sandbox.clock import default_time_scale

        time_scale = default_time_scale()
    info = process.start(port or None, time_scale, stack)
    _echo(f"sandbox running (pid {info.pid}) at {info.endpoint}, time scale {info.time_scale:g}")
    _echo(f"  stack: {', '.join(stack.services)} in {info.region}; outputs in {process.outputs_path()}")
    for name in stack.unmanaged:
        _echo(f"  unmanaged service: {name} in cluster demo (rolling, no load balancer; not in the outputs)")
    if stack.ready_wait_minutes is not None:
        _echo(
            f"  ready wait: manual (STOP_DEPLOYMENT, {stack.ready_wait_minutes} min): "
            "a release waits in Ready until `orchestrator approve --sandbox`"
        )
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
    _print_status(doc, found)


def _print_status(doc: dict[str, Any], found: Any) -> None:
    """`sandbox status` as lines."""
    info = found.info
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
    deployment_keys = (
        "fail_at",
        "message",
        "unhealthy",
        "health_reason",
        "health_code",
        "crash_exit_code",
        "crash_log",
    )
    unscoped = group_faults_line({k: faults.get(k) for k in deployment_keys})
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


command(app)(fault)


@command(app, "seed-history")
def seed_history(
    group: Annotated[
        str,
        typer.Option(
            "--group",
            metavar="NAME",
            help="The deployment group (the outputs' codedeploy_deployment_group_name).",
        ),
    ],
    count: Annotated[
        int, typer.Option("--count", metavar="N", help="Finished deployments to add to its history (1-5000).")
    ],
) -> None:
    """Add N finished deployments, with their revisions, to a deployment group's history at once
    (benchmarks: what a release costs with a long history), without running the engine's clock."""
    from orchestrator.errors import AwsRefused, InputError
    from orchestrator.sandbox import process
    from orchestrator.sandbox.control import ControlError, SandboxControl

    if not 1 <= count <= MAX_SEEDED:
        raise InputError(f"--count {count}: must be between 1 and {MAX_SEEDED}")
    found = process.find()
    if found.info is None or not found.running:
        raise InputError("the sandbox is not running", hint="start it with `orchestrator sandbox up`")
    control = SandboxControl(found.info.endpoint, timeout=120.0)
    try:
        known = control.groups()
        if group not in known:
            raise InputError(
                f"--group {group!r}: no such deployment group in the sandbox; groups: {', '.join(known) or 'none'}"
            )
        done = control.seed_history(group, count)
    except ControlError as exc:
        import urllib.error

        if isinstance(exc.__cause__, urllib.error.HTTPError):  # the sandbox refused (an active deployment)
            raise InputError(f"sandbox seed-history: {exc}") from exc
        raise AwsRefused(f"cannot reach the sandbox control endpoint at {found.info.endpoint}: {exc}") from exc
    _echo(f"seeded {done['seeded']} finished deployments on {group} ({done['first']} .. {done['last']})")

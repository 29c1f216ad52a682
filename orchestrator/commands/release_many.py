"""`release` and `deploy` for several services (--service repeated, --all): validate every service, then
run their plans together (orchestrator/fleet.py). Imported only when a command names several services.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.plan import ReleasePlan
    from orchestrator.report import Reporter
    from orchestrator.target import Target

# `web=repo/web:tag`: a service key (the outputs' keys: lower-case letters, digits, - and _) before "=".
_KEYED = re.compile(r"^([a-z][a-z0-9_-]*)=(.+)$")


@dataclass(frozen=True)
class Many:
    """What the command was given, besides where and how to follow."""

    command: str  # release | deploy
    images: list[str]
    taskdef: Path | None
    appspec: Path | None
    container: str | None
    container_env: Any
    prerendered: Path | None  # deploy: the directory render --out-dir wrote
    build: bool
    pre_tasks: list[str]


def image_for(values: list[str], keys: list[str]) -> dict[str, str | None]:
    """Each service's --image: `KEY=URI` for one service, a bare URI for every service (a monorepo
    image); a service named by neither gets None (its template's ${image} must then be set otherwise)."""
    from orchestrator.errors import InputError

    common: str | None = None
    per: dict[str, str] = {}
    for value in values:
        m = _KEYED.match(value)
        if m and "/" not in m.group(1):
            key, uri = m.groups()
            if key not in keys:
                raise InputError(
                    f"--image {value}: {key!r} is not a service of this command ({', '.join(keys)})",
                    hint="use --image KEY=URI with one of those keys, or --image URI for every service",
                )
            if key in per:
                raise InputError(f"--image {value}: service {key!r} already has an image ({per[key]})")
            per[key] = uri
        elif common is not None:
            raise InputError(
                f"--image {value}: a second image for every service (the first: {common})",
                hint="give one image per service as --image KEY=URI",
            )
        else:
            common = value
    return {key: per.get(key, common) for key in keys}


def run_many(
    many: Many,
    *,
    deployment_config: str | None,
    wait_until: str,
    no_wait: bool,
    timeout: float | None,
    dry_run: bool,
    where: tuple[Path, str | None, Path | None, bool],
    services: tuple[list[str], bool],
    output: str,
    policy: tuple[str, bool, bool, str],
    fleet: tuple[int, bool],
    show_values: bool,
    notify: list[str],
) -> None:
    """Validate every service, plan each, then run them together (or only describe them: --dry-run)."""
    from orchestrator.aws import as_refusal
    from orchestrator.commands.common import reporter, target_args
    from orchestrator.deployment import UNTIL_CHOICES
    from orchestrator.errors import InputError, Interrupted, OrchestratorError
    from orchestrator.events import FleetStarted, Message, Validated, for_service
    from orchestrator.executor import Executor
    from orchestrator.fleet import Fleet, FleetFailed, FleetOptions
    from orchestrator.interrupts import sigterm_as_interrupt
    from orchestrator.notify import notify_urls, with_notify
    from orchestrator.policy import ReleasePolicy
    from orchestrator.result import CommandResult
    from orchestrator.servicefiles import files_for
    from orchestrator.target import resolve_targets

    names, every = services
    max_parallel, atomic = fleet
    urls = notify_urls(notify)
    # Checked before the reporter exists: bad options are exit 2 with nothing sent or written.
    if many.pre_tasks:
        raise InputError(
            "--pre-task runs with one service's task definition; with several services release that service "
            "alone with --pre-task first",
        )
    if many.build:
        raise InputError(
            "--build builds one service's image; with several services build first (`orchestrator build "
            "--service KEY`) and pass --image KEY=URI",
        )
    if many.container:
        raise InputError("--container names one service's container; with several services it cannot apply")
    if no_wait and max_parallel:
        raise InputError("--max-parallel needs to follow the deployments; drop --no-wait or --max-parallel")
    if wait_until not in UNTIL_CHOICES:
        raise InputError(f"--wait-until {wait_until!r} is not one of {', '.join(UNTIL_CHOICES)}")
    if no_wait and wait_until != "complete":
        raise InputError("--no-wait and --wait-until exclude each other")
    release_policy = ReleasePolicy(*policy)
    release_policy.validate()
    rep = with_notify(reporter(output), urls)
    command = many.command
    result: dict[str, Any] = {"dry_run": dry_run} if dry_run else {}
    runner: Fleet | None = None
    try:
        with sigterm_as_interrupt():
            try:
                targets = resolve_targets(*where, names, every)
                base = targets[0]
                keys = [t.service_key for t in targets]
                files = files_for(keys, taskdef=many.taskdef, appspec=many.appspec)
                images = image_for(many.images, keys)
                again = target_args(*where, None)
                follow_command = " ".join(p for p in ("orchestrator status", again, "--all") if p)
                result["services"] = {k: {} for k in keys}
                rep.emit(FleetStarted(command, tuple(keys), max_parallel=max_parallel, atomic=atomic))
                for name in ("ecs", "codedeploy", "elbv2", "ecr"):  # made before worker threads share them
                    base.aws.client(name)
                with ThreadPoolExecutor(max_workers=min(8, len(targets))) as pool:
                    futures = [
                        pool.submit(
                            _plan_one,
                            many,
                            t,
                            files[t.service_key],
                            images[t.service_key],
                            for_service(rep, t.service_key),
                            deployment_config=deployment_config,
                            wait_until=wait_until,
                            no_wait=no_wait,
                            timeout=timeout,
                        )
                        for t in targets
                    ]
                    outcomes = [f.exception() or f.result() for f in futures]
                for key, outcome in zip(keys, outcomes, strict=True):
                    if isinstance(outcome, OrchestratorError):
                        raise type(outcome)(f"{key}: {outcome.message}", hint=outcome.hint) from None
                    if isinstance(outcome, BaseException):
                        raise outcome
                plans: list[tuple[Target, ReleasePlan]] = [o for o in outcomes if not isinstance(o, BaseException)]
                for target, plan in plans:
                    result["services"][target.service_key] = {
                        "image": plan.image,
                        "deployment_config": plan.preflight.config_name,
                    }
                    for_service(rep, target.service_key).emit(
                        Validated(plan.preflight.checks, plan.preflight.config_name, _budget(plan))
                    )
                if dry_run:
                    from orchestrator.commands.release import _live_taskdef, mask_environment
                    from orchestrator.plan import describe_plan

                    for target, plan in plans:
                        live = _live_taskdef(target, plan.preflight.live_task_definition_arn)
                        mask_environment(live)
                        for_service(rep, target.service_key).emit(describe_plan(plan, live, show_values=show_values))
                    result["status"] = "DryRun"
                    result["message"] = f"dry run of {len(plans)} services, nothing was written"
                else:
                    runner = Fleet.prepare(
                        command,
                        base.aws,
                        rep,
                        plans,
                        FleetOptions(max_parallel=max_parallel, atomic=atomic, no_wait=no_wait),
                        again,
                        lambda r: Executor(base.aws, r, follow_command=follow_command),
                    )
                    result.update(runner.run(release_policy))
                    if no_wait:
                        result["message"] = (
                            f"{len(plans)} deployments created, not followed; follow them with `{follow_command}`"
                        )
                    elif atomic and result.get("status") == "Succeeded":
                        rep.emit(Message(f"all {len(plans)} services released"))
            except KeyboardInterrupt:
                written = runner is not None and any(r.task_definition_arn for r in runner.releases)
                raise Interrupted("interrupted" if written else "interrupted before anything was written") from None
            except FleetFailed:
                raise
            except Exception as exc:
                refused = as_refusal(exc)
                if refused is None:
                    raise
                raise refused from exc
    except FleetFailed as exc:
        result.update(exc.fields)
        rep.emit(CommandResult.failed(command, exc, result).summary())
        rep.close()
        raise
    except OrchestratorError as exc:
        if runner is not None:
            result.update(runner.result(result.get("status") or "Failed"))
            result.pop("status", None)
        rep.emit(CommandResult.failed(command, exc, result).summary())
        rep.close()
        raise
    except BaseException:
        rep.close()
        raise
    rep.emit(CommandResult(command, fields=result).summary())
    rep.close()


def _budget(plan: ReleasePlan) -> float:
    from orchestrator.plan import WaitForDeployment

    wait = next((s for s in plan.steps if isinstance(s, WaitForDeployment)), None)
    return wait.timeout if wait else 0.0


def _plan_one(
    many: Many,
    target: Target,
    files: Any,
    image: str | None,
    rep: Reporter,
    *,
    deployment_config: str | None,
    wait_until: str,
    no_wait: bool,
    timeout: float | None,
) -> tuple[Target, ReleasePlan]:
    """One service's checks and plan (read-only): render, AppSpec, the AWS wiring, the wait budget."""
    from orchestrator import appspec as appspec_mod
    from orchestrator.build import ecr_image_commit
    from orchestrator.commands.release import mask_environment
    from orchestrator.deployment import default_timeout
    from orchestrator.errors import InputError
    from orchestrator.events import Message
    from orchestrator.plan import build_plan, image_commit
    from orchestrator.runtask import poll_interval
    from orchestrator.taskdef import image_of, load_and_render, load_prerendered, placeholder_values
    from orchestrator.validate import preflight

    if many.prerendered is not None:
        path = many.prerendered / f"{target.service_key}.json"
        if not many.prerendered.is_dir():
            raise InputError(
                f"{many.prerendered}: not a directory; with several services deploy takes the directory "
                "`orchestrator render --out-dir DIR` wrote",
            )
        if not path.exists():
            raise InputError(f"{path}: no such file", hint="render it with `orchestrator render --all --out-dir DIR`")
        rendered = load_prerendered(path)
    else:
        rendered = load_and_render(
            files.taskdef, target.outputs, target.service, image=image, container=None, container_env=many.container_env
        )
    mask_environment(rendered.taskdef)
    hook_values = placeholder_values(target.outputs, target.service, None)
    spec = appspec_mod.load_and_validate(files.appspec, rendered.taskdef, hook_values)
    for note in spec.notes:
        rep.emit(Message(note))
    pre = preflight(target.aws, target.service, deployment_config)
    released = rendered.image or image_of(rendered.taskdef, spec.container_name)
    commit = image_commit(released) or ecr_image_commit(target.aws, released)
    hooks = len(spec.doc.get("Hooks") or [])
    budget = float(timeout) if timeout else default_timeout(pre.group, pre.config, wait_until, hooks)
    plan = build_plan(
        many.command,
        target.outputs.aws_region,
        target.service,
        rendered,
        spec,
        pre,
        deployment_config=deployment_config,
        until=wait_until,
        no_wait=no_wait,
        timeout=budget,
        time_scale=target.time_scale or 1.0,
        commit=commit,
        poll_s=poll_interval(target.time_scale),
    )
    return target, plan

"""Prepare a release of one service or many: render, validate and plan each one, writing nothing.

`prepare(targets, request, reporter)` is the same code for `release --service web` and `release --all`:
each service goes through `prepare_one` (render the task definition, check the AppSpec and the AWS
wiring, build the image with --build, compute the wait budget, build the plan). Several services are
prepared in parallel, each reporting through its own service reporter; an error names its service.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator import appspec as appspec_mod
from orchestrator.aws import refusals
from orchestrator.build import build_for_target, ecr_image_commit
from orchestrator.deployment import default_timeout
from orchestrator.ecs_read import without_empty
from orchestrator.engines.select import engine_for
from orchestrator.errors import InputError, OrchestratorError
from orchestrator.events import Message, Validated, for_service
from orchestrator.images import image_commit
from orchestrator.plan import ReleasePlan, WaitForDeployment, build_plan
from orchestrator.runtask import RunSpec, check_container, poll_interval, service_run_spec
from orchestrator.servicefiles import ServiceFiles, files_for
from orchestrator.taskdef import (
    Rendered,
    image_of,
    load_and_render,
    load_prerendered,
    placeholder_values,
    strip_read_only,
)
from orchestrator.validate import preflight

if TYPE_CHECKING:
    from orchestrator.events import Reporter
    from orchestrator.release.request import ReleaseRequest
    from orchestrator.target import Target

# `web=repo/web:tag`: a service key (the outputs' keys: lower-case letters, digits, - and _) before "=".
_KEYED = re.compile(r"^([a-z][a-z0-9_-]*)=(.+)$")
# Services checked at once (boto3 clients are thread-safe; the SDK retries throttling).
WORKERS = 8


@dataclass(frozen=True)
class Prepared:
    """One service's checked plan, and the reporter its events go through."""

    target: Target
    plan: ReleasePlan
    reporter: Reporter

    @property
    def key(self) -> str:
        return self.target.service_key

    @property
    def budget(self) -> float:
        wait = next((s for s in self.plan.steps if isinstance(s, WaitForDeployment)), None)
        return wait.timeout if wait else 0.0


def image_for(values: list[str] | tuple[str, ...], keys: list[str]) -> dict[str, str | None]:
    """Each service's --image: `KEY=URI` for one service, a bare URI for every service (a monorepo
    image); a service named by neither gets None (its template's ${image} must then be set otherwise)."""
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


def prepare(targets: list[Target], request: ReleaseRequest, reporter: Reporter) -> list[Prepared]:
    """Every service's checks and plan (read-only but for --build's push, which comes after the checks).
    Emits each service's Validated once every service is prepared."""
    keys = [t.service_key for t in targets]
    source = request.source
    files = files_for(keys, taskdef=source.taskdef, appspec=source.appspec)
    images = image_for(source.images, keys)
    if not request.several:
        target = targets[0]
        prepared = [prepare_one(target, request, files[target.service_key], images[target.service_key], reporter)]
    else:
        for name in ("ecs", "codedeploy", "elbv2", "ecr"):  # made before worker threads share them
            targets[0].aws.client(name)
        with ThreadPoolExecutor(max_workers=min(WORKERS, len(targets))) as pool:
            futures = [
                pool.submit(
                    prepare_one,
                    t,
                    request,
                    files[t.service_key],
                    images[t.service_key],
                    for_service(reporter, t.service_key),
                )
                for t in targets
            ]
            outcomes = [f.exception() or f.result() for f in futures]
        for key, outcome in zip(keys, outcomes, strict=True):
            if isinstance(outcome, OrchestratorError):
                raise type(outcome)(f"{key}: {outcome.message}", hint=outcome.hint) from None
            if isinstance(outcome, BaseException):
                raise outcome
        prepared = [o for o in outcomes if isinstance(o, Prepared)]
    for one in prepared:
        pre = one.plan.preflight
        one.reporter.emit(Validated(pre.checks, pre.config_name, one.budget))
    return prepared


def prepare_one(
    target: Target, request: ReleaseRequest, files: ServiceFiles, image: str | None, rep: Reporter
) -> Prepared:
    """One service: render, AppSpec, the AWS wiring, --build, the wait budget, the plan."""
    engine_for(target.service, target.service_key)  # an engine this version cannot drive: exit 2 here
    build = request.build if not request.dry_run else None
    # Before the build, checks run against a stand-in for the image the build will push.
    stand_in = f"{target.service.ecr_repository_url}:to-be-built" if request.build is not None else None
    rendered = _render(target, request, files, image or stand_in)
    request.mask(rendered.taskdef)
    # The AppSpec's hooks may name outputs-contract functions (${smoke_test_function_name}).
    hook_values = placeholder_values(target.outputs, target.service, None)
    spec = appspec_mod.load_and_validate(files.appspec, rendered.taskdef, hook_values)
    for note in spec.notes:
        rep.emit(Message(note))
    pre = preflight(target.aws, target.service, request.deployment_config)
    run_spec = _pre_task_spec(target, rendered) if request.gates.pre_tasks else None
    commit: str | None = None
    if build is not None:
        # The push is the first write, so it comes only after every check above has passed.
        built = build_for_target(target, rep, mask=request.mask_value, context=build.context, builder=build.builder)
        commit = built.git_sha  # the commit the image was built (and labelled) from
        rendered = _render(target, request, files, built.image)
        spec = appspec_mod.load_and_validate(files.appspec, rendered.taskdef, hook_values)
    if commit is None:
        # The image's own commit: its tag, else the tags ECR holds for it (checkout: last).
        released = rendered.image or image_of(rendered.taskdef, spec.container_name)
        commit = image_commit(released) or ecr_image_commit(target.aws, released)
    hooks = len(spec.doc.get("Hooks") or [])
    wait = request.wait
    budget = float(wait.timeout) if wait.timeout else default_timeout(pre.group, pre.config, wait.until, hooks)
    plan = build_plan(
        request.command,
        target.outputs.aws_region,
        target.service,
        rendered,
        spec,
        pre,
        deployment_config=request.deployment_config,
        until=wait.until,
        no_wait=wait.no_wait,
        timeout=budget,
        time_scale=target.time_scale,
        commit=commit,
        pre_tasks=request.gates.pre_tasks,
        run_spec=run_spec,
        pre_task_timeout=request.gates.pre_task_timeout,
        poll_s=poll_interval(target.time_scale),
    )
    return Prepared(target, plan, rep)


def _render(target: Target, request: ReleaseRequest, files: ServiceFiles, image: str | None) -> Rendered:
    source = request.source
    if source.prerendered is not None:
        return load_prerendered(_prerendered_path(source.prerendered, target.service_key, request.several))
    return load_and_render(
        files.taskdef,
        target.outputs,
        target.service,
        image=image,
        container=source.container,
        container_env=dict(source.container_env),
    )


def _prerendered_path(given: Path, key: str, several: bool) -> Path:
    """deploy FILE with one service; with several, the directory `render --out-dir` wrote (DIR/<key>.json)."""
    if not several:
        return given
    if not given.is_dir():
        raise InputError(
            f"{given}: not a directory; with several services deploy takes the directory "
            "`orchestrator render --out-dir DIR` wrote",
        )
    path = given / f"{key}.json"
    if not path.exists():
        raise InputError(f"{path}: no such file", hint="render it with `orchestrator render --all --out-dir DIR`")
    return path


def _pre_task_spec(target: Target, rendered: Rendered) -> RunSpec:
    """Where pre-tasks run (the service's network and launch settings); checks the container exists."""
    check_container(rendered.taskdef, target.service.container_name, rendered.source)
    return service_run_spec(target.aws, target.service.cluster_name, target.service.service_name)


def live_taskdef(target: Target, arn: str | None) -> dict[str, Any] | None:
    """The live task definition, as register would take it, for the dry run's diff."""
    if not arn:
        return None

    with refusals():
        td = target.aws.client("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
    # describe fills in defaults that nobody wrote; keep only what a template would carry.
    return without_empty(strip_read_only(td, arn))

"""Run prepared releases: the one entry point of `release` and `deploy` after the checks.

`release(targets, request, reporter, lines, outcome)` prepares every service (orchestrator.release.prepare)
and then, for --dry-run, describes each plan; otherwise it applies the release policies and runs the
plans. A release of one service (`--service web`) runs its plan through the executor and the single
watcher, so that its output is the one documented for one service; several services (`--all`, or
`--service` repeated) run together under orchestrator.fleet (one poller, --max-parallel, --atomic).
Either way `outcome.fields` fills in as the release goes, so a failure's summary carries what was done.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from orchestrator.errors import Interrupted, OrchestratorError
from orchestrator.events import FleetStarted, Message
from orchestrator.executor import Executor
from orchestrator.fleet import Fleet, FleetFailed
from orchestrator.nextsteps import CommandLines, Next
from orchestrator.plan import describe_plan
from orchestrator.policy import run_release
from orchestrator.release.prepare import Prepared, live_taskdef, prepare
from orchestrator.release.request import NextStep, OutcomeStatus, ReleaseOutcome

if TYPE_CHECKING:
    from orchestrator.events import Reporter
    from orchestrator.release.request import ReleaseRequest
    from orchestrator.target import Target


def release(
    targets: list[Target],
    request: ReleaseRequest,
    reporter: Reporter,
    lines: CommandLines,
    outcome: ReleaseOutcome,
) -> ReleaseOutcome:
    """Prepare every service, then describe (--dry-run) or run the plans. Raises OrchestratorError (with
    `outcome.fields` holding what was done) when the release does not succeed."""
    fields = outcome.fields
    if request.dry_run:
        fields["dry_run"] = True
    keys = [t.service_key for t in targets]
    if request.several:
        fields["services"] = {k: {} for k in keys}
        fleet = request.fleet
        reporter.emit(FleetStarted(request.command, tuple(keys), max_parallel=fleet.max_parallel, atomic=fleet.atomic))
    else:
        fields["service"] = keys[0]
    try:
        prepared = prepare(targets, request, reporter)
    except KeyboardInterrupt:
        raise Interrupted("interrupted before anything was written") from None
    for one in prepared:
        data = {"image": one.plan.image, "deployment_config": one.plan.preflight.config_name}
        if request.several:
            fields["services"][one.key] = data
        else:
            fields.update(data, timeout_s=one.budget)
    if request.dry_run:
        return _dry_run(prepared, request, outcome)
    if request.several:
        return _run_together(prepared, request, reporter, lines, outcome)
    return _run_one(prepared[0], request, lines, outcome)


def _dry_run(prepared: list[Prepared], request: ReleaseRequest, outcome: ReleaseOutcome) -> ReleaseOutcome:
    for one in prepared:
        live = live_taskdef(one.target, one.plan.preflight.live_task_definition_arn)
        request.mask(live)
        one.reporter.emit(describe_plan(one.plan, live, show_values=request.show_values))
    outcome.status = OutcomeStatus.DRY_RUN
    several = f" of {len(prepared)} services" if request.several else ""
    outcome.message = f"dry run{several}, nothing was written"
    return outcome


def _run_one(one: Prepared, request: ReleaseRequest, lines: CommandLines, outcome: ReleaseOutcome) -> ReleaseOutcome:
    """One service: the policies, then its plan, followed by the single watcher."""
    executor = Executor(one.target.aws, one.reporter, lines=lines)
    # A failure's summary carries what the executor wrote (task definition, deployment id, status).
    outcome.on_failure = lambda exc: outcome.fields.update(executor.result)
    outcome.wrote = lambda: bool(executor.written)
    outcome.fields.update(run_release(request.policy, one.target, one.plan, executor, one.reporter))
    dep = outcome.fields.get("deployment_id")
    if outcome.fields.get("status") == OutcomeStatus.TRAFFIC_SHIFTED:
        # CI stops here; a later step reports the end (or ends the wait early).
        outcome.next_steps = [NextStep(Next.FOLLOW, dep), NextStep(Next.APPROVE_TERMINATION_WAIT, dep)]
        outcome.message = (
            f"production traffic is on the replacement; deployment {dep} ends after the termination wait: "
            f"follow it with `{lines.line(Next.FOLLOW)}`, "
            f"or end the wait now with `{lines.line(Next.APPROVE_TERMINATION_WAIT)}`"
        )
    if request.wait.no_wait and dep:
        made = "in progress (another release's)" if outcome.fields.get("reattached") else "created"
        outcome.next_steps = [NextStep(Next.FOLLOW, dep)]
        outcome.message = f"deployment {dep} {made}, not followed; follow it with `{lines.line(Next.FOLLOW)}`"
    return outcome


def _run_together(
    prepared: list[Prepared],
    request: ReleaseRequest,
    reporter: Reporter,
    lines: CommandLines,
    outcome: ReleaseOutcome,
) -> ReleaseOutcome:
    """Several services: the policies for all, the registrations, then the deployments under one poller."""
    base = prepared[0].target
    fleet = request.fleet
    options = replace(fleet, no_wait=request.wait.no_wait)
    runner = Fleet.prepare(
        request.command,
        base.aws,
        reporter,
        [(p.target, p.plan) for p in prepared],
        options,
        lines,
        lambda r: Executor(base.aws, r, lines=lines),
    )
    fields = outcome.fields

    def on_failure(exc: OrchestratorError) -> None:
        if isinstance(exc, FleetFailed):
            fields.update(exc.fields)
        else:
            fields.update(runner.result(fields.get("status") or "Failed"))
            fields.pop("status", None)

    outcome.on_failure = on_failure
    outcome.wrote = lambda: any(r.task_definition_arn for r in runner.releases)
    try:
        fields.update(runner.run(request.policy))
    except KeyboardInterrupt:
        written = any(r.task_definition_arn for r in runner.releases)
        raise Interrupted("interrupted" if written else "interrupted before anything was written") from None
    if request.wait.no_wait:
        outcome.next_steps = [NextStep(Next.STATUS, all_services=True)]
        follow = lines.line(Next.STATUS, all_services=True)
        outcome.message = f"{len(prepared)} deployments created, not followed; follow them with `{follow}`"
    elif fleet.atomic and outcome.fields.get("status") == "Succeeded":
        reporter.emit(Message(f"all {len(prepared)} services released"))
    return outcome

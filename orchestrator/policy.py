"""Release policies: what a release does when the group is busy, when the build is older than the one
running, and when the job running it is cancelled.

- `--if-active fail|wait|replace`: a deployment already holds the group. fail names it; wait follows it
  to its end, then deploys; replace stops it with rollback, follows the rollback, then deploys.
- Re-attach (always): when the active deployment deploys exactly what this release would (same AppSpec
  and an equal task definition), follow it instead of registering and deploying a copy.
- Older build: refuse to replace the running build with an older one unless `--force`. Commit order
  from `git merge-base --is-ancestor` when the repository has both commits, else deployment times.
- `--stop-on-cancel`: on Ctrl-C or SIGTERM stop the deployment with rollback and report it.
- `--on-timeout leave|stop`: when the wait runs out, leave the deployment running (default) or stop it
  with rollback, follow the rollback and exit 3 saying so.

The release command calls `run_release(policy, target, plan, executor, reporter)` in place of
`executor.execute(plan)`; nothing here writes before the policy checks pass.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.appspec import content
from orchestrator.arns import short_arn
from orchestrator.aws import error_code, error_message, refusals
from orchestrator.description import DeploymentDescription
from orchestrator.ecs_read import serving_task_definition, without_empty
from orchestrator.engines.codedeploy.vocabulary import LIMIT_EXCEEDED
from orchestrator.engines.ecs.engine import is_service_deployment
from orchestrator.engines.select import engine_for
from orchestrator.errors import DeploymentFailed, InputError, Interrupted
from orchestrator.events import ActiveDeploymentFound, Message
from orchestrator.history import (
    DeploymentRecord,
)
from orchestrator.interrupts import sigterm_as_interrupt
from orchestrator.operations import follow, stop
from orchestrator.plan import CreateDeployment, WaitForDeployment, bind, reattach
from orchestrator.revisions import deployment_appspec
from orchestrator.status import running_task_definition
from orchestrator.taskdef_compare import same_task_definition
from orchestrator.writes import find_deployment

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.contract import ServiceOutputs
    from orchestrator.events import Reporter
    from orchestrator.executor import Executor
    from orchestrator.plan import ReleasePlan
    from orchestrator.target import Target

IF_ACTIVE_CHOICES = ("fail", "wait", "replace")
ON_TIMEOUT_CHOICES = ("leave", "stop")
# A second release that loses the race to create_deployment retries the policy this many times.
MAX_RACES = 5
# Where to look for a deployment of this release before deregistering its task definition.
OWN_DEPLOYMENT_WINDOW = timedelta(hours=1)


class ActiveDeploymentError(DeploymentFailed):
    """--if-active fail met a deployment in progress (exit 1; nothing was written)."""


class OlderBuildError(InputError):
    """The build being released is older than the one running (exit 2; nothing was written)."""


@dataclass(frozen=True)
class ReleasePolicy:
    if_active: str = "fail"
    force: bool = False
    stop_on_cancel: bool = False
    on_timeout: str = "leave"
    repo_dir: Path | None = None  # where to look for the commits (default: the working directory)

    def validate(self) -> None:
        if self.if_active not in IF_ACTIVE_CHOICES:
            raise InputError(f"--if-active {self.if_active!r} is not one of {', '.join(IF_ACTIVE_CHOICES)}")
        if self.on_timeout not in ON_TIMEOUT_CHOICES:
            raise InputError(f"--on-timeout {self.on_timeout!r} is not one of {', '.join(ON_TIMEOUT_CHOICES)}")


# --- build order -------------------------------------------------------------------------------


def _git(repo_dir: Path | None, *args: str) -> int:
    try:
        return subprocess.run(["git", *args], cwd=repo_dir, capture_output=True, timeout=10, check=False).returncode
    except (OSError, subprocess.TimeoutExpired):
        return -1


def commit_order(new: str, running: str, repo_dir: Path | None = None) -> str | None:
    """'older', 'newer', 'same' or 'diverged' by the repository's history; None when it lacks a commit."""
    if new == running or new.startswith(running) or running.startswith(new):
        return "same"
    for sha in (new, running):
        if _git(repo_dir, "cat-file", "-e", f"{sha}^{{commit}}") != 0:
            return None
    if _git(repo_dir, "merge-base", "--is-ancestor", new, running) == 0:
        return "older"
    if _git(repo_dir, "merge-base", "--is-ancestor", running, new) == 0:
        return "newer"
    return "diverged"


def _deployed_at(history: list[DeploymentRecord], sha: str) -> DeploymentRecord | None:
    """The newest deployment that succeeded with this build."""
    return next(
        (
            r
            for r in history
            if r.git_sha and (r.git_sha.startswith(sha) or sha.startswith(r.git_sha)) and r.status == "Succeeded"
        ),
        None,
    )


def running_build(history: list[DeploymentRecord], running_task_definition: str | None) -> DeploymentRecord | None:
    """The deployment that put the running task definition in place (else the newest success)."""
    successes = [r for r in history if r.status == "Succeeded"]
    return next((r for r in successes if r.task_definition == running_task_definition), None) or (
        successes[0] if successes else None
    )


# Registered "since": allow for clock skew between us and AWS (as orchestrator.writes does).
SKEW = timedelta(minutes=2)


def _since(aws: Aws, task_definition: str | None) -> tuple[datetime, dict[str, Any]]:
    """Where the build-order lookups start: when `task_definition` was registered (the deployment that
    put it in place came after), else a day ago; and the task definition as described. The cost is the
    deployments made since: one in the usual case, whatever the length of the group's history."""
    td: dict[str, Any] = {}
    if task_definition:
        ecs = aws.client("ecs")
        try:
            td = ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
        except ecs.exceptions.ClientException:
            # A revision registered moments ago may not be readable yet (ECS reads are eventually
            # consistent): look a day back instead, at the same bounded cost.
            td = {}
    registered = td.get("registeredAt")
    if isinstance(registered, datetime):
        return registered - SKEW, td
    return datetime.now(UTC) - timedelta(days=1), td


def running_build_since(
    aws: Aws, svc: ServiceOutputs, running_td: str | None
) -> tuple[DeploymentRecord | None, list[DeploymentRecord]]:
    """(the deployment that put the running task definition in place, the successes read to find it).

    Only the successes created since that revision was registered are read, each from its description
    (image and git SHA): the one whose image is the running revision's, else the newest; None when
    there is none (the check is then skipped, as with no history)."""
    since, td = _since(aws, running_td)
    recent = engine_for(svc).succeeded_since(aws, svc, since)
    containers = td.get("containerDefinitions") or [{}]
    image = next((c for c in containers if c.get("name") == svc.container_name), containers[0]).get("image")
    match = next((r for r in recent if image and r.image == image), None)
    return match or (recent[0] if recent else None), recent


def check_build_order(
    new_sha: str | None,
    against: DeploymentRecord | None,
    history: list[DeploymentRecord],
    reporter: Reporter,
    *,
    what: str = "running",
    repo_dir: Path | None = None,
) -> None:
    """Raise OlderBuildError when `new_sha` is older than the build of `against`."""
    if against is None or not against.git_sha:
        return
    if not new_sha:
        reporter.emit(Message(f"no git SHA for this build: cannot compare it with the {what} one", level="warning"))
        return
    order = commit_order(new_sha, against.git_sha, repo_dir)
    how = "commit order"
    if order is None:
        # The repository lacks a commit (shallow CI clone, another repo): the deployment times decide.
        how = "deployment times"
        earlier = _deployed_at(history, new_sha)
        order = (
            "older"
            if earlier and against.created and earlier.created and earlier.created < against.created
            else "newer"
        )
    if order == "older":
        raise OlderBuildError(
            f"refusing to replace the {what} build {against.git_sha[:12]} (deployment {against.deployment_id}) "
            f"with the older build {new_sha[:12]} (by {how})",
            hint="pass --force to deploy it anyway",
        )
    if order == "diverged":
        reporter.emit(
            Message(
                f"build {new_sha[:12]} and the {what} build {against.git_sha[:12]} are on diverged branches",
                level="warning",
            )
        )


# --- re-attach ---------------------------------------------------------------------------------


def identical_deployment(aws: Aws, active: DeploymentRecord, plan: ReleasePlan) -> bool:
    """The active deployment's AppSpec equals ours with its task definition, and that task definition
    equals the one we would register."""

    if not active.task_definition:
        return False
    if is_service_deployment(active.deployment_id):  # the ECS engine: no AppSpec, the task definition says it
        return same_task_definition(aws, active.task_definition, plan.rendered.taskdef)

    ours = plan.appspec.with_task_definition(active.task_definition)
    theirs = deployment_appspec(aws, active.deployment_id)
    _, our_sha = content(ours)
    if active.appspec_sha256 != our_sha and without_empty(theirs, blank_strings=True) != without_empty(
        ours, blank_strings=True
    ):
        return False
    return same_task_definition(aws, active.task_definition, plan.rendered.taskdef)


# --- the active-deployment policy --------------------------------------------------------------


def _where(svc: ServiceOutputs) -> str:
    if svc.deployment_engine == "ecs":
        return f"{svc.cluster_name}/{svc.service_name}"
    return f"{svc.codedeploy_app_name}/{svc.codedeploy_deployment_group_name}"


@dataclass(frozen=True)
class Decision:
    reattach: DeploymentRecord | None = None


def _plan_timeout(plan: ReleasePlan) -> float:

    wait = next((s for s in plan.steps if isinstance(s, WaitForDeployment)), None)
    return wait.timeout if wait else 3600.0


def before_create(
    policy: ReleasePolicy, aws: Aws, svc: ServiceOutputs, plan: ReleasePlan, reporter: Reporter
) -> Decision:
    """Apply --if-active, re-attach and the build-order check; return once the group is free (or with
    the deployment to re-attach to). Writes nothing unless --if-active replace stops a deployment."""

    engine = engine_for(svc)
    new_sha = plan.git_sha
    timeout = _plan_timeout(plan)
    if not new_sha and not policy.force:
        reporter.emit(Message("no git SHA for this build: the older-build check is skipped", level="warning"))
    check_order = bool(new_sha) and not policy.force
    first = True
    while True:
        with refusals():
            active = engine.active(aws, svc)
        if active is None:
            if check_order:
                with refusals():
                    # The preflight read the service a moment ago; after a wait (--if-active) read it again.
                    running_td = (
                        serving_task_definition(plan.preflight.service)
                        if first and plan.preflight.service
                        else running_task_definition(aws, svc)
                    )
                    against, recent = running_build_since(aws, svc, running_td)
                check_build_order(new_sha, against, recent, reporter, repo_dir=policy.repo_dir)
            return Decision()
        with refusals():
            identical = identical_deployment(aws, active, plan)
        if identical:
            reporter.emit(
                ActiveDeploymentFound(
                    active.deployment_id,
                    active.status,
                    policy.if_active,
                    "reattach",
                    "it deploys this very AppSpec and task definition; following it",
                )
            )
            return Decision(reattach=active)
        if policy.if_active == "fail":
            reporter.emit(ActiveDeploymentFound(active.deployment_id, active.status, policy.if_active, "fail"))
            raise ActiveDeploymentError(
                f"deployment {active.deployment_id} ({active.status}, "
                f"{short_arn(active.task_definition, '?')}) is in progress in {_where(svc)}; nothing was written",
                hint="--if-active wait to deploy after it, --if-active replace to stop it and deploy",
            )
        if policy.if_active == "wait":
            reporter.emit(
                ActiveDeploymentFound(
                    active.deployment_id, active.status, policy.if_active, "wait", "deploying after it ends"
                )
            )
            follow(aws, svc, active.deployment_id, reporter, timeout_s=timeout)
            first = False
            continue
        # replace
        if check_order:
            with refusals():
                recent = engine.succeeded_since(aws, svc, _since(aws, active.task_definition)[0])
            check_build_order(new_sha, active, recent, reporter, what="in-progress", repo_dir=policy.repo_dir)
        reporter.emit(
            ActiveDeploymentFound(
                active.deployment_id, active.status, policy.if_active, "replace", "stopping it with rollback"
            )
        )
        with contextlib.suppress(InputError):  # it ended by itself meanwhile: look again
            stop(aws, svc, reporter, rollback=True, deployment_id=active.deployment_id, timeout_s=timeout)
        first = False


def reattach_after_race(
    aws: Aws, svc: ServiceOutputs, plan: ReleasePlan, reporter: Reporter, registered: str | None
) -> Decision | None:
    """After losing the race at CreateDeployment: when the deployment that won deploys what this release
    would (the same AppSpec, an equal task definition), follow it under every --if-active, and
    deregister the revision this release registered unless that deployment uses it (a create refused
    with DeploymentLimitExceeded made no deployment of ours: nothing else can be using it). None when
    the winner is another change: --if-active decides."""
    with refusals():
        active = engine_for(svc).active(aws, svc)
        if active is None or not identical_deployment(aws, active, plan):
            return None
    reporter.emit(
        ActiveDeploymentFound(
            active.deployment_id,
            active.status,
            "any",
            "reattach",
            "another release started this very AppSpec and task definition meanwhile; following it",
        )
    )
    if registered and registered != active.task_definition:
        deregister_unused(aws, plan, registered, reporter)
    return Decision(reattach=active)


def run_release(
    policy: ReleasePolicy, target: Target, plan: ReleasePlan, executor: Executor, reporter: Reporter
) -> dict[str, Any]:
    """Apply the policies to the plan, then run it (only its wait and verify steps when re-attaching)."""

    def decide(plan: ReleasePlan) -> Decision:
        try:
            # A cancelled CI job (SIGTERM) while waiting for or replacing another deployment: a clean exit.
            with sigterm_as_interrupt():
                return before_create(policy, target.aws, target.service, plan, reporter)
        except KeyboardInterrupt:
            raise Interrupted("interrupted before this release wrote anything") from None

    plan = replace(plan, on_cancel="stop" if policy.stop_on_cancel else "leave", on_timeout=policy.on_timeout)
    decision = decide(plan)
    if decision.reattach is None:
        result, active = race(policy, target, plan, executor, reporter, decide)
        if active is None:
            return result
    else:
        active = decision.reattach
    return executor.execute(reattach(plan, active.deployment_id, active.task_definition))


def race(
    policy: ReleasePolicy,
    target: Target,
    plan: ReleasePlan,
    executor: Executor,
    reporter: Reporter,
    decide: Callable[[ReleasePlan], Decision],
) -> tuple[dict[str, Any], DeploymentRecord | None]:
    """The race loop, for one service or many: run `plan` (its steps that create the deployment); when
    another deployment took the group between the policy check and our create (DeploymentLimitExceeded,
    nothing of ours created), apply --if-active again. fail: deregister what this release registered and
    raise ActiveDeploymentError; wait/replace: `decide` again (it waits for the group or replaces what
    holds it), then retry with the registered task definition, or hand back the deployment to re-attach
    to. Returns (the executor's result, None) or ({}, the deployment to re-attach to)."""
    for _ in range(MAX_RACES):
        try:
            return executor.execute(plan), None
        except Exception as exc:
            cause = limit_exceeded(exc)
            written = executor.written
            if cause is None or "deployment_id" in written:
                raise
            # The winner deploys what we would (an identical release): follow it under every --if-active.
            won = reattach_after_race(target.aws, target.service, plan, reporter, written.get("task_definition_arn"))
            if won is not None and won.reattach is not None:
                return {}, won.reattach
            if policy.if_active == "fail":
                left, details = deregister_unused(target.aws, plan, written.get("task_definition_arn"), reporter)
                raise ActiveDeploymentError(
                    f"another deployment started meanwhile: {error_message(cause)}; {left}",
                    hint="--if-active wait to deploy after it",
                    details=details,
                ) from None
            if "task_definition_arn" in written:  # registered in the lost race: reuse it
                plan = bind(plan, task_definition_arn=written["task_definition_arn"])
            reporter.emit(Message("another deployment started meanwhile; applying --if-active again", "warning"))
            time.sleep(0.5)
            decision = decide(plan)
            if decision.reattach is not None:
                return {}, decision.reattach
    raise ActiveDeploymentError(f"lost the race for the deployment group {MAX_RACES} times")


def deregister_unused(aws: Aws, plan: ReleasePlan, arn: str | None, reporter: Reporter) -> tuple[str, dict[str, Any]]:
    """A release that lost the race at CreateDeployment leaves no unused revision behind: deregister the
    task definition it registered (DeregisterTaskDefinition marks it INACTIVE; nothing runs it) unless a
    deployment uses it after all. Says what it did, or names the revision left registered; and what the
    summary records."""

    if not arn:
        return "nothing was registered", {}
    try:
        user = deployment_using(aws, plan, arn)
        if user is None:
            aws.client("ecs").deregister_task_definition(taskDefinition=arn)
    except Exception as exc:  # the race is the error to report; name what is left
        return f"task definition {arn}, registered by this release, stays registered ({error_message(exc)})", {}
    if user is not None:
        reporter.emit(Message(f"kept {arn} registered: deployment {user} uses it", level="warning"))
        return f"task definition {arn} stays registered: deployment {user} uses it", {"task_definition_used_by": user}
    reporter.emit(Message(f"deregistered {arn}: registered by this release, never deployed"))
    return f"the task definition it registered ({arn}) was deregistered", {"task_definition_deregistered": True}


def deployment_using(aws: Aws, plan: ReleasePlan, arn: str) -> str | None:
    """The deployment that uses `arn`: one carrying this release's token (a CreateDeployment whose answer
    was lost may have created it), or the group's active one if its AppSpec names `arn`. A release never
    deregisters a task definition a deployment of its own uses."""

    create = next((s for s in plan.steps if isinstance(s, CreateDeployment)), None)
    token = DeploymentDescription.parse(create.params.get("description") if create else None).release
    svc = plan.service
    if token:
        since = datetime.now(UTC) - OWN_DEPLOYMENT_WINDOW
        found = find_deployment(aws, svc.codedeploy_app_name, svc.codedeploy_deployment_group_name, token, since)
        if found:
            return found
    active = engine_for(svc).active(aws, svc)
    return active.deployment_id if active is not None and active.task_definition == arn else None


def limit_exceeded(exc: BaseException) -> BaseException | None:
    """The DeploymentLimitExceededException behind `exc` (the executor wraps AWS's rejection), if any."""

    seen: BaseException | None = exc
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited:  # a cause chain may loop back on itself
        if error_code(seen) == LIMIT_EXCEEDED:
            return seen
        visited.add(id(seen))
        seen = seen.__cause__
    return None

"""Non-idempotent writes (RegisterTaskDefinition, CreateDeployment) that a lost answer cannot duplicate.

Neither call takes an idempotency token, and AWS may commit one and still answer HTTP 500 (or the answer
may be lost on the way). botocore's retries would then register a second revision or create a second
deployment (which CodeDeploy refuses while the first is active). So these calls go out on a client
without retries; after a retryable failure we first look for what the failed attempt may have done
(a deployment carrying this attempt's token in its description, a revision of the family registered
since we began with our content) and only retry when there is none.

Reads lag behind writes ("The Amazon ECS API follows an eventual consistency model"; describe with
backoff "up to a few minutes": AWS's eventual-consistency notes, see docs/operations.md), so one look
right after the failure may miss what it committed. The look is retried for a short budget before a
new attempt, and a retry that CodeDeploy refuses with DeploymentLimitExceeded (the group is held,
maybe by our own committed attempt) is not taken for a lost race until the deployment holding the
group is seen to be another's, or the lookup budget has passed.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from orchestrator.aws import error_code, error_message, retryable
from orchestrator.description import DeploymentDescription
from orchestrator.engines.codedeploy.vocabulary import LIMIT_EXCEEDED, UNKNOWN_DEPLOYMENT
from orchestrator.taskdef_compare import matches_rendered

if TYPE_CHECKING:
    from orchestrator.aws import Aws

T = TypeVar("T")

ATTEMPTS = 5
# Registered "since we began": allow for clock skew between us and AWS.
SKEW = timedelta(minutes=2)
# AWS seconds (scaled by the endpoint's clock). Before a new attempt, what a failed one committed is
# looked for this long (a second revision or a refused retry is the price of a lag beyond it) ...
LOOK_BEFORE_RETRY_S = 10.0
# ... and a retry refused because the group is held is not called a lost race before this: AWS's
# eventual-consistency notes advise describing with backoff up to a few minutes.
LOOKUP_BUDGET_S = 300.0
# A lost RegisterTaskDefinition answer's revision is among the family's newest few (only releases of
# the same family registering at the same moment come after it): the recovery reads no more.
NEWEST = 5


@dataclass(frozen=True)
class Lookup:
    """How long to look for what a failed attempt did (wall seconds), and how to pause between looks."""

    before_retry_s: float
    budget_s: float
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def scaled(cls, time_scale: float | None, sleep: Callable[[float], None] = time.sleep) -> Lookup:
        scale = time_scale or 1.0
        return cls(LOOK_BEFORE_RETRY_S * scale, LOOKUP_BUDGET_S * scale, sleep)

    def until(
        self, deadline: float, find: Callable[[], T | None], settled: Callable[[], bool] | None = None
    ) -> T | None:
        """Look (with backoff) until `find` finds it, `settled()` says it never will, or the deadline."""
        pause = min(0.5, self.budget_s / 20) or 0.01
        while True:
            found = find()
            if found is not None or (settled is not None and settled()):
                return found
            left = deadline - self.clock()
            if left <= 0:
                return None
            self.sleep(min(pause, left))
            pause = min(pause * 2, 8.0)


def _once(
    call: Callable[[], T],
    find: Callable[[], T | None],
    lookup: Lookup,
    held_by_another: Callable[[BaseException], bool] | None = None,
) -> tuple[T, bool]:
    """(the result, whether a failed attempt came first). After a retryable failure `find` looks for
    what that attempt may have done (for `lookup.before_retry_s`); only when it finds nothing is the
    call made again. A retry refused as a conflict (`held_by_another` given: it answers whether the
    holder is visibly another's) is looked into until the lookup budget has passed before it is raised."""
    deadline: float | None = None
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return call(), attempt > 1
        except Exception as exc:
            deadline = deadline or lookup.clock() + lookup.budget_s
            if attempt > 1 and held_by_another is not None and error_code(exc) == LIMIT_EXCEEDED:
                found = lookup.until(deadline, find, functools.partial(held_by_another, exc))
                if found is not None:
                    return found, True
                raise
            if not retryable(exc):
                raise
            last = attempt == ATTEMPTS
            found = lookup.until(deadline if last else lookup.clock() + lookup.before_retry_s, find)
            if found is not None:
                return found, True
            if last:
                raise
    raise AssertionError("unreachable")


def holder_of(exc: BaseException) -> str | None:
    """The deployment named by a DeploymentLimitExceededException ("... already has an active
    Deployment 'd-…'"), if its message names one."""
    match = re.search(r"\b(d-[A-Z0-9]{9})\b", error_message(exc))
    return match.group(1) if match else None


def create_deployment(aws: Aws, kwargs: dict[str, Any], lookup: Lookup | None = None) -> str:
    """CreateDeployment once. `kwargs["description"]` must carry a release_token()."""
    token = DeploymentDescription.parse(kwargs.get("description")).release
    if not token:
        raise ValueError("the deployment description needs a release=<token>")
    began = datetime.now(UTC)
    client = aws.client("codedeploy", retries=False)
    app, group = kwargs["applicationName"], kwargs["deploymentGroupName"]

    def call() -> str:
        return str(client.create_deployment(**kwargs)["deploymentId"])

    def held_by_another(exc: BaseException) -> bool:
        """The deployment holding the group is visible and is not this release's."""
        holder = holder_of(exc)
        if holder is None:
            return False
        try:
            info = aws.client("codedeploy").get_deployment(deploymentId=holder)["deploymentInfo"]
        except Exception as err:
            if error_code(err) in UNKNOWN_DEPLOYMENT:  # not visible yet: maybe ours
                return False
            raise
        return DeploymentDescription.parse(info.get("description")).release != token

    def find() -> str | None:
        return find_deployment(aws, app, group, token, began - SKEW)

    lookup = lookup or Lookup.scaled(getattr(aws, "time_scale", None))
    return _once(call, find, lookup, held_by_another)[0]


def find_deployment(aws: Aws, app: str, group: str, token: str, since: datetime) -> str | None:
    """The group's deployment created since `since` whose description carries this release token."""
    cd = aws.client("codedeploy")
    ids: list[str] = []
    pages = cd.get_paginator("list_deployments").paginate(
        applicationName=app, deploymentGroupName=group, createTimeRange={"start": since}
    )
    for page in pages:
        ids.extend(page.get("deployments") or [])
    for i in range(0, len(ids), 25):
        for info in cd.batch_get_deployments(deploymentIds=ids[i : i + 25]).get("deploymentsInfo") or []:
            if DeploymentDescription.parse(info.get("description")).release == token:
                return str(info["deploymentId"])
    return None


def register_task_definition(
    aws: Aws, taskdef: dict[str, Any], lookup: Lookup | None = None
) -> tuple[dict[str, Any], list[str]]:
    """RegisterTaskDefinition once: (the task definition, revisions of ours that retried calls left behind).

    The extras are revisions of the family registered since we began whose content is ours but that we
    do not use (a retry whose first attempt was committed after all); the caller reports them.
    """
    began = datetime.now(UTC)
    family = str(taskdef.get("family"))
    ecs = aws.client("ecs")
    client = aws.client("ecs", retries=False)

    described: dict[str, dict[str, Any]] = {}  # a revision is described once, whatever the retries

    def ours_since() -> list[dict[str, Any]]:
        """Revisions of the family registered since we began with our content, newest first: only the
        NEWEST ones are looked at."""
        arns = ecs.list_task_definitions(familyPrefix=family, sort="DESC", maxResults=NEWEST).get("taskDefinitionArns")
        # An endpoint that ignores maxResults and sort lists the whole family: newest revisions first.
        newest = sorted(arns or [], key=lambda a: int(a.rsplit(":", 1)[-1]) if a[-1:].isdigit() else 0, reverse=True)
        found = []
        for arn in newest[:NEWEST]:
            if arn not in described:
                described[arn] = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
            td = described[arn]
            registered = td.get("registeredAt")
            if isinstance(registered, datetime) and registered < began - SKEW:
                break
            if td.get("family") == family and matches_rendered(td, arn, taskdef):
                found.append(td)
        return found

    def call() -> dict[str, Any]:
        return dict(client.register_task_definition(**taskdef)["taskDefinition"])

    def find() -> dict[str, Any] | None:
        found = ours_since()
        return found[0] if found else None

    chosen, retried = _once(call, find, lookup or Lookup.scaled(getattr(aws, "time_scale", None)))
    extras: list[str] = []
    if retried:
        extras = [str(td["taskDefinitionArn"]) for td in ours_since()]
        extras = [arn for arn in extras if arn != chosen["taskDefinitionArn"]]
    return chosen, extras

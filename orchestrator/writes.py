"""Non-idempotent writes (RegisterTaskDefinition, CreateDeployment) that a lost answer cannot duplicate.

Neither call takes an idempotency token, and AWS may commit one and still answer HTTP 500 (or the answer
may be lost on the way). botocore's retries would then register a second revision or create a second
deployment (which CodeDeploy refuses while the first is active). So these calls go out on a client
without retries; after a retryable failure we first look for what the failed attempt may have done
(a deployment carrying this attempt's token in its description, a revision of the family registered
since we began with our content) and only retry when there is none.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from orchestrator.aws import retryable
from orchestrator.description import DeploymentDescription
from orchestrator.taskdef_compare import matches_rendered

if TYPE_CHECKING:
    from orchestrator.aws import Aws

T = TypeVar("T")

ATTEMPTS = 5
# Registered "since we began": allow for clock skew between us and AWS.
SKEW = timedelta(minutes=2)
# A lost RegisterTaskDefinition answer's revision is among the family's newest few (only releases of
# the same family registering at the same moment come after it): the recovery reads no more.
NEWEST = 5


def _once(call: Callable[[], T], find: Callable[[], T | None], sleep: Callable[[float], None]) -> tuple[T, bool]:
    """(the result, whether a failed attempt came first). After a retryable failure `find` looks for
    what that attempt may have done; only when it finds nothing is the call made again."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return call(), attempt > 1
        except Exception as exc:
            if not retryable(exc) or attempt == ATTEMPTS:
                raise
        found = find()
        if found is not None:
            return found, True
        sleep(min(0.5 * 2 ** (attempt - 1), 8.0))
    raise AssertionError("unreachable")


def create_deployment(aws: Aws, kwargs: dict[str, Any], sleep: Callable[[float], None] = time.sleep) -> str:
    """CreateDeployment once. `kwargs["description"]` must carry a release_token()."""
    token = DeploymentDescription.parse(kwargs.get("description")).release
    if not token:
        raise ValueError("the deployment description needs a release=<token>")
    began = datetime.now(UTC)
    client = aws.client("codedeploy", retries=False)

    def call() -> str:
        return str(client.create_deployment(**kwargs)["deploymentId"])

    def find() -> str | None:
        cd = aws.client("codedeploy")
        ids: list[str] = []
        pages = cd.get_paginator("list_deployments").paginate(
            applicationName=kwargs["applicationName"],
            deploymentGroupName=kwargs["deploymentGroupName"],
            createTimeRange={"start": began - SKEW},
        )
        for page in pages:
            ids.extend(page.get("deployments") or [])
        for i in range(0, len(ids), 25):
            for info in cd.batch_get_deployments(deploymentIds=ids[i : i + 25]).get("deploymentsInfo") or []:
                if DeploymentDescription.parse(info.get("description")).release == token:
                    return str(info["deploymentId"])
        return None

    return _once(call, find, sleep)[0]


def register_task_definition(
    aws: Aws, taskdef: dict[str, Any], sleep: Callable[[float], None] = time.sleep
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

    chosen, retried = _once(call, find, sleep)
    extras: list[str] = []
    if retried:
        extras = [str(td["taskDefinitionArn"]) for td in ours_since()]
        extras = [arn for arn in extras if arn != chosen["taskDefinitionArn"]]
    return chosen, extras

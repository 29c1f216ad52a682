"""Service revisions and service deployments as the sandbox keeps them, and their AWS answer shapes.

They live on moto's ECS backend instance (`store(backend)`), so moto's reset forgets them with
everything else. ARN forms follow the developer guide's examples: `service-revision/<cluster>/<service>/
<number>` and `service-deployment/<cluster>/<service>/<id>`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

FINISHED = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deployment:
    arn: str
    service_arn: str
    cluster_arn: str
    cluster: str
    service: str
    target: str  # service revision ARN
    sources: list[str]
    config: dict[str, Any]
    created_at: datetime = field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    stopped_at: datetime | None = None
    updated_at: datetime = field(default_factory=utcnow)
    status: str = "PENDING"
    status_reason: str | None = None
    stage: str | None = None
    # The sandbox's own record of every stage entered, PRE_PRODUCTION_TRAFFIC_SHIFT included (control endpoint).
    trail: list[dict[str, Any]] = field(default_factory=list)
    hook_details: list[dict[str, Any]] = field(default_factory=list)
    rollback: dict[str, Any] | None = None
    breaker: dict[str, Any] | None = None
    alarms: dict[str, Any] | None = None
    # Per revision ARN: requested/running/pending task counts and production/test traffic weights.
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    prod_weights: dict[str, float] = field(default_factory=dict)
    test_weights: dict[str, float] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def touch(self) -> None:
        self.updated_at = utcnow()

    def summary(self, arn: str) -> dict[str, Any]:
        counts = self.counts.get(arn, {})
        out: dict[str, Any] = {
            "arn": arn,
            "requestedTaskCount": counts.get("requested", 0),
            "runningTaskCount": counts.get("running", 0),
            "pendingTaskCount": counts.get("pending", 0),
        }
        if self.config.get("strategy", "ROLLING") != "ROLLING":
            out["requestedProductionTrafficWeight"] = float(self.prod_weights.get(arn, 0.0))
            out["requestedTestTrafficWeight"] = float(self.test_weights.get(arn, 0.0))
        return out

    def describe(self) -> dict[str, Any]:
        """A `ServiceDeployment` (DescribeServiceDeployments)."""
        return {
            "serviceDeploymentArn": self.arn,
            "serviceArn": self.service_arn,
            "clusterArn": self.cluster_arn,
            "createdAt": self.created_at,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "stoppedAt": self.stopped_at,
            "updatedAt": self.updated_at,
            "sourceServiceRevisions": [self.summary(a) for a in self.sources],
            "targetServiceRevision": self.summary(self.target),
            "status": self.status,
            "statusReason": self.status_reason,
            "lifecycleStage": self.stage,
            "lifecycleHookDetails": [dict(h) for h in self.hook_details] or None,
            "deploymentConfiguration": self.config,
            "rollback": self.rollback,
            "deploymentCircuitBreaker": self.breaker,
            "alarms": self.alarms,
        }

    def brief(self) -> dict[str, Any]:
        """A `ServiceDeploymentBrief` (ListServiceDeployments)."""
        return {
            "serviceDeploymentArn": self.arn,
            "serviceArn": self.service_arn,
            "clusterArn": self.cluster_arn,
            "startedAt": self.started_at,
            "createdAt": self.created_at,
            "finishedAt": self.finished_at,
            "targetServiceRevisionArn": self.target,
            "status": self.status,
            "statusReason": self.status_reason,
        }


@dataclass
class Store:
    revisions: dict[str, dict[str, Any]] = field(default_factory=dict)
    deployments: dict[str, Deployment] = field(default_factory=dict)
    runs: dict[str, Any] = field(default_factory=dict)  # deployment ARN -> walk.Run
    counter: int = 0

    def for_service(self, service_arn: str) -> list[Deployment]:
        """The service's deployments, newest first."""
        found = [d for d in self.deployments.values() if d.service_arn == service_arn]
        return sorted(found, key=lambda d: d.created_at, reverse=True)

    def active(self, service_arn: str) -> Deployment | None:
        return next((d for d in self.for_service(service_arn) if not d.finished), None)


def store(backend: Any) -> Store:
    found: Store | None = getattr(backend, "_sandbox_service_deployments", None)
    if found is None:
        found = Store()
        backend._sandbox_service_deployments = found
    return found


def _prefix(service: Any, kind: str) -> str:
    region, account = service.region_name, service._account_id
    return f"arn:aws:ecs:{region}:{account}:{kind}/{service.cluster_name}/{service.name}"


def new_revision(backend: Any, service: Any, task_definition: Any) -> dict[str, Any]:
    """A `ServiceRevision` of the service as it is configured now (its task definition, network, LBs)."""
    st = store(backend)
    st.counter += 1
    arn = f"{_prefix(service, 'service-revision')}/{secrets.randbelow(10**13):013d}"
    images = [{"containerName": c.get("name"), "image": c.get("image")} for c in task_definition.container_definitions]
    revision: dict[str, Any] = {
        "serviceRevisionArn": arn,
        "serviceArn": service.arn,
        "clusterArn": service.cluster_arn,
        "taskDefinition": task_definition.arn,
        "launchType": service.launch_type,
        "platformVersion": service.platform_version,
        "loadBalancers": [dict(lb) for lb in service.load_balancers] or None,
        "networkConfiguration": service.network_configuration or None,
        "containerImages": images,
        "createdAt": utcnow(),
    }
    st.revisions[arn] = revision
    return revision


def set_target_group(revision: dict[str, Any], target_group: str | None, rule: str | None) -> None:
    """Record which target group (and production rule) the revision's tasks serve (resolvedConfiguration)."""
    if target_group:
        revision["resolvedConfiguration"] = {
            "loadBalancers": [{"targetGroupArn": target_group, "productionListenerRule": rule}]
        }


def target_group_of(revision: dict[str, Any]) -> str | None:
    lbs = (revision.get("resolvedConfiguration") or {}).get("loadBalancers") or []
    return lbs[0].get("targetGroupArn") if lbs else None


def deployment_arn(service: Any) -> str:
    return f"{_prefix(service, 'service-deployment')}/{secrets.token_urlsafe(16)}"

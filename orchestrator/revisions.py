"""The one reader of a deployment's AppSpec: GetApplicationRevision with the revision's sha256.

AWS documents that GetDeployment's `revision.appSpecContent.content` is always null (API reference,
RevisionLocation / AppSpecContent: use GetApplicationRevision and the sha256); so history, rollback,
re-attach and status ask GetApplicationRevision, once per (application, sha256) within a command (the
cache lives on the command's Aws object).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.appspec import parse
from orchestrator.aws import error_code

if TYPE_CHECKING:
    from orchestrator.aws import Aws

# Answers meaning "no such revision to read" (the deployment then shows no task definition).
_MISSING = {
    "RevisionDoesNotExistException",
    "ApplicationDoesNotExistException",
    "InvalidRevisionException",
    "RevisionRequiredException",
}


def revision_sha256(revision: dict[str, Any] | None) -> str | None:
    if not revision:
        return None
    return (revision.get("appSpecContent") or {}).get("sha256") or (revision.get("string") or {}).get("sha256")


# An ECS AppSpec's keys as AWS documents them. Deployments made elsewhere may spell them in another
# case: `aws ecs deploy` finds them case-insensitively and sends the file's own keys (its docs show
# `resources`, `properties`, `taskDefinition`), so the read-back takes any case.
_APPSPEC_KEYS = {
    k.lower(): k
    for k in (
        "version", "Resources", "Type", "Properties", "TaskDefinition", "LoadBalancerInfo", "ContainerName",
        "ContainerPort", "PlatformVersion", "NetworkConfiguration", "AwsvpcConfiguration", "Subnets",
        "SecurityGroups", "AssignPublicIp", "CapacityProviderStrategy", "Hooks",
    )
}  # fmt: skip


def _canonical_keys(node: Any) -> Any:
    if isinstance(node, dict):
        return {_APPSPEC_KEYS.get(str(k).lower(), k): _canonical_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_canonical_keys(v) for v in node]
    return node


def parse_appspec(content: str | None) -> dict[str, Any] | None:
    """An AppSpec document from its JSON or YAML text, its known keys in AWS's documented case."""
    if not content:
        return None
    import yaml

    try:
        doc = parse(content)
    except (ValueError, yaml.YAMLError):
        return None
    return _canonical_keys(doc) if isinstance(doc, dict) else None


def appspec_content(aws: Aws, application: str | None, revision: dict[str, Any] | None) -> str | None:
    """The AppSpec text of a deployment's revision, from GetApplicationRevision (cached per sha256)."""
    sha = revision_sha256(revision)
    if not application or not sha or not revision:
        return None
    cache: dict[tuple[str, str], str | None] = aws.cache.setdefault("appspec_content", {})
    key = (application, sha)
    if key not in cache:
        kind = revision.get("revisionType") or "AppSpecContent"
        body = "string" if kind == "String" else "appSpecContent"
        try:
            got = aws.client("codedeploy").get_application_revision(
                applicationName=application, revision={"revisionType": kind, body: {"sha256": sha}}
            )
        except Exception as exc:
            if error_code(exc) not in _MISSING:
                raise
            cache[key] = None
        else:
            cache[key] = ((got.get("revision") or {}).get(body) or {}).get("content")
    return cache[key]


def appspec_document(aws: Aws, info: dict[str, Any]) -> dict[str, Any] | None:
    """The AppSpec of a deployment, given its `deploymentInfo` (GetDeployment / BatchGetDeployments)."""
    return parse_appspec(appspec_content(aws, info.get("applicationName"), info.get("revision")))


def deployment_appspec(aws: Aws, deployment_id: str) -> dict[str, Any] | None:
    info = aws.client("codedeploy").get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    return appspec_document(aws, info)

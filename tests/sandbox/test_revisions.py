"""Application revisions: GetDeployment hides the AppSpec text, GetApplicationRevision returns it."""

from __future__ import annotations

import hashlib

import pytest
from botocore.exceptions import ClientError
from support.stack import make_stack

TERMINAL = ("Succeeded", "Failed", "Stopped")


def test_get_deployment_has_no_appspec_content_get_application_revision_has(endpoint: str) -> None:
    stack = make_stack(endpoint)
    deployment_id = stack.deploy()
    info = stack.wait(deployment_id, TERMINAL)
    # AWS API reference, RevisionLocation/AppSpecContent: in GetDeployment the content "is always null";
    # GetApplicationRevision with the sha256 gives it.
    revision = info["revision"]
    assert revision["revisionType"] == "AppSpecContent"
    assert "content" not in revision["appSpecContent"]
    sha = revision["appSpecContent"]["sha256"]
    batch = stack.c("codedeploy").batch_get_deployments(deploymentIds=[deployment_id])["deploymentsInfo"][0]
    assert "content" not in batch["revision"]["appSpecContent"]

    # API reference, GetApplicationRevision: applicationName, revision, revisionInfo.
    got = stack.c("codedeploy").get_application_revision(
        applicationName=stack.app,
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"sha256": sha}},
    )
    assert got["applicationName"] == stack.app
    content = got["revision"]["appSpecContent"]["content"]
    assert hashlib.sha256(content.encode()).hexdigest() == sha
    assert '"TaskDefinition"' in content
    rinfo = got["revisionInfo"]
    assert rinfo["registerTime"] <= rinfo["firstUsedTime"] <= rinfo["lastUsedTime"]
    # GenericRevisionInfo.deploymentGroups: "the deployment groups for which this is the current target revision".
    assert rinfo["deploymentGroups"] == [stack.group]


def test_an_older_revision_is_no_longer_the_groups_target(endpoint: str) -> None:
    stack = make_stack(endpoint)
    first = stack.deploy()
    stack.wait(first, TERMINAL)
    second = stack.deploy()
    stack.wait(second, TERMINAL)
    cd = stack.c("codedeploy")
    old = stack.deployment(first)["revision"]
    got = cd.get_application_revision(applicationName=stack.app, revision=old)
    assert got["revisionInfo"]["deploymentGroups"] == []
    # previousRevision follows the same rule as revision.
    assert "content" not in stack.deployment(second)["previousRevision"]["appSpecContent"]


@pytest.mark.parametrize(
    ("app", "revision", "code"),
    [
        # Errors of GetApplicationRevision in the botocore model / API reference.
        (
            "nope-app",
            {"revisionType": "AppSpecContent", "appSpecContent": {"sha256": "0" * 64}},
            "ApplicationDoesNotExistException",
        ),
        (
            None,
            {"revisionType": "AppSpecContent", "appSpecContent": {"sha256": "0" * 64}},
            "RevisionDoesNotExistException",
        ),
        (None, {"revisionType": "AppSpecContent", "appSpecContent": {}}, "InvalidRevisionException"),
    ],
)
def test_get_application_revision_errors(
    endpoint: str, app: str | None, revision: dict[str, object], code: str
) -> None:
    stack = make_stack(endpoint)
    with pytest.raises(ClientError) as err:
        stack.c("codedeploy").get_application_revision(applicationName=app or stack.app, revision=revision)
    assert err.value.response["Error"]["Code"] == code

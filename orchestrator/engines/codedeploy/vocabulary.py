"""CodeDeploy's words, in one place: deployment statuses, the creators of its rollbacks, and the error
codes the orchestrator acts on (botocore's codedeploy service model names them).

The statuses are also the engines' normalised status vocabulary (orchestrator/engines/base.py): an
engine whose service speaks other words maps them onto these."""

from __future__ import annotations

# DeploymentStatus (botocore codedeploy model).
CREATED = "Created"
QUEUED = "Queued"
IN_PROGRESS = "InProgress"
BAKING = "Baking"
READY = "Ready"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
STOPPED = "Stopped"

# A deployment in one of these has ended.
TERMINAL = (SUCCEEDED, FAILED, STOPPED)
# Deployments in these states hold the group: a second CreateDeployment is refused.
ACTIVE = (CREATED, QUEUED, IN_PROGRESS, BAKING, READY)
# Not started yet: there is no deployment target (no lifecycle, no task sets) to read.
NOT_STARTED = (CREATED, QUEUED)
# How a followed deployment may end for the release: CodeDeploy's ends, or production traffic all on
# the replacement (--wait-until traffic-shifted).
TRAFFIC_SHIFTED = "traffic-shifted"
OK_OUTCOMES = (SUCCEEDED, TRAFFIC_SHIFTED)

# CodeDeploy's creator of the rollbacks it makes (AWS says codeDeployRollback; autoRollback is accepted too).
ROLLBACK_CREATORS = ("codeDeployRollback", "autoRollback")

# Error codes.
ALREADY_COMPLETED = "DeploymentAlreadyCompletedException"
LIMIT_EXCEEDED = "DeploymentLimitExceededException"  # another deployment holds the group
NOT_READY = "DeploymentIsNotInReadyStateException"
UNKNOWN_DEPLOYMENT = ("DeploymentDoesNotExistException", "InvalidDeploymentIdException")
# GetDeploymentTarget before the target exists.
NO_TARGET = (
    "DeploymentTargetDoesNotExistException",
    "DeploymentNotStartedException",
    "InvalidDeploymentTargetIdException",
)

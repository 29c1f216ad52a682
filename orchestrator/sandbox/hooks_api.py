"""PutLifecycleEventHookExecutionStatus: a hook function's report (moto has no such action).

Kept apart from hooks.py, which the engine imports: this module needs moto's classes at import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from moto.core.responses import ActionResult

from orchestrator.sandbox.codedeploy_backend import CodeDeployError, get_deployment_or_raise
from orchestrator.sandbox.hooks import EXECUTIONS

if TYPE_CHECKING:
    from orchestrator.sandbox.engine import Engine


# ---- PutLifecycleEventHookExecutionStatus ---------------------------------------------------------------
class InvalidLifecycleEventHookExecutionStatusException(CodeDeployError):
    pass


class InvalidLifecycleEventHookExecutionIdException(CodeDeployError):
    pass


class LifecycleEventAlreadyCompletedException(CodeDeployError):
    pass


class UnsupportedActionForDeploymentTypeException(CodeDeployError):
    pass


def put_lifecycle_event_hook_execution_status(self: Any, engine: Engine) -> ActionResult:
    """The action, with the errors botocore's model lists for it (documentation strings there).
    moto_ext.install() binds the engine."""
    deployment = get_deployment_or_raise(self.codedeploy_backend, self._get_param("deploymentId"))
    execution_id = self._get_param("lifecycleEventHookExecutionId")
    status = self._get_param("status")
    with engine.lock:
        if deployment.deployment_group.application.compute_platform not in ("ECS", "Lambda"):
            raise UnsupportedActionForDeploymentTypeException(
                "PutLifecycleEventHookExecutionStatus is supported for ECS and Lambda deployments only."
            )
        # "only Succeeded and Failed can be passed successfully in your API call" (API reference).
        if status not in ("Succeeded", "Failed"):
            raise InvalidLifecycleEventHookExecutionStatusException(
                f"The lifecycle event hook execution status {status} is invalid. It should be Succeeded or Failed."
            )
        execution = EXECUTIONS.get(execution_id or "")
        if execution is None or execution.deployment_id != deployment.deployment_id:
            raise InvalidLifecycleEventHookExecutionIdException(
                f"The lifecycle event hook execution ID {execution_id} is invalid for deployment "
                f"{deployment.deployment_id}."
            )
        run = engine.runs.get(deployment.deployment_id)
        if execution.closed or execution.status is not None or run is None or run.done:
            raise LifecycleEventAlreadyCompletedException(
                f"The lifecycle event {execution.event} of deployment {deployment.deployment_id} has already completed."
            )
        execution.status = status
        engine.wake(deployment.deployment_id)  # resume the run now, not at the hour's end
    return ActionResult({"lifecycleEventHookExecutionId": execution.execution_id})

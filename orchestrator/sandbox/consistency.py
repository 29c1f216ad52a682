"""Eventual consistency: reads that lag behind writes, as the `list_lag` fault asks.

"The Amazon ECS API follows an eventual consistency model ... the result of an API command you run that
affects your Amazon ECS resources might not be immediately visible to all subsequent commands you run"
(ECS API reference, RunTask, which advises DescribeTasks with backoff "up to five minutes"). CodeDeploy
documents no such model; that its lists lag too is the sandbox's choice, so that a client's lookup after
a lost answer can be tried against a lag.

With `list_lag` = S simulated seconds, a resource created less than S ago (times the time scale) is not
yet seen by these API reads: CodeDeploy ListDeployments, GetDeployment (DeploymentDoesNotExistException),
BatchGetDeployments (left out); ECS ListTaskDefinitions, DescribeTaskDefinition (ClientException "Unable to
describe task definition."; by family: the newest revision old enough), ListTasks and DescribeTasks (left
out). Only the API call of that name lags: the engine's own reads, and other actions reading the same
resource, see everything at once.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrator.sandbox.clock import CLOCK
from orchestrator.sandbox.faults import FAULTS

_REQUEST = threading.local()  # the AWS action the middleware is serving on this thread


@contextlib.contextmanager
def serving(action: str) -> Iterator[None]:
    """Around one AWS request (middleware): reads of `action` may lag."""
    _REQUEST.action = action
    try:
        yield
    finally:
        _REQUEST.action = None


def _cutoff(action: str) -> datetime | None:
    """Resources created after this (naive UTC) are not yet seen by `action`; None: no lag now."""
    if getattr(_REQUEST, "action", None) != action:
        return None
    lag = FAULTS.get()["list_lag"]
    if not lag:
        return None
    return datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=float(lag) * CLOCK.time_scale)


def _naive(moment: Any) -> datetime | None:
    if not isinstance(moment, datetime):
        return None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def seen(action: str, created: Any) -> bool:
    """Whether `action`, served now, sees a resource created at `created`."""
    cutoff = _cutoff(action)
    when = _naive(created)
    return cutoff is None or when is None or when <= cutoff


def deployments_seen(action: str, deployments: list[Any]) -> list[Any]:
    return [d for d in deployments if seen(action, getattr(d, "create_time", None))]


# ---- the patches ------------------------------------------------------------------------------------
def _list_deployments(original: Any) -> Any:
    @functools.wraps(original)
    def list_deployments(self: Any, *args: Any, **kwargs: Any) -> Any:
        ids = original(self, *args, **kwargs)
        return [i for i in ids if i not in self.deployments or seen("ListDeployments", self.deployments[i].create_time)]

    return list_deployments


def _get_deployment(original: Any) -> Any:
    @functools.wraps(original)
    def get_deployment(self: Any, deployment_id: str) -> Any:
        from moto.codedeploy.exceptions import DeploymentDoesNotExistException

        deployment = original(self, deployment_id)
        if not seen("GetDeployment", deployment.create_time):
            raise DeploymentDoesNotExistException(
                f"The deployment {deployment_id} does not exist with the user or AWS account."
            )
        return deployment

    return get_deployment


def _registered(task_definition: Any) -> datetime | None:
    """When a task definition was registered (moto keeps no time: register_task_definition's wrapper does)."""
    return getattr(task_definition, "_registered", None)


def _register_task_definition(original: Any) -> Any:
    @functools.wraps(original)
    def register_task_definition(self: Any, *args: Any, **kwargs: Any) -> Any:
        task_definition = original(self, *args, **kwargs)
        task_definition._registered = datetime.now(UTC).replace(tzinfo=None)
        return task_definition

    return register_task_definition


def _list_task_definitions(original: Any) -> Any:
    @functools.wraps(original)
    def list_task_definitions(self: Any, *args: Any, **kwargs: Any) -> Any:
        arns = original(self, *args, **kwargs)
        born = {td.arn: _registered(td) for family in self.task_definitions.values() for td in family.values()}
        return [a for a in arns if seen("ListTaskDefinitions", born.get(a))]

    return list_task_definitions


def _describe_task_definition(original: Any) -> Any:
    @functools.wraps(original)
    def describe_task_definition(self: Any, task_definition_str: str) -> Any:
        from moto.ecs.exceptions import TaskDefinitionNotFoundException

        found = original(self, task_definition_str)
        if seen("DescribeTaskDefinition", _registered(found)):
            return found
        if ":" in task_definition_str.split("/")[-1]:  # a revision asked for by number
            raise TaskDefinitionNotFoundException()
        older = [
            td
            for rev, td in sorted((self.task_definitions.get(found.family) or {}).items())
            if seen("DescribeTaskDefinition", _registered(td)) and td.status == "ACTIVE"
        ]
        if not older:
            raise TaskDefinitionNotFoundException()
        return older[-1]

    return describe_task_definition


def _tasks(original: Any, action: str) -> Any:
    @functools.wraps(original)
    def read(self: Any, *args: Any, **kwargs: Any) -> Any:
        return [t for t in original(self, *args, **kwargs) if seen(action, getattr(t, "created_at", None))]

    return read


# moto internals this module wraps or reads; tests/sandbox/test_consistency.py checks them.
INTERNALS = (
    "moto.codedeploy.models.CodeDeployBackend.list_deployments",
    "moto.codedeploy.models.CodeDeployBackend.get_deployment",
    "moto.ecs.models.EC2ContainerServiceBackend.register_task_definition",
    "moto.ecs.models.EC2ContainerServiceBackend.list_task_definitions",
    "moto.ecs.models.EC2ContainerServiceBackend.describe_task_definition",
    "moto.ecs.models.EC2ContainerServiceBackend.list_tasks",
    "moto.ecs.models.EC2ContainerServiceBackend.describe_tasks",
)

_installed = False


def install() -> None:
    """Apply the patches once per process (after tasks.install and service_tasks.install)."""
    global _installed
    if _installed:
        return
    from moto.codedeploy.models import CodeDeployBackend
    from moto.ecs.models import EC2ContainerServiceBackend as Ecs

    CodeDeployBackend.list_deployments = _list_deployments(CodeDeployBackend.list_deployments)  # type: ignore[method-assign]
    CodeDeployBackend.get_deployment = _get_deployment(CodeDeployBackend.get_deployment)  # type: ignore[method-assign]
    Ecs.register_task_definition = _register_task_definition(Ecs.register_task_definition)  # type: ignore[method-assign]
    Ecs.list_task_definitions = _list_task_definitions(Ecs.list_task_definitions)  # type: ignore[method-assign]
    Ecs.describe_task_definition = _describe_task_definition(Ecs.describe_task_definition)  # type: ignore[method-assign]
    Ecs.list_tasks = _tasks(Ecs.list_tasks, "ListTasks")  # type: ignore[method-assign]
    Ecs.describe_tasks = _tasks(Ecs.describe_tasks, "DescribeTasks")  # type: ignore[method-assign]
    _installed = True

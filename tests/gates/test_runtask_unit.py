"""runtask.py's pure parts: where a one-off task runs, which log stream it writes, how commands split."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.errors import InputError
from orchestrator.runtask import RunSpec, TaskOutcome, failure_reason, log_source, parse_commands, service_run_spec

NET = {"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "ENABLED"}}


class _Ecs:
    def __init__(self, services: list[dict[str, Any]]) -> None:
        self.services = services

    def describe_services(self, cluster: str, services: list[str]) -> dict[str, Any]:
        return {"services": self.services, "failures": []}


class _Aws:
    def __init__(self, services: list[dict[str, Any]]) -> None:
        self.ecs = _Ecs(services)

    def client(self, name: str) -> Any:
        assert name == "ecs"
        return self.ecs


def test_code_deploy_service_runs_tasks_like_its_primary_task_set() -> None:
    svc = {
        "status": "ACTIVE",
        "taskDefinition": None,
        "taskSets": [
            {"status": "ACTIVE", "taskDefinition": "td:9", "launchType": "EC2"},
            {
                "status": "PRIMARY",
                "taskDefinition": "td:8",
                "networkConfiguration": NET,
                "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
                "platformVersion": "1.4.0",
            },
        ],
    }
    spec = service_run_spec(_Aws([svc]), "c", "s")  # type: ignore[arg-type]
    assert spec.live_task_definition == "td:8"
    params = spec.run_task_params()
    # A capacity provider strategy and a launch type exclude each other in RunTask.
    assert params == {
        "cluster": "c",
        "networkConfiguration": NET,
        "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
        "platformVersion": "1.4.0",
    }


def test_ecs_controlled_service_uses_its_own_settings() -> None:
    svc = {"status": "ACTIVE", "taskDefinition": "td:3", "launchType": "FARGATE", "networkConfiguration": NET}
    spec = service_run_spec(_Aws([svc]), "c", "s")  # type: ignore[arg-type]
    assert spec.run_task_params() == {"cluster": "c", "networkConfiguration": NET, "launchType": "FARGATE"}
    assert spec.live_task_definition == "td:3"
    assert RunSpec("c", "s", launch_type="EC2", platform_version="LATEST").run_task_params() == {
        "cluster": "c",
        "launchType": "EC2",
    }


def test_missing_or_inactive_service_is_bad_input() -> None:
    with pytest.raises(InputError, match="not found"):
        service_run_spec(_Aws([{"status": "INACTIVE"}]), "c", "s")  # type: ignore[arg-type]


def test_log_stream_of_the_awslogs_driver() -> None:
    td = {
        "containerDefinitions": [
            {"name": "side"},
            {
                "name": "web",
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {"awslogs-group": "/ecs/demo/web", "awslogs-stream-prefix": "web"},
                },
            },
        ]
    }
    src = log_source(td, "web", "abc")
    assert src is not None and (src.group, src.stream) == ("/ecs/demo/web", "web/web/abc")
    assert log_source(td, "side", "abc") is None


def test_commands_split_like_a_shell() -> None:
    assert parse_commands(["python manage.py migrate", "sh -c 'a && b'"], "--pre-task") == (
        ("python manage.py migrate", ("python", "manage.py", "migrate")),
        ("sh -c 'a && b'", ("sh", "-c", "a && b")),
    )
    for bad in ("", "  ", "echo 'x"):
        with pytest.raises(InputError, match="--pre-task"):
            parse_commands([bad], "--pre-task")


def test_failure_reason_keeps_the_last_lines_or_ecs_reason() -> None:
    ran = TaskOutcome("arn:task/c/t1", 2, "EssentialContainerExited", "", True, [f"l{i}" for i in range(9)])
    assert failure_reason(ran, "pre-task 1 (m)") == (
        "pre-task 1 (m): task t1 exited with code 2; last log lines: l4 | l5 | l6 | l7 | l8"
    )
    never = TaskOutcome("arn:task/c/t2", None, "TaskFailedToStart", "CannotPullContainerError: x", False)
    assert failure_reason(never) == "task t2 did not start: CannotPullContainerError: x"

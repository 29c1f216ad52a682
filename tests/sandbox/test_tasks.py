"""One-off tasks in the sandbox over HTTP: RunTask for awsvpc tasks, the lifecycle, logs, StopTask, faults."""

from __future__ import annotations

import importlib
import time
from typing import Any

import pytest

from orchestrator.sandbox.tasks import CANNOT_PULL, ESSENTIAL_EXITED, INTERNALS, TaskDurations


def _service(sandbox: Any) -> dict[str, Any]:
    out = sandbox.service_outputs()
    svc = sandbox.client("ecs").describe_services(cluster=out["cluster_name"], services=[out["service_name"]])
    return dict(svc["services"][0])


def _run(sandbox: Any, command: list[str] | None = None) -> dict[str, Any]:
    svc = _service(sandbox)
    overrides = {"containerOverrides": [{"name": "web", "command": command}]} if command else {}
    resp = sandbox.client("ecs").run_task(
        cluster=svc["clusterArn"],
        taskDefinition=svc["taskSets"][0]["taskDefinition"],
        launchType="FARGATE",
        networkConfiguration=svc["networkConfiguration"],
        overrides=overrides,
        startedBy="test",
    )
    assert resp["failures"] == []
    return dict(resp["tasks"][0])


def _wait(sandbox: Any, task: dict[str, Any], status: str, limit: float = 10.0) -> dict[str, Any]:
    ecs = sandbox.client("ecs")
    deadline = time.monotonic() + limit
    seen = []
    while time.monotonic() < deadline:
        now = ecs.describe_tasks(cluster=task["clusterArn"], tasks=[task["taskArn"]])["tasks"][0]
        if not seen or seen[-1] != now["lastStatus"]:
            seen.append(now["lastStatus"])
        if now["lastStatus"] == status:
            now["_seen"] = seen
            return dict(now)
        time.sleep(0.005)
    raise AssertionError(f"task never reached {status}; saw {seen}")


def _log_lines(sandbox: Any, task: dict[str, Any]) -> list[str]:
    group = sandbox.service_outputs()["log_group_name"]
    stream = f"web/web/{task['taskArn'].rsplit('/', 1)[-1]}"
    events = sandbox.client("logs").get_log_events(logGroupName=group, logStreamName=stream)["events"]
    return [e["message"] for e in events]


def test_awsvpc_task_goes_through_the_lifecycle_and_logs_the_command(sandbox: Any) -> None:
    sandbox.control.time_scale(0.05)  # 250 ms+ per status: seen by polls even on a busy machine
    task = _run(sandbox, ["python", "manage.py", "migrate"])
    assert task["lastStatus"] == "PROVISIONING"
    assert task["desiredStatus"] == "RUNNING"
    eni = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    assert eni["privateDnsName"].startswith("ip-")
    stopped = _wait(sandbox, task, "STOPPED")
    assert stopped["_seen"] == ["PROVISIONING", "PENDING", "RUNNING", "STOPPED"]
    assert stopped["stopCode"] == "EssentialContainerExited"
    assert stopped["stoppedReason"] == ESSENTIAL_EXITED
    assert stopped["containers"][0]["exitCode"] == 0
    assert stopped["startedAt"] <= stopped["stoppedAt"]
    assert _log_lines(sandbox, task) == ["python manage.py migrate"]


def test_progress_follows_the_clock_not_the_polls(sandbox: Any) -> None:
    task = _run(sandbox, ["true"])
    total = (TaskDurations.PROVISION + TaskDurations.START + TaskDurations.RUN) * sandbox.time_scale
    time.sleep(total + 0.05)
    # One look after the whole run: already STOPPED, and the logs were written.
    now = sandbox.client("ecs").describe_tasks(cluster=task["clusterArn"], tasks=[task["taskArn"]])["tasks"][0]
    assert now["lastStatus"] == "STOPPED"
    assert _log_lines(sandbox, task) == ["true"]


def test_exit_code_and_log_faults_apply_to_the_next_run_task_only(sandbox: Any) -> None:
    sandbox.control.set_task_faults(exit_code=3, log=["applying 0042", "boom: relation exists"])
    failed = _wait(sandbox, _run(sandbox, ["migrate"]), "STOPPED")
    assert failed["containers"][0]["exitCode"] == 3
    assert _log_lines(sandbox, failed) == ["applying 0042", "boom: relation exists"]
    assert sandbox.control.task_faults()["exit_code"] is None  # consumed
    ok = _wait(sandbox, _run(sandbox, ["migrate"]), "STOPPED")
    assert ok["containers"][0]["exitCode"] == 0


def test_a_task_that_never_starts_stops_with_ecs_reason(sandbox: Any) -> None:
    sandbox.control.set_task_faults(no_start=True)
    task = _wait(sandbox, _run(sandbox, ["migrate"]), "STOPPED")
    assert "RUNNING" not in task["_seen"]
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith("CannotPullContainerError: ")
    assert CANNOT_PULL.split("{")[0] in task["stoppedReason"]
    assert "exitCode" not in task["containers"][0]
    assert _log_lines_or_none(sandbox, task) is None


def _log_lines_or_none(sandbox: Any, task: dict[str, Any]) -> list[str] | None:
    try:
        return _log_lines(sandbox, task)
    except sandbox.client("logs").exceptions.ResourceNotFoundException:
        return None


def test_stop_task_stops_a_running_task_user_initiated(sandbox: Any) -> None:
    sandbox.control.set_task_faults(run_seconds=3600)
    task = _wait(sandbox, _run(sandbox, ["sleep", "3600"]), "RUNNING")
    resp = sandbox.client("ecs").stop_task(cluster=task["clusterArn"], task=task["taskArn"], reason="cancelled")
    assert resp["task"]["desiredStatus"] == "STOPPED"
    assert resp["task"]["lastStatus"] == "STOPPING"
    stopped = _wait(sandbox, task, "STOPPED")
    assert stopped["stopCode"] == "UserInitiated"
    assert stopped["stoppedReason"] == "cancelled"
    assert stopped["containers"][0]["exitCode"] == 143


def test_bad_task_fault_is_refused(sandbox: Any) -> None:
    from orchestrator.sandbox.control import ControlError

    with pytest.raises(ControlError, match="exit_code"):
        sandbox.control.set_task_faults(exit_code=300)
    sandbox.control.set_task_faults(exit_code=5)
    sandbox.control.clear_faults()  # clearing every fault includes the task faults
    assert sandbox.control.task_faults()["exit_code"] is None


def test_moto_internals_we_patch_exist() -> None:
    missing = []
    for dotted in INTERNALS:
        parts = dotted.split(".")
        obj: Any = None
        for i in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            for attr in parts[i:]:
                obj = getattr(obj, attr, None)
            break
        if not callable(obj):
            missing.append(dotted)
    assert missing == [], f"moto moved what tasks.py patches: {missing}"


@pytest.mark.parametrize("create", [False, True])
def test_awslogs_group_that_does_not_exist(sandbox: Any, create: bool) -> None:
    ecs = sandbox.client("ecs")
    svc = _service(sandbox)
    td = ecs.describe_task_definition(taskDefinition=svc["taskSets"][0]["taskDefinition"])["taskDefinition"]
    container = dict(td["containerDefinitions"][0])
    options = {"awslogs-group": "/ecs/nowhere", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "web"}
    if create:
        options["awslogs-create-group"] = "true"
    container["logConfiguration"] = {"logDriver": "awslogs", "options": options}
    arn = ecs.register_task_definition(
        family="nolog",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[container],
    )["taskDefinition"]["taskDefinitionArn"]
    task = ecs.run_task(
        cluster=svc["clusterArn"],
        taskDefinition=arn,
        launchType="FARGATE",
        networkConfiguration=svc["networkConfiguration"],
    )["tasks"][0]
    stopped = _wait(sandbox, task, "STOPPED")
    if create:  # the driver creates the group; the task runs
        assert stopped["stopCode"] == "EssentialContainerExited"
        stream = f"web/{container['name']}/{task['taskArn'].rsplit('/', 1)[-1]}"
        events = sandbox.client("logs").get_log_events(logGroupName="/ecs/nowhere", logStreamName=stream)["events"]
        assert len(events) == 1
    else:
        assert stopped["stopCode"] == "TaskFailedToStart"
        assert stopped["stoppedReason"].startswith("ResourceInitializationError: ")
        assert "log group does not exist" in stopped["stoppedReason"]

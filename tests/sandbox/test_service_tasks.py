"""A service's tasks in the sandbox over HTTP: they run, log through awslogs, register with the target
group, and stop when their task set drains."""

from __future__ import annotations

import hashlib
import importlib
import time
import uuid
from typing import Any

from support.clients import client
from support.stack import Stack, make_stack, task_definition

from orchestrator.sandbox.control import SandboxControl
from orchestrator.sandbox.service_tasks import INTERNALS

TERMINAL = ("Succeeded", "Failed", "Stopped")


def _until(check: Any, limit: float = 15.0) -> Any:
    deadline = time.monotonic() + limit
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition never held")
        time.sleep(0.02)


def _tasks(stack: Stack, status: str = "RUNNING") -> list[dict[str, Any]]:
    ecs = stack.c("ecs")
    arns = ecs.list_tasks(cluster=stack.cluster, serviceName=stack.service, desiredStatus=status)["taskArns"]
    return list(ecs.describe_tasks(cluster=stack.cluster, tasks=arns)["tasks"]) if arns else []


def _log_group(stack: Stack) -> str:
    return f"/ecs/{stack.name}/web"


def _lines(stack: Stack, task: dict[str, Any]) -> list[str]:
    stream = f"web/web/{task['taskArn'].rsplit('/', 1)[-1]}"
    events = stack.c("logs").get_log_events(logGroupName=_log_group(stack), logStreamName=stream)["events"]
    return [e["message"] for e in events]


def _deploy_logged(stack: Stack, image: str) -> str:
    """A deployment of a revision that logs through awslogs to the stack's log group."""
    taskdef = task_definition(stack.family, image)
    taskdef["containerDefinitions"][0]["logConfiguration"] = {
        "logDriver": "awslogs",
        "options": {"awslogs-group": _log_group(stack), "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "web"},
    }
    arn = stack.c("ecs").register_task_definition(**taskdef)["taskDefinition"]["taskDefinitionArn"]
    content = stack.appspec(arn)
    return str(
        stack.c("codedeploy").create_deployment(
            applicationName=stack.app,
            deploymentGroupName=stack.group,
            revision={
                "revisionType": "AppSpecContent",
                "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()},
            },
        )["deploymentId"]
    )


def test_the_services_first_tasks_run_register_and_log(endpoint: str, control: SandboxControl) -> None:
    stack = make_stack(endpoint)
    _until(lambda: len(_tasks(stack)) == 2 and all(t["lastStatus"] == "RUNNING" for t in _tasks(stack)))
    tasks = _tasks(stack)
    assert {t["group"] for t in tasks} == {f"service:{stack.service}"}
    assert all(t["startedBy"].startswith("ecs-svc/") for t in tasks)
    # awslogs: stream <prefix>/<container>/<task id>, the container's first line names its image.
    for task in tasks:
        lines = _lines(stack, task)
        assert len(lines) == 1 and "container web started" in lines[0] and "nginx" in lines[0]
    # Registered with the production target group by IP: initial, then healthy.
    ips = {
        d["value"] for t in tasks for a in t["attachments"] for d in a["details"] if d["name"] == "privateIPv4Address"
    }
    elbv2 = stack.c("elbv2")
    seen = {
        h["TargetHealth"]["State"]
        for h in elbv2.describe_target_health(TargetGroupArn=stack.blue_tg)["TargetHealthDescriptions"]
    }
    assert seen <= {"initial", "healthy"}
    healthy = _until(
        lambda: (
            [
                h
                for h in elbv2.describe_target_health(TargetGroupArn=stack.blue_tg)["TargetHealthDescriptions"]
                if h["TargetHealth"]["State"] == "healthy"
            ]
            if len(elbv2.describe_target_health(TargetGroupArn=stack.blue_tg)["TargetHealthDescriptions"]) == 2
            else None
        )
    )
    assert {h["Target"]["Id"] for h in healthy} == ips
    assert all(h["Target"]["Port"] == 8080 for h in healthy)
    # ListTasks by service lists only that service's tasks (not one-off tasks, not other services').
    other = make_stack(endpoint)
    assert not {t["taskArn"] for t in _tasks(stack)} & {t["taskArn"] for t in _tasks(other)}


def test_a_deployment_starts_logging_replacements_and_stops_the_originals(
    endpoint: str, control: SandboxControl
) -> None:
    stack = make_stack(endpoint)
    first = _until(lambda: len(_tasks(stack)) == 2 and _tasks(stack))
    deployment_id = _deploy_logged(stack, "registry.example/web:v2")
    assert stack.wait(deployment_id, TERMINAL, timeout=60)["status"] == "Succeeded"
    service = stack.drained_service()
    (primary,) = service["taskSets"]
    new = _until(
        lambda: (
            [t for t in _tasks(stack) if t["startedBy"] == primary["id"] and t["lastStatus"] == "RUNNING"]
            if len(_tasks(stack)) == 2
            else None
        )
    )
    assert len(new) == 2
    assert all("image registry.example/web:v2" in _lines(stack, t)[0] for t in new)
    stopped = {t["taskArn"]: t for t in _tasks(stack, "STOPPED")}
    for task in first:
        done = stopped[task["taskArn"]]
        assert done["stopCode"] == "ServiceSchedulerInitiated"
        assert done["stoppedReason"].startswith("Scaling activity initiated by (deployment ecs-svc/")
    messages = [e["message"] for e in stack.ecs_service()["events"]]
    ids = sorted(t["taskArn"].rsplit("/", 1)[-1] for t in new)
    started = next(m for m in messages if "has started 2 tasks" in m)
    assert all(f"(task {i})" in started for i in ids)
    # The originals' task set drained: the scheduler says it stopped them and deregistered their targets.
    stopped_event = next(m for m in messages if "has stopped 2 running tasks" in m)
    assert all(f"(task {t['taskArn'].rsplit('/', 1)[-1]})" in stopped_event for t in first)
    assert any(f"deregistered 2 targets in (target-group {stack.blue_tg})" in m for m in messages)


def test_unhealthy_replacements_show_the_health_check_evidence(endpoint: str, control: SandboxControl) -> None:
    stack = make_stack(endpoint)
    control.set_faults(unhealthy=True, health_code=503, group=stack.group)
    deployment_id = stack.deploy()
    elbv2 = stack.c("elbv2")

    def unhealthy_target() -> Any:
        health = elbv2.describe_target_health(TargetGroupArn=stack.green_tg)["TargetHealthDescriptions"]
        return next((h for h in health if h["TargetHealth"]["State"] == "unhealthy"), None)

    target = _until(unhealthy_target, limit=30)
    assert target["TargetHealth"]["Reason"] == "Target.ResponseCodeMismatch"
    assert target["TargetHealth"]["Description"] == "Health checks failed with these codes: [503]"
    info = stack.wait(deployment_id, TERMINAL, timeout=60)
    assert info["status"] == "Failed" and info["errorInformation"]["code"] == "ECS_UPDATE_ERROR"
    stopped = [t for t in _tasks(stack, "STOPPED")]
    assert len(stopped) == 6  # three rounds of two replacement tasks
    assert {t["stoppedReason"] for t in stopped} == {
        f"Task failed ELB health checks in (target-group {stack.green_tg})"
    }
    assert {t["stopCode"] for t in stopped} == {"ServiceSchedulerInitiated"}
    messages = [e["message"] for e in stack.ecs_service()["events"]]
    assert any(
        f"is unhealthy in (target-group {stack.green_tg}) due to (reason Health checks failed with these codes: [503])"
        in m
        for m in messages
    )
    assert any("deregistered 2 targets" in m for m in messages)
    assert sum("has started 2 tasks" in m for m in messages) >= 3


def test_crashing_replacements_stop_with_their_exit_code_and_last_lines(endpoint: str, control: SandboxControl) -> None:
    stack = make_stack(endpoint)
    control.set_faults(crash_exit_code=3, crash_log=["loading config", "panic: DB_URL is not set"], group=stack.group)
    deployment_id = _deploy_logged(stack, "registry.example/web:broken")
    info = stack.wait(deployment_id, TERMINAL, timeout=60)
    assert info["status"] == "Failed"
    crashed = [t for t in _tasks(stack, "STOPPED") if t["stopCode"] == "EssentialContainerExited"]
    assert len(crashed) == 6
    for task in crashed:
        assert task["stoppedReason"] == "Essential container in task exited"
        assert task["containers"][0]["exitCode"] == 3
        lines = _lines(stack, task)
        assert "image registry.example/web:broken" in lines[0]
        assert lines[-2:] == ["loading config", "panic: DB_URL is not set"]
    diagnostics = next(
        e for e in stack.target(deployment_id)["lifecycleEvents"] if e["lifecycleEventName"] == "Install"
    )["diagnostics"]
    assert "Essential container in task exited (exit code 3)" in diagnostics["message"]


def test_scaling_the_service_starts_and_stops_tasks(endpoint: str, control: SandboxControl) -> None:
    stack = make_stack(endpoint)
    _until(lambda: len(_tasks(stack)) == 2)
    stack.c("ecs").update_service(cluster=stack.cluster, service=stack.service, desiredCount=3)
    assert len(_tasks(stack)) == 3
    stack.c("ecs").update_service(cluster=stack.cluster, service=stack.service, desiredCount=1)
    assert len(_tasks(stack)) == 1
    assert len(_tasks(stack, "STOPPED")) == 2


def test_moto_internals_the_service_tasks_rely_on_exist() -> None:
    for dotted in INTERNALS:
        module, _, rest = dotted.partition(".models.")
        obj: Any = importlib.import_module(module + ".models")
        *path, last = rest.split(".")
        for part in path:
            obj = getattr(obj, part)
        # Instance attributes are set in __init__; methods and classes are attributes of the class.
        assert hasattr(obj, last) or last in obj.__init__.__code__.co_names, dotted


def test_an_unmanaged_rolling_service_runs_and_logs(endpoint: str, control: SandboxControl) -> None:
    from support.clients import REGION
    from support.stack import REPO_ROOT

    from orchestrator.sandbox.provision import provision

    project = "u" + uuid.uuid4().hex[:8]
    outputs = provision(endpoint, REGION, REPO_ROOT, project=project, services=("web",), unmanaged=("legacy",))
    assert list(outputs["services"]["value"]) == ["web"]  # the stack did not make it: not in the outputs
    ecs, logs = client(endpoint, "ecs"), client(endpoint, "logs")
    (service,) = ecs.describe_services(cluster=project, services=["legacy"])["services"]
    assert service["deploymentController"]["type"] == "ECS" and service["loadBalancers"] == []
    assert service["launchType"] == "FARGATE" and service["desiredCount"] == 2
    codedeploy = client(endpoint, "codedeploy")
    assert f"{project}-legacy" not in codedeploy.list_applications()["applications"]

    def running() -> list[dict[str, Any]]:
        arns = ecs.list_tasks(cluster=project, serviceName="legacy", desiredStatus="RUNNING")["taskArns"]
        tasks = ecs.describe_tasks(cluster=project, tasks=arns)["tasks"] if arns else []
        return [t for t in tasks if t["lastStatus"] == "RUNNING"]

    tasks = _until(lambda: len(running()) == 2 and running())
    assert {t["startedBy"] for t in tasks} == {service["deployments"][0]["id"]}
    for task in tasks:
        stream = f"legacy/legacy/{task['taskArn'].rsplit('/', 1)[-1]}"
        events = logs.get_log_events(logGroupName=f"/ecs/{project}/legacy", logStreamName=stream)["events"]
        assert "container legacy started" in events[0]["message"]
    ecs.update_service(cluster=project, service="legacy", desiredCount=1)
    assert len(ecs.list_tasks(cluster=project, serviceName="legacy", desiredStatus="RUNNING")["taskArns"]) == 1

"""The deployment-engine seam (orchestrator/engines/base.py), shown with a fake engine: the release
path asks the service's engine to start, follow, explain and roll back a deployment, and never talks to
CodeDeploy behind its back. Also: which engine a service gets, from the outputs' `deployment_engine`."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest
from support.outputs import service_values
from support.recorder import Recorder as Events

from orchestrator import appspec, taskdef
from orchestrator.contract import parse_outputs
from orchestrator.deployment import DeploymentView, WatchResult
from orchestrator.engines import select
from orchestrator.engines.base import DeploymentEngine
from orchestrator.engines.codedeploy.engine import CodeDeployEngine
from orchestrator.errors import DeploymentFailed, ExitCode, InputError
from orchestrator.executor import Executor
from orchestrator.plan import CreateDeployment, build_plan, describe_plan
from orchestrator.validate import Preflight

ROOT = Path(__file__).resolve().parents[2]
NEW = "arn:aws:ecs:eu-west-1:123456789012:task-definition/demo-web:2"


def _service(engine: str = "codedeploy") -> Any:
    svc = service_values("web", deployment_engine=engine)
    outputs = parse_outputs({"aws_region": "eu-west-1", "services": {"web": svc}}, "test")
    return outputs, outputs.service(None)[1]


def _plan() -> Any:
    outputs, service = _service()
    rendered = taskdef.load_and_render(ROOT / "taskdef.json", outputs, service, image="repo/web:new")
    spec = appspec.load_and_validate(ROOT / "appspec.json", rendered.taskdef)
    pre = Preflight(group={}, config={}, config_name="Cfg", service={}, checks=())
    return build_plan("release", "eu-west-1", service, rendered, spec, pre, deployment_config=None, timeout=60)


class FakeAws:
    """ECS only: RegisterTaskDefinition and DescribeServices (what the release path does itself)."""

    def client(self, name: str, retries: bool = True) -> Any:
        assert name == "ecs", f"the release path called {name} itself instead of asking the engine"
        return self

    def register_task_definition(self, **kw: Any) -> dict[str, Any]:
        return {"taskDefinition": {"taskDefinitionArn": NEW, "family": kw["family"], "revision": 2}}

    def describe_services(self, **kw: Any) -> dict[str, Any]:
        return {"services": [{"taskSets": [{"status": "PRIMARY", "taskDefinition": NEW, "id": "ts-1"}]}]}


class FakeEngine:
    """Answers from a script: how each followed deployment ends, and records what it was asked."""

    name = "fake"

    def __init__(self, outcome: str = "Succeeded", rollback: str | None = None) -> None:
        self.outcome, self.rollback = outcome, rollback
        self.calls: list[tuple[str, Any]] = []

    def start_request(self, service: Any, revision: Any, description: str, config: Any, token: str) -> dict[str, Any]:
        return {"fake": True, "revision": revision, "description": f"{description} {token}"}

    def start(self, aws: Any, request: dict[str, Any]) -> str:
        self.calls.append(("start", request))
        return "fake-1"

    def describe(self, aws: Any, deployment_id: str, target_id: str | None = None) -> DeploymentView:
        return DeploymentView(deployment_id, self.outcome)

    def watch(self, aws: Any, deployment_id: str, reporter: Any, **kw: Any) -> WatchResult:
        self.calls.append(("watch", deployment_id))
        if deployment_id == self.rollback:
            return WatchResult(DeploymentView(deployment_id, "Succeeded"), "Succeeded", 0.0, 1)
        info = {"rollbackInfo": {"rollbackDeploymentId": self.rollback}} if self.rollback else {}
        return WatchResult(DeploymentView(deployment_id, self.outcome, info=info), self.outcome, 0.0, 1)

    def poller(self, aws: Any) -> Any:
        raise AssertionError("one service is followed by watch")

    def stop(self, aws: Any, deployment_id: str, *, rollback: bool) -> str | None:
        self.calls.append(("stop", deployment_id))
        return None

    def approve(self, aws: Any, deployment_id: str) -> None:
        self.calls.append(("approve", deployment_id))

    def rollback_of(self, aws: Any, deployment_id: str, *, grace_s: float, wait_s: float) -> str | None:
        return self.rollback

    def console_url(self, region: str, deployment_id: str) -> str:
        return f"https://fake/{deployment_id}"

    def failure_evidence(self, aws: Any, view: DeploymentView, service: Any) -> Any:
        from orchestrator.evidence import Evidence

        return Evidence()

    def failure_clues(self, aws: Any, view: DeploymentView, service: Any, evidence: Any = None) -> list[str]:
        return ["the fake's stage Smoke failed"]

    def active(self, aws: Any, service: Any) -> Any:
        return None

    def history(self, aws: Any, service: Any, *, limit: int) -> list[Any]:
        return []

    def succeeded_since(self, aws: Any, service: Any, since: Any) -> list[Any]:
        return []


def test_a_codedeploy_service_gets_the_codedeploy_engine_and_it_has_every_method_of_the_seam() -> None:
    _, service = _service()
    engine = select.engine_for(service)
    assert isinstance(engine, CodeDeployEngine) and engine.name == "codedeploy"
    wanted = {n for n, _ in inspect.getmembers(DeploymentEngine, inspect.isfunction) if not n.startswith("_")}
    assert wanted >= {"start", "watch", "stop", "approve", "rollback_of", "history", "poller"}
    for name in wanted:
        ours = inspect.signature(getattr(engine, name))
        seam = inspect.signature(getattr(DeploymentEngine, name))
        assert list(ours.parameters) == list(seam.parameters)[1:], name  # same parameters, self aside


def test_an_ecs_service_gets_the_ecs_engine_with_every_method_of_the_seam() -> None:
    from orchestrator.engines.ecs.engine import EcsEngine

    _, service = _service("ecs")
    engine = select.engine_for(service, "web")
    assert isinstance(engine, EcsEngine) and engine.name == "ecs"
    wanted = {n for n, _ in inspect.getmembers(DeploymentEngine, inspect.isfunction) if not n.startswith("_")}
    for name in wanted:
        ours = inspect.signature(getattr(engine, name))
        seam = inspect.signature(getattr(DeploymentEngine, name))
        assert list(ours.parameters) == list(seam.parameters)[1:], name


def test_an_engine_this_version_cannot_drive_is_refused_as_bad_input_naming_the_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(select.ENGINES, "ecs")
    _, service = _service("ecs")
    with pytest.raises(InputError) as err:
        select.engine_for(service, "web")
    assert err.value.exit_code == ExitCode.BAD_INPUT
    assert "services.web.deployment_engine is 'ecs'" in str(err.value) and "not supported yet" in str(err.value)


def test_the_plan_holds_the_engines_start_request_and_the_executor_sends_it_through_the_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeEngine()
    monkeypatch.setitem(select.ENGINES, "codedeploy", fake)
    plan = _plan()
    create = next(s for s in plan.steps if isinstance(s, CreateDeployment))
    assert create.params["fake"] is True and "release=" in create.params["description"]
    # --dry-run shows the engine's request with the revision still a placeholder
    shown = describe_plan(plan, None).calls[1]["params"]
    assert "<task_definition_arn>" in shown["revision"]["content"]
    events = Events()
    result = Executor(FakeAws(), events).execute(plan)  # type: ignore[arg-type]
    (start, sent), watched = fake.calls[0], fake.calls[1]
    assert start == "start" and watched == ("watch", "fake-1")
    assert (
        json.loads(sent["revision"]["content"])["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"] == NEW
    )  # the registered revision, filled in
    assert result["status"] == "Succeeded" and result["deployment_id"] == "fake-1"
    assert result["console_url"] == "https://fake/fake-1"
    assert "live_verified" in [e.kind for e in events.events]


def test_a_failed_deployment_is_explained_by_the_engine_and_its_rollback_followed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeEngine(outcome="Failed", rollback="fake-2")
    monkeypatch.setitem(select.ENGINES, "codedeploy", fake)
    ex = Executor(FakeAws(), Events())  # type: ignore[arg-type]
    with pytest.raises(DeploymentFailed) as err:
        ex.execute(_plan())
    assert ("watch", "fake-2") in fake.calls  # the rollback followed through the engine
    assert "the fake's stage Smoke failed" in str(err.value)
    assert "rolled back by fake-2 (succeeded)" in str(err.value)
    assert ex.result["rollback_status"] == "Succeeded"

"""The plan and its executor, with fake AWS clients (no sandbox).

A signal that arrives while a write is in flight must not leave the report and AWS disagreeing: the
write completes, its result is recorded, then the interrupt ends the command saying what exists.
The dry run describes the same steps the executor runs, without calling anything.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from support.outputs import service_values
from support.recorder import Recorder as Events

from orchestrator import appspec, taskdef
from orchestrator.contract import parse_outputs
from orchestrator.errors import ExitCode
from orchestrator.executor import DeploymentInterrupted, Executor
from orchestrator.plan import build_plan, describe_plan
from orchestrator.validate import Preflight

ROOT = Path(__file__).resolve().parents[2]
LIVE = "arn:aws:ecs:eu-west-1:123456789012:task-definition/demo-web:1"
NEW = "arn:aws:ecs:eu-west-1:123456789012:task-definition/demo-web:2"


def _plan(no_wait: bool = True, image: str = "repo/web:new", **kw: Any) -> Any:
    svc = service_values("web")
    outputs = parse_outputs({"aws_region": "eu-west-1", "services": {"web": svc}}, "test")
    _, service = outputs.service(None)
    rendered = taskdef.load_and_render(ROOT / "taskdef.json", outputs, service, image=image)
    spec = appspec.load_and_validate(ROOT / "appspec.json", rendered.taskdef)
    pre = Preflight(
        group={}, config={}, config_name="CodeDeployDefault.ECSAllAtOnce", service={"taskDefinition": LIVE}, checks=()
    )
    return build_plan(
        "release", "eu-west-1", service, rendered, spec, pre, deployment_config=None, no_wait=no_wait, timeout=60, **kw
    )


class FakeAws:
    """Records calls; `interrupt_on` sends SIGINT to this process in the middle of that call."""

    def __init__(self, interrupt_on: str | None = None) -> None:
        self.interrupt_on = interrupt_on
        self.calls: list[str] = []

    def client(self, name: str, retries: bool = True) -> Any:
        return self

    def _call(self, op: str) -> None:
        self.calls.append(op)
        if op == self.interrupt_on:
            os.kill(os.getpid(), signal.SIGINT)

    def register_task_definition(self, **kw: Any) -> dict[str, Any]:
        self._call("RegisterTaskDefinition")
        return {"taskDefinition": {"taskDefinitionArn": NEW, "family": kw["family"], "revision": 2}}

    def create_deployment(self, **kw: Any) -> dict[str, Any]:
        self._call("CreateDeployment")
        self.sent = kw
        content = json.loads(kw["revision"]["appSpecContent"]["content"])
        assert content["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"] == NEW
        return {"deploymentId": "d-FAKE"}


def test_interrupt_during_register_keeps_the_registration_and_stops_before_create() -> None:
    aws = FakeAws(interrupt_on="RegisterTaskDefinition")
    ex = Executor(aws, Events())  # type: ignore[arg-type]
    with pytest.raises(DeploymentInterrupted) as err:
        ex.execute(_plan())
    assert aws.calls == ["RegisterTaskDefinition"]
    assert err.value.task_definition_arn == NEW and err.value.deployment_id is None
    assert "registered but unused" in str(err.value)
    assert err.value.exit_code == ExitCode.INTERRUPTED
    assert ex.result["task_definition_arn"] == NEW and ex.result["status"] == "Interrupted"


def test_interrupt_during_create_reports_the_running_deployment() -> None:
    aws = FakeAws(interrupt_on="CreateDeployment")
    ex = Executor(aws, Events())  # type: ignore[arg-type]
    with pytest.raises(DeploymentInterrupted) as err:
        ex.execute(_plan())
    assert aws.calls == ["RegisterTaskDefinition", "CreateDeployment"]
    assert err.value.deployment_id == "d-FAKE"
    assert "deployment d-FAKE is still running" in str(err.value)


def test_no_wait_plan_registers_then_creates() -> None:
    aws = FakeAws()
    events = Events()
    result = Executor(aws, events).execute(_plan())  # type: ignore[arg-type]
    assert aws.calls == ["RegisterTaskDefinition", "CreateDeployment"]
    assert result["deployment_id"] == "d-FAKE" and result["task_definition_arn"] == NEW
    assert result["image"] == "repo/web:new"
    kinds = [e.kind for e in events.events]
    assert kinds.index("task_definition_registered") < kinds.index("deployment_created")


def test_dry_run_describes_the_same_steps_and_calls_nothing() -> None:
    plan = _plan(no_wait=False)
    live = dict(plan.rendered.taskdef)
    live["containerDefinitions"] = [dict(live["containerDefinitions"][0], image="repo/web:old", mountPoints=[])]
    rendered = describe_plan(plan, live)
    assert [c["call"].split(" ")[0] for c in rendered.calls] == [
        "ecs.RegisterTaskDefinition",
        "codedeploy.CreateDeployment",
        "codedeploy.GetDeployment",
        "ecs.DescribeServices",
    ]
    assert '-      "image": "repo/web:old",' in rendered.taskdef_diff
    assert '+      "image": "repo/web:new",' in rendered.taskdef_diff
    assert "mountPoints" not in rendered.taskdef_diff  # describe's empty defaults are no change
    assert rendered.live_task_definition_arn == LIVE
    assert "nothing was written" in rendered.describe()


def test_the_build_is_read_from_the_image_tag_before_the_checkout() -> None:
    from orchestrator.plan import build_commit, image_commit

    sha = "0123456789abcdef0123456789abcdef01234567"
    assert image_commit(f"1.dkr.ecr.eu-west-1.amazonaws.com/demo/web:{sha}") == sha
    assert image_commit(f"registry:5000/web:{sha}-dirty-20260101T000000Z") == sha
    assert image_commit(f"web:{sha}@sha256:{'a' * 64}") == sha
    for no_commit in ("web:latest", "web:1234567", f"web@sha256:{'a' * 64}", f"host:{sha[:5]}/web", "web"):
        assert image_commit(no_commit) is None, no_commit
    assert build_commit(f"web:{sha}", checkout=lambda: "f" * 40) == sha
    assert build_commit("web:v1", checkout=lambda: "f" * 40) == "f" * 40


def test_dry_run_diff_redacts_both_sides_and_still_shows_a_changed_value() -> None:
    from orchestrator.taskdef import redacted

    plan = _plan(no_wait=False)
    web = plan.rendered.taskdef["containerDefinitions"][0]
    web["environment"] = [{"name": "TOKEN", "value": "new-secret"}, {"name": "SAME", "value": "kept-secret"}]
    live = dict(plan.rendered.taskdef)
    live["containerDefinitions"] = [
        dict(web, environment=[{"name": "TOKEN", "value": "old-secret"}, {"name": "SAME", "value": "kept-secret"}])
    ]
    text = describe_plan(plan, live).taskdef_diff
    for value in ("new-secret", "old-secret", "kept-secret"):
        assert value not in text
    assert f'-          "value": "{redacted("TOKEN", "old-secret")}"' in text
    assert f'+          "value": "{redacted("TOKEN", "new-secret")}"' in text
    assert redacted("SAME", "kept-secret") not in "".join(line for line in text.splitlines() if line[:1] in "+-")
    shown = describe_plan(plan, live, show_values=True)
    assert "new-secret" in shown.taskdef_diff and "new-secret" in json.dumps(shown.calls)


def test_the_dry_run_shows_the_create_request_the_executor_sends_cut_at_512() -> None:
    plan = _plan(description="orchestrator release " + "x" * 600)  # longer than CreateDeployment's 512
    shown = next(c for c in describe_plan(plan, None).calls if c["call"] == "codedeploy.CreateDeployment")
    assert len(shown["params"]["description"]) == 512
    assert " release=" in shown["params"]["description"][-21:]  # the token survives the cut
    aws = FakeAws()
    Executor(aws, Events()).execute(plan)  # type: ignore[arg-type]
    sent = json.loads(json.dumps(aws.sent))
    content = shown["params"]["revision"]["appSpecContent"]["content"].replace("<task_definition_arn>", NEW)
    assert sent["revision"]["appSpecContent"]["content"] == content
    assert {k: v for k, v in sent.items() if k != "revision"} == {
        k: v for k, v in shown["params"].items() if k != "revision"
    }


def test_the_plan_carries_the_git_sha_as_data() -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    plan = _plan(image=f"repo/web:{sha}")
    assert plan.git_sha == sha

"""Pieces of the operations commands that need no AWS: build order, description parsing, history
links, the rollback target, the IAM principal to simulate."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.recorder import Recorder

from orchestrator.description import DeploymentDescription, parse_tokens, with_token
from orchestrator.doctor import principal_arn
from orchestrator.events import Message
from orchestrator.history import DeploymentRecord, complete
from orchestrator.operations import previous_success
from orchestrator.policy import OlderBuildError, check_build_order, commit_order, running_build

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def rec(dep: str, status: str, td: str | None, sha: str | None, minutes: int, **kw: object) -> DeploymentRecord:
    return DeploymentRecord(
        deployment_id=dep,
        status=status,
        creator=str(kw.pop("creator", "user")),
        description=f"orchestrator release git={sha} image=img" if sha else "",
        task_definition=td,
        git_sha=sha,
        created=T0 + timedelta(minutes=minutes),
        **kw,  # type: ignore[arg-type]
    )


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, list[str]]:
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "t@example.com")
    git(tmp_path, "config", "user.name", "t")
    shas = []
    for i in range(3):
        (tmp_path / "f").write_text(str(i))
        git(tmp_path, "add", "f")
        git(tmp_path, "commit", "-q", "-m", f"c{i}")
        shas.append(git(tmp_path, "rev-parse", "HEAD"))
    return tmp_path, shas


def test_description_tokens_give_git_sha_and_image() -> None:
    text = "orchestrator release git=0123abcd4567 image=1234.dkr.ecr/x:y"
    assert DeploymentDescription.parse(text).git == "0123abcd4567"
    assert parse_tokens(text)["image"] == "1234.dkr.ecr/x:y"
    assert DeploymentDescription.parse("orchestrator release git=unknown image=x").git is None
    assert DeploymentDescription.parse(None).git is None
    assert DeploymentDescription.parse("by hand sha=ABCDEF1").git == "abcdef1"  # other writers' spelling


def test_a_description_reads_back_what_was_written_and_keeps_its_token_within_512() -> None:
    said = DeploymentDescription("orchestrator rollback to web:3", "a" * 40, "repo/web:v1", "web:4")
    text = said.text("release=0123456789ab")
    assert text == f"orchestrator rollback to web:3 git={'a' * 40} image=repo/web:v1 from=web:4 release=0123456789ab"
    back = DeploymentDescription.parse(text)
    assert back == DeploymentDescription(said.what, said.git, said.image, said.origin, "0123456789ab")
    assert DeploymentDescription("orchestrator release", None, None).text() == "orchestrator release"
    assert (
        DeploymentDescription("orchestrator release", "", "").text() == "orchestrator release git=unknown image=unknown"
    )
    long = with_token("x" * 600, "release=abc")
    assert len(long) == 512 and long.endswith(" release=abc")


def test_commit_order_from_the_repository(repo: tuple[Path, list[str]]) -> None:
    path, (c0, c1, c2) = repo
    assert commit_order(c0, c2, path) == "older"
    assert commit_order(c2, c1, path) == "newer"
    assert commit_order(c1[:12], c1, path) == "same"
    assert commit_order("f" * 40, c1, path) is None  # not in this repository


def test_older_build_is_refused_by_commit_order(repo: tuple[Path, list[str]]) -> None:
    path, (c0, _, c2) = repo
    running = rec("d-2", "Succeeded", "td:2", c2, 2)
    with pytest.raises(OlderBuildError, match="older build") as err:
        check_build_order(c0, running, [running], Recorder(), repo_dir=path)
    assert err.value.exit_code == 2
    check_build_order(c2, running, [running], Recorder(), repo_dir=path)  # the same build: allowed


def test_older_build_by_deployment_times_without_the_repository(tmp_path: Path) -> None:
    # Commits unknown here (no repository): the build deployed earlier than the running one is older.
    old, new, fresh = "a" * 40, "b" * 40, "c" * 40
    history = [rec("d-2", "Succeeded", "td:2", new, 2), rec("d-1", "Succeeded", "td:1", old, 1)]
    running = running_build(history, "td:2")
    assert running is not None and running.deployment_id == "d-2"
    with pytest.raises(OlderBuildError, match="deployment times"):
        check_build_order(old, running, history, Recorder(), repo_dir=tmp_path)
    check_build_order(fresh, running, history, Recorder(), repo_dir=tmp_path)  # never deployed: newer


def test_no_git_sha_warns_instead_of_guessing(tmp_path: Path) -> None:
    running = rec("d-1", "Succeeded", "td:1", "a" * 40, 1)
    sink = Recorder()
    check_build_order(None, running, [running], sink, repo_dir=tmp_path)
    assert any(isinstance(e, Message) and e.level == "warning" for e in sink.events)


def test_rollback_target_is_the_previous_successful_task_definition() -> None:
    history = [
        rec("d-4", "Failed", "td:4", None, 4),
        rec("d-3", "Succeeded", "td:3", None, 3),
        rec("d-2", "Succeeded", "td:3", None, 2),
        rec("d-1", "Succeeded", "td:1", None, 1),
    ]
    current, previous = previous_success(history, "td:3")
    assert current is not None and current.deployment_id == "d-3"
    assert previous is not None and previous.task_definition == "td:1"


def test_rollback_target_is_the_newest_of_several_earlier_successes() -> None:
    """Newest first: two earlier successes with other task definitions; the rollback takes the newer."""
    history = [
        rec("d-6", "Succeeded", "td:6", None, 6),
        rec("d-5", "Failed", "td:5", None, 5),
        rec("d-4", "Succeeded", "td:4", None, 4),
        rec("d-3", "Stopped", "td:3", None, 3),
        rec("d-2", "Succeeded", "td:2", None, 2),
        rec("d-1", "Succeeded", "td:1", None, 1),
    ]
    current, previous = previous_success(history, "td:6")
    assert current is not None and current.deployment_id == "d-6"
    assert previous is not None and (previous.deployment_id, previous.task_definition) == ("d-4", "td:4")
    # Running something no success put in place (a manual update): the newest success is the target.
    _, previous = previous_success(history, "td:99")
    assert previous is not None and previous.deployment_id == "d-6"


def test_history_links_rollbacks_and_infers_their_task_definition() -> None:
    records = [
        rec("d-3", "Succeeded", None, None, 3, creator="autoRollback", rollback_of="d-2"),
        rec("d-2", "Failed", "td:2", "b" * 40, 2),
        rec("d-1", "Succeeded", "td:1", "a" * 40, 1),
    ]
    out = {r.deployment_id: r for r in complete(records, None)}
    assert out["d-2"].rolled_back_by == "d-3"
    assert out["d-3"].task_definition == "td:1"
    assert out["d-3"].git_sha == "a" * 40


@pytest.mark.parametrize(
    ("caller", "principal"),
    [
        ("arn:aws:sts::123456789012:assumed-role/ci-deploy/gh-run-1", "arn:aws:iam::123456789012:role/ci-deploy"),
        ("arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/alice"),
        ("arn:aws:iam::123456789012:root", None),
    ],
)
def test_principal_to_simulate(caller: str, principal: str | None) -> None:
    assert principal_arn(caller)[0] == principal


class _Rejected(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.response = {"Error": {"Code": code, "Message": "the group has active deployment d-OTHER"}}


class _FakeExecutor:
    """Stands in for executor.Executor: the first create loses the race, as another release created first."""

    def __init__(self) -> None:
        self.written: dict[str, object] = {}
        self.step_kinds: list[list[str]] = []

    def execute(self, plan: object) -> dict[str, object]:
        from orchestrator.errors import DeploymentFailed

        self.step_kinds.append([type(s).__name__ for s in plan.steps])  # type: ignore[attr-defined]
        if len(self.step_kinds) == 1:
            self.written["task_definition_arn"] = "arn:td:7"
            try:
                raise _Rejected("DeploymentLimitExceededException")
            except _Rejected as exc:  # the executor wraps AWS's rejection of the create
                raise DeploymentFailed("CodeDeploy refused the deployment") from exc
        return {"status": "Succeeded"}


def _race(monkeypatch: pytest.MonkeyPatch, if_active: str, winner: object = None) -> tuple[_FakeExecutor, object]:
    """`winner`: what reattach_after_race finds (None: the deployment that won deploys something else)."""
    from dataclasses import dataclass, field

    from orchestrator import policy
    from orchestrator.plan import CreateDeployment, RegisterTaskDefinition, Var, VerifyLive

    @dataclass
    class Plan:
        steps: list[object]
        bindings: dict[str, object] = field(default_factory=dict)
        on_cancel: str = "leave"
        on_timeout: str = "leave"

    monkeypatch.setattr(policy, "before_create", lambda *a, **k: policy.Decision())
    monkeypatch.setattr(policy, "reattach_after_race", lambda *a, **k: winner)
    monkeypatch.setattr(
        policy, "reattach", lambda plan, dep, td: Plan([VerifyLive("c", "s", td)], {"deployment_id": dep})
    )
    monkeypatch.setattr(policy.time, "sleep", lambda s: None)
    plan = Plan(
        [
            RegisterTaskDefinition(params={}, image="img"),
            CreateDeployment({"applicationName": "app"}, Var("task_definition_arn"), "app", "group"),  # type: ignore[arg-type]
            VerifyLive("c", "s", Var("task_definition_arn")),
        ]
    )
    target = type("T", (), {"aws": None, "service": None})()
    ex = _FakeExecutor()
    try:
        result: object = policy.run_release(policy.ReleasePolicy(if_active=if_active), target, plan, ex, Recorder())  # type: ignore[arg-type]
    except Exception as exc:
        result = exc
    return ex, result


def test_a_release_that_loses_the_create_race_applies_the_policy_again(monkeypatch: pytest.MonkeyPatch) -> None:
    ex, result = _race(monkeypatch, "wait")
    assert result == {"status": "Succeeded"}
    # The second attempt reuses the registered task definition: no second registration.
    assert ex.step_kinds == [
        ["RegisterTaskDefinition", "CreateDeployment", "VerifyLive"],
        ["CreateDeployment", "VerifyLive"],
    ]


def test_a_lost_create_race_under_if_active_fail_names_the_other_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.policy import ActiveDeploymentError

    ex, result = _race(monkeypatch, "fail")
    assert isinstance(result, ActiveDeploymentError) and result.exit_code == 1
    assert "d-OTHER" in str(result)
    assert len(ex.step_kinds) == 1


@pytest.mark.parametrize("if_active", ["fail", "wait", "replace"])
def test_a_lost_race_to_an_identical_deployment_reattaches_under_every_policy(
    monkeypatch: pytest.MonkeyPatch, if_active: str
) -> None:
    from orchestrator import policy
    from orchestrator.history import DeploymentRecord

    winner = policy.Decision(reattach=DeploymentRecord("d-OTHER", "InProgress", "user", task_definition="td:9"))
    ex, result = _race(monkeypatch, if_active, winner)
    assert result == {"status": "Succeeded"}, result
    assert ex.step_kinds[-1] == ["VerifyLive"]  # followed d-OTHER: no second create


@pytest.mark.parametrize("newest_first", [True, False])
def test_newest_records_fetches_only_the_newer_end_of_a_long_list(newest_first: bool) -> None:
    from orchestrator.history import newest_records

    created = {f"d-{i:03d}": T0 + timedelta(minutes=i) for i in range(300)}
    listed = sorted(created, reverse=newest_first)
    fetched: list[str] = []

    class CodeDeploy:
        def batch_get_deployments(self, deploymentIds: list[str]) -> dict[str, object]:
            fetched.extend(deploymentIds)
            return {
                "deploymentsInfo": [
                    {"deploymentId": d, "status": "Succeeded", "createTime": created[d]} for d in deploymentIds
                ]
            }

    aws = type("Aws", (), {"client": lambda self, name: CodeDeploy()})()
    records = newest_records(aws, listed, 10)
    assert [r.deployment_id for r in records] == [f"d-{i:03d}" for i in range(299, 289, -1)]
    assert len(fetched) <= 100  # not all 300


def test_rollback_without_history_takes_the_familys_previous_good_revision() -> None:
    from orchestrator.operations import _previous_revision

    arns = [f"arn:aws:ecs:eu-west-1:1:task-definition/demo-web:{i}" for i in (1, 2, 3, 4)]
    arns.append("arn:aws:ecs:eu-west-1:1:task-definition/demo-web-other:9")

    class Paginator:
        def paginate(self, **kw: object) -> list[dict[str, object]]:
            assert kw == {"familyPrefix": "demo-web", "status": "ACTIVE"}
            return [{"taskDefinitionArns": arns}]

    class Ecs:
        def get_paginator(self, name: str) -> Paginator:
            return Paginator()

    aws: Any = type("Aws", (), {"client": lambda self, name: Ecs()})()
    assert _previous_revision(aws, arns[3], set()) == arns[2]
    assert _previous_revision(aws, arns[3], {arns[2]}) == arns[1]  # a revision whose deployment failed is skipped
    assert _previous_revision(aws, arns[0], set()) is None


def test_a_rollback_naming_the_task_definition_it_rolls_back_is_not_believed() -> None:
    records = [
        rec("d-2", "Succeeded", "td:9", None, 2, creator="codeDeployRollback", rollback_of="d-1"),
        rec("d-1", "Stopped", "td:9", "b" * 40, 1),
    ]
    out = {r.deployment_id: r for r in complete(records, None)}
    assert out["d-2"].task_definition is None  # unknown, rather than the stopped deployment's
    assert out["d-2"].origin == "stopRollback"


def test_an_equal_task_definition_tolerates_what_ecs_fills_in_but_not_changes() -> None:
    from orchestrator.taskdef_compare import covers

    ours = {
        "family": "f",
        "containerDefinitions": [{"name": "web", "image": "i:1", "portMappings": [{"containerPort": 80}]}],
    }
    container: dict[str, Any] = {
        "name": "web",
        "image": "i:1",
        "portMappings": [{"containerPort": 80, "hostPort": 80}],
        "essential": True,
    }
    live: dict[str, Any] = {"family": "f", "containerDefinitions": [container]}
    assert covers(live, ours)
    assert not covers({**live, "containerDefinitions": [{**container, "image": "i:2"}]}, ours)
    assert not covers({**live, "containerDefinitions": [container, container]}, ours)


def test_history_reads_one_by_one_when_batch_reads_are_not_granted() -> None:
    from orchestrator.history import get_records

    class CodeDeploy:
        def batch_get_deployments(self, deploymentIds: list[str]) -> dict[str, object]:
            raise _Rejected("AccessDeniedException")

        def get_deployment(self, deploymentId: str) -> dict[str, object]:
            return {"deploymentInfo": {"deploymentId": deploymentId, "status": "Succeeded", "createTime": T0}}

    aws: Any = type("Aws", (), {"client": lambda self, name: CodeDeploy()})()
    assert [r.deployment_id for r in get_records(aws, ["d-1", "d-2"])] == ["d-1", "d-2"]


def test_a_rollback_after_an_alarm_stop_is_an_alarm_rollback() -> None:
    # botocore's ErrorCode enum: ALARM_ACTIVE is how CodeDeploy says an alarm stopped the deployment.
    alarm_error = "ALARM_ACTIVE: One or more alarms have been activated ... Activated alarms: <web-5xx>"
    records = [
        rec("d-4", "Succeeded", None, None, 4, creator="codeDeployRollback", rollback_of="d-3"),
        rec("d-3", "Stopped", "td:3", "c" * 40, 3, error=alarm_error),
        rec("d-2", "Succeeded", None, None, 2, creator="codeDeployRollback", rollback_of="d-1"),
        rec("d-1", "Stopped", "td:1", "a" * 40, 1, error="MANUAL_STOP: The deployment was stopped by the user."),
    ]
    out = {r.deployment_id: r for r in complete(records, None)}
    assert out["d-4"].origin == "alarmRollback"
    assert out["d-2"].origin == "stopRollback"


def test_alarm_names_come_from_an_alarm_active_stop_only() -> None:
    from orchestrator.deployment import alarm_names

    message = (
        "One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, and "
        "the affected deployments have been stopped. Activated alarms: <web-5xx> <web-latency>"
    )
    assert alarm_names({"code": "ALARM_ACTIVE", "message": message}) == ["web-5xx", "web-latency"]
    assert alarm_names({"code": "HOOK_EXECUTION_FAILURE", "message": message}) == []
    assert alarm_names({}) == []

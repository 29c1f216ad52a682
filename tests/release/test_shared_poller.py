"""The shared poller (orchestrator/poller.py): many deployments, few calls, every end seen at once."""

from __future__ import annotations

from typing import Any

from support.recorder import Recorder

from orchestrator.events import DeploymentProgress, for_service
from orchestrator.poller import BATCH_MAX, TARGETS_PER_TICK, Followed, SharedPoller


class FakeCodeDeploy:
    """Deployments whose status the test sets; counts the calls."""

    def __init__(self, ids: list[str]) -> None:
        self.status = dict.fromkeys(ids, "InProgress")
        self.batch_calls: list[int] = []
        self.target_calls = 0

    def batch_get_deployments(self, deploymentIds: list[str]) -> dict[str, Any]:
        assert len(deploymentIds) <= BATCH_MAX
        self.batch_calls.append(len(deploymentIds))
        return {"deploymentsInfo": [{"deploymentId": d, "status": self.status[d]} for d in deploymentIds]}

    def get_deployment_target(self, deploymentId: str, targetId: str) -> dict[str, Any]:
        self.target_calls += 1
        return {"deploymentTarget": {"ecsTarget": {"lifecycleEvents": [], "taskSetsInfo": []}}}


class FakeAws:
    def __init__(self, cd: FakeCodeDeploy) -> None:
        self.cd = cd

    def client(self, name: str, retries: bool = True) -> Any:
        assert name == "codedeploy"
        return self.cd


def _poller(n: int) -> tuple[SharedPoller, FakeCodeDeploy, Recorder, list[float]]:
    ids = [f"d-{i:03d}" for i in range(n)]
    cd = FakeCodeDeploy(ids)
    now = [0.0]
    poller = SharedPoller(FakeAws(cd), clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))  # type: ignore[arg-type]
    rec = Recorder()
    for i, dep in enumerate(ids):
        poller.follow(Followed(dep, for_service(rec, f"svc{i:02d}"), f"demo:svc{i:02d}"))
    return poller, cd, rec, now


def test_forty_deployments_cost_two_batch_calls_and_a_few_targets_per_poll() -> None:
    poller, cd, _, _ = _poller(40)
    for _ in range(5):
        poller.poll()
        poller.wait()
    assert cd.batch_calls[:2] == [25, 15]  # 40 ids in BatchGetDeployments' pages of 25
    assert len(cd.batch_calls) == 10
    assert cd.target_calls <= 5 * TARGETS_PER_TICK


def test_an_end_is_seen_at_the_next_poll_whatever_the_number_of_deployments() -> None:
    poller, cd, rec, _ = _poller(20)
    poller.poll()
    cd.status["d-017"] = "Failed"
    cd.status["d-003"] = "Succeeded"
    ended = {f.deployment_id: f.outcome for f in poller.poll()}
    assert ended == {"d-017": "Failed", "d-003": "Succeeded"}
    assert {f.deployment_id for f in poller.active} == {f"d-{i:03d}" for i in range(20)} - {"d-017", "d-003"}
    # Every progress event carries its service's key.
    progress = rec.of(DeploymentProgress)
    assert {e.service_key for e in progress} == {f"svc{i:02d}" for i in range(20)}
    last = [e for e in progress if e.deployment_id == "d-017"][-1]
    assert last.status == "Failed" and last.service_key == "svc17"


def test_a_deployment_past_its_timeout_ends_as_timed_out() -> None:
    poller, _cd, _, now = _poller(2)
    poller.followed["d-001"].timeout = 30.0
    poller.poll()
    now[0] += 31.0
    ended = {f.deployment_id: f.outcome for f in poller.poll()}
    assert ended == {"d-001": "TimedOut"}
    assert [f.deployment_id for f in poller.active] == ["d-000"]


def test_quiet_deployments_are_polled_less_often() -> None:
    poller, _cd, _, now = _poller(3)
    for _ in range(30):
        poller.poll()
        poller.wait()
    # Nothing changed for 30 polls: the interval grew (deployment.PollPolicy) instead of 1 s each.
    assert now[0] > 60.0


def test_after_one_deployment_ends_the_others_are_read_again_at_once() -> None:
    """Deployments started together end together: after a status change the next poll is MIN_INTERVAL
    away, even when every deployment's own interval has grown (a quiet termination wait)."""
    poller, cd, _, now = _poller(3)
    for _ in range(12):  # quiet: the intervals grow
        poller.wait()
        poller.poll()
    assert all(f.due_at - now[0] > 2.0 for f in poller.active)  # the next poll would be a while away
    cd.status["d-000"] = "Succeeded"
    assert [f.deployment_id for f in poller.poll()] == ["d-000"]
    t1 = now[0]
    poller.wait()
    assert now[0] - t1 <= 1.0

"""The watcher's polling against a scripted CodeDeploy on a fake clock (no sleeping, no sandbox).

A canary deployment with real-world waits (5-minute canary, 5-minute termination wait): the watcher must
notice each end within about two seconds of simulated time, without polling every second through the
long waits; throttling slows it down instead of failing it. The budget follows the configuration.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from orchestrator.deployment import WaitModel, default_timeout, wait_model, watch
from orchestrator.errors import TimedOut
from orchestrator.events import DeploymentProgress, Event, Message

CANARY_AT, SHIFTED_AT, HOOKS_DONE_AT, DONE_AT = 60.0, 360.0, 365.0, 665.0
NAMES = ("BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic",
         "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic")  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds


class FakeCodeDeploy:
    """get_deployment / get_deployment_target as a function of the fake time."""

    def __init__(self, clock: Clock, throttle_first: int = 0) -> None:
        self.clock = clock
        self.calls: list[tuple[str, float]] = []
        self.throttle_left = throttle_first

    def _maybe_throttle(self, op: str) -> None:
        if self.throttle_left:
            self.throttle_left -= 1
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, op)

    def get_deployment(self, deploymentId: str) -> dict[str, Any]:
        self._maybe_throttle("GetDeployment")
        t = self.clock.now
        self.calls.append(("GetDeployment", t))
        status = "Created" if t < 2 else "InProgress" if t < DONE_AT else "Succeeded"
        return {"deploymentInfo": {"deploymentId": deploymentId, "status": status}}

    def get_deployment_target(self, deploymentId: str, targetId: str) -> dict[str, Any]:
        t = self.clock.now
        self.calls.append(("GetDeploymentTarget", t))
        done_upto = 6 if t < CANARY_AT else 6 if t < SHIFTED_AT else 7 if t < HOOKS_DONE_AT else 8
        events = []
        for i, name in enumerate(NAMES):
            status = "Succeeded" if i < done_upto else "InProgress" if i == done_upto else "Pending"
            events.append({"lifecycleEventName": name, "status": status})
        green = 0.0 if t < CANARY_AT else 10.0 if t < SHIFTED_AT else 100.0
        sets = [
            {"taskSetLabel": "Blue", "trafficWeight": 100.0 - green},
            {"taskSetLabel": "Green", "trafficWeight": green},
        ]
        return {"deploymentTarget": {"ecsTarget": {"lifecycleEvents": events, "taskSetsInfo": sets}}}


class FakeAws:
    def __init__(self, codedeploy: FakeCodeDeploy) -> None:
        self.codedeploy = codedeploy

    def client(self, name: str) -> Any:
        assert name == "codedeploy"
        return self.codedeploy


class Collect:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.events: list[tuple[float, Event]] = []

    def emit(self, event: Event) -> None:
        self.events.append((self.clock.now, event))

    def close(self) -> None:
        pass


def _run(throttle_first: int = 0, until: str = "complete") -> tuple[Any, Collect, FakeCodeDeploy, Clock]:
    clock = Clock()
    cd = FakeCodeDeploy(clock, throttle_first)
    rep = Collect(clock)
    result = watch(
        FakeAws(cd),  # type: ignore[arg-type]
        "d-TEST",
        rep,
        until=until,
        timeout=3600,
        target_id="demo:web",
        waits=WaitModel(traffic_interval_s=300, termination_wait_s=300),
        clock=clock,
        sleep=clock.sleep,
    )
    return result, rep, cd, clock


def test_each_end_is_seen_within_two_seconds_without_polling_through_the_waits() -> None:
    result, rep, cd, clock = _run()
    assert result.outcome == "Succeeded"
    assert DONE_AT <= clock.now <= DONE_AT + 2
    progress = [(t, e) for t, e in rep.events if isinstance(e, DeploymentProgress)]
    first_full = next(t for t, e in progress if e.green_weight == 100.0)
    assert SHIFTED_AT <= first_full <= SHIFTED_AT + 2
    assert any(e.green_weight == 10.0 for _, e in progress)
    # Eleven minutes of deployment; a 1-second poller would call ~1,300 times, a 15-second one ~90.
    assert len(cd.calls) < 90
    # Once every lifecycle event is done, only the status is polled.
    assert all(op == "GetDeployment" for op, t in cd.calls if t > HOOKS_DONE_AT + 2)


def test_traffic_shifted_returns_before_the_termination_wait() -> None:
    result, _, _, clock = _run(until="traffic-shifted")
    assert result.outcome == "traffic-shifted"
    assert HOOKS_DONE_AT <= clock.now <= HOOKS_DONE_AT + 2


def test_throttling_slows_polling_down_and_is_reported() -> None:
    result, rep, _, _ = _run(throttle_first=3)
    assert result.outcome == "Succeeded"
    warnings = [e for _, e in rep.events if isinstance(e, Message) and e.level == "warning"]
    assert len(warnings) == 3 and "throttled" in warnings[0].text


def test_timeout_raises_with_the_deployment_still_running() -> None:
    clock = Clock()
    cd = FakeCodeDeploy(clock)
    with pytest.raises(TimedOut, match="d-TEST still InProgress after 100s; it keeps running"):
        watch(FakeAws(cd), "d-TEST", Collect(clock), timeout=100, target_id="demo:web", clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]
    assert clock.now <= 101


GROUP = {
    "blueGreenDeploymentConfiguration": {
        "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
        "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 5},
    }
}


def _config(kind: str, **routing: Any) -> dict[str, Any]:
    return {"trafficRoutingConfig": {"type": kind, **routing}}


def test_budget_counts_canary_linear_ready_and_termination_waits() -> None:
    base = default_timeout(GROUP, _config("AllAtOnce"), "complete")
    canary = default_timeout(
        GROUP, _config("TimeBasedCanary", timeBasedCanary={"canaryPercentage": 10, "canaryInterval": 15})
    )
    linear = default_timeout(
        GROUP, _config("TimeBasedLinear", timeBasedLinear={"linearPercentage": 10, "linearInterval": 3})
    )
    assert canary - base == 15 * 60
    assert linear - base == 9 * 3 * 60  # ten steps of 10%: nine waits
    assert base - default_timeout(GROUP, _config("AllAtOnce"), "traffic-shifted") == 5 * 60
    manual = {
        "blueGreenDeploymentConfiguration": {
            "deploymentReadyOption": {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 30}
        }
    }
    assert default_timeout(manual, _config("AllAtOnce")) == base - 5 * 60 + 30 * 60
    # Each AppSpec hook may take the hour CodeDeploy gives its function to report (user guide, ECS hooks).
    assert default_timeout(GROUP, _config("AllAtOnce"), "complete", hooks=2) - base == 2 * 60 * 60


def test_wait_model_follows_the_time_scale() -> None:
    canary = _config("TimeBasedCanary", timeBasedCanary={"canaryPercentage": 10, "canaryInterval": 5})
    model = wait_model(GROUP, canary, time_scale=0.01)
    assert model.traffic_interval_s == pytest.approx(3.0)
    assert model.termination_wait_s == pytest.approx(3.0)


class EndingCodeDeploy(FakeCodeDeploy):
    """The canary deployment ends `ending` (Failed: AllowTraffic fails and CodeDeploy rolls back;
    Stopped: someone stops it) at `end_at`, in the middle of the 5-minute canary."""

    def __init__(self, clock: Clock, ending: str, end_at: float) -> None:
        super().__init__(clock)
        self.ending, self.end_at = ending, end_at

    def get_deployment(self, deploymentId: str) -> dict[str, Any]:
        info = super().get_deployment(deploymentId)["deploymentInfo"]
        if self.clock.now >= self.end_at:
            info["status"] = self.ending
            info["rollbackInfo"] = {"rollbackDeploymentId": "d-ROLLBACK"}
            if self.ending == "Failed":
                info["errorInformation"] = {"code": "HEALTH_CONSTRAINTS", "message": "AllowTraffic failed"}
        return {"deploymentInfo": info}

    def get_deployment_target(self, deploymentId: str, targetId: str) -> dict[str, Any]:
        out = super().get_deployment_target(deploymentId, targetId)
        if self.clock.now >= self.end_at:
            for event in out["deploymentTarget"]["ecsTarget"]["lifecycleEvents"]:
                if event["status"] == "InProgress":
                    event["status"] = "Failed" if self.ending == "Failed" else "Skipped"
        return out


@pytest.mark.parametrize("ending", ["Failed", "Stopped"])
def test_a_failed_or_stopped_deployment_ends_the_watch_at_once_and_is_not_ok(ending: str) -> None:
    clock = Clock()
    end_at = 200.0  # mid-canary: the watcher is in its long-wait pacing
    cd = EndingCodeDeploy(clock, ending, end_at)
    rep = Collect(clock)
    result = watch(
        FakeAws(cd),  # type: ignore[arg-type]
        "d-TEST",
        rep,
        timeout=3600,
        target_id="demo:web",
        waits=WaitModel(traffic_interval_s=300, termination_wait_s=300),
        clock=clock,
        sleep=clock.sleep,
    )
    assert result.outcome == ending and result.ok is False
    assert end_at <= clock.now <= end_at + 15  # the next poll sees it, not the budget's end
    assert result.view.rollback_deployment_id == "d-ROLLBACK"
    last = [e for _, e in rep.events if isinstance(e, DeploymentProgress)][-1]
    assert last.status == ending and last.green_weight == 10.0
    if ending == "Failed":
        assert [e.name for e in result.view.lifecycle if e.status == "Failed"] == ["AllowTraffic"]

"""Waits made visible: what a deployment waits for and the time left, from the group's and config's
settings (orchestrator/waits.py), rendered by the live panel (a recording console) and plain lines."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from rich.console import Console

from orchestrator.deployment import DeploymentView, WaitModel, wait_model
from orchestrator.events import DeploymentProgress, LifecycleStatus, Summary, WaitStarted
from orchestrator.report.console import ConsoleReporter, _Panel
from orchestrator.report.plain import PlainReporter
from orchestrator.waits import current_wait

NOW = datetime(2026, 12, 1, 8, 0, 0, tzinfo=UTC)
DONE = ("BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic")


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _lifecycle(*, through: tuple[str, ...], ended: datetime, rest: dict[str, str]) -> tuple[LifecycleStatus, ...]:
    done = tuple(LifecycleStatus(n, "Succeeded", end=_iso(ended)) for n in through)
    return done + tuple(LifecycleStatus(n, s) for n, s in rest.items())


GROUP = {
    "blueGreenDeploymentConfiguration": {
        "deploymentReadyOption": {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 60},
        "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 5},
    }
}
CANARY = {
    "trafficRoutingConfig": {
        "type": "TimeBasedCanary",
        "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 5},
    }
}
LINEAR = {
    "trafficRoutingConfig": {
        "type": "TimeBasedLinear",
        "timeBasedLinear": {"linearPercentage": 10, "linearInterval": 1},
    }
}


def test_the_model_reads_ready_wait_step_and_termination_wait_scaled() -> None:
    model = wait_model(GROUP, CANARY, time_scale=0.5)
    assert (model.ready_wait_s, model.traffic_interval_s, model.termination_wait_s) == (1800.0, 150.0, 150.0)
    assert model.traffic_kind == "canary"
    plain = wait_model({"blueGreenDeploymentConfiguration": {}}, {})
    assert (plain.ready_wait_s, plain.traffic_interval_s, plain.termination_wait_s) == (None, None, None)
    # An endpoint whose clock is unknown (target resolution says None): no known waits, no predicted ends.
    assert wait_model(GROUP, CANARY, time_scale=None) == WaitModel()


def test_ready_wait_counts_from_the_end_of_the_test_traffic_hook() -> None:
    lifecycle = _lifecycle(through=DONE, ended=NOW - timedelta(minutes=10), rest={"AllowTraffic": "Pending"})
    view = DeploymentView("d-1", "Ready", lifecycle)
    wait = current_wait(view, wait_model(GROUP, {}), NOW, 0.0)
    assert wait is not None and wait.wait == "ready_wait"
    assert (wait.total_s, wait.remaining_s) == (3600.0, 3000.0)
    assert "approval" in wait.label


def test_canary_and_linear_steps_name_the_step_and_the_interval() -> None:
    lifecycle = _lifecycle(through=DONE, ended=NOW, rest={"AllowTraffic": "InProgress"})
    view = DeploymentView("d-1", "InProgress", lifecycle, blue_weight=90.0, green_weight=10.0)
    canary = current_wait(view, wait_model(GROUP, CANARY), NOW, 0.0)
    assert canary is not None and (canary.wait, canary.total_s, canary.remaining_s) == ("traffic_step", 300.0, 300.0)
    assert canary.label == "canary at 10% on the replacement, until the next shift"
    linear = current_wait(view, wait_model(GROUP, LINEAR), NOW, 20.0)
    assert linear is not None and linear.label.startswith("linear step at 10% on the replacement")
    assert (linear.total_s, linear.remaining_s) == (60.0, 40.0)
    # All at once: no step to wait for.
    assert current_wait(view, WaitModel(termination_wait_s=300.0), NOW, 0.0) is None


def test_termination_wait_counts_from_the_last_lifecycle_event() -> None:
    names = (*DONE, "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic")
    lifecycle = _lifecycle(through=names, ended=NOW - timedelta(seconds=90), rest={})
    view = DeploymentView("d-1", "InProgress", lifecycle, blue_weight=0.0, green_weight=100.0)
    wait = current_wait(view, wait_model(GROUP, {}), NOW, 0.0)
    assert wait is not None and wait.wait == "termination_wait"
    assert (wait.total_s, wait.remaining_s) == (300.0, 210.0)
    assert wait.describe() == (
        "d-1 waiting: termination wait (the original tasks are kept for a fast rollback), 3m30s left of 5m00s"
    )
    assert current_wait(DeploymentView("d-1", "Succeeded", lifecycle), wait_model(GROUP, {}), NOW, 0.0) is None


def test_the_event_carries_the_fields_for_json_lines() -> None:
    wait = WaitStarted("d-1", "termination_wait", "termination wait", 300.0, 210.0)
    line = wait.to_dict()
    assert line["event"] == "wait"
    assert {k: line[k] for k in ("deployment_id", "wait", "total_s", "remaining_s")} == {
        "deployment_id": "d-1",
        "wait": "termination_wait",
        "total_s": 300.0,
        "remaining_s": 210.0,
    }


def _progress(green: float) -> DeploymentProgress:
    lifecycle = _lifecycle(through=DONE, ended=NOW, rest={"AllowTraffic": "InProgress"})
    return DeploymentProgress("d-1", "InProgress", lifecycle, 100.0 - green, green, 10.0)


def test_plain_lines_say_once_what_is_waited_for_and_the_time_left() -> None:
    out = io.StringIO()
    rep = PlainReporter(out)
    rep.emit(_progress(10.0))
    rep.emit(WaitStarted("d-1", "traffic_step", "canary at 10% on the replacement, until the next shift", 300.0, 300.0))
    rep.emit(WaitStarted("d-1", "traffic_step", "canary at 10% on the replacement, until the next shift", 300.0, 250.0))
    lines = out.getvalue().splitlines()
    assert lines[-1] == "d-1 waiting: canary at 10% on the replacement, until the next shift, 5m00s left of 5m00s"
    assert sum("waiting:" in line for line in lines) == 1


def test_the_live_panel_shows_the_wait_and_counts_down() -> None:
    panel = _Panel()
    panel.deployment_id, panel.status = "d-1", "InProgress"
    panel.wait, panel.wait_at = WaitStarted("d-1", "termination_wait", "termination wait", 300.0, 300.0), 100.0
    line = panel.wait_line(now=100.0 + 75.0)
    assert line is not None and line.plain == "waiting: termination wait · 3m45s left of 5m00s"
    assert panel.wait_line(now=100.0 + 900.0).plain.endswith("0s left of 5m00s")  # never negative

    console = Console(record=True, width=120, file=io.StringIO())
    console.print(panel)
    assert "waiting: termination wait · " in console.export_text()


def test_the_console_reporter_renders_the_wait_and_drops_it_on_the_next_change() -> None:
    out = io.StringIO()
    rep = ConsoleReporter(out)
    rep.emit(_progress(10.0))
    rep.emit(WaitStarted("d-1", "traffic_step", "canary at 10% on the replacement, until the next shift", 300.0, 300.0))
    assert rep.panel is not None and rep.panel.wait is not None
    recorder = Console(record=True, width=120, file=io.StringIO())
    recorder.print(rep.panel)
    assert (
        "waiting: canary at 10% on the replacement, until the next shift · 5m00s left of 5m00s"
        in recorder.export_text()
    )
    rep.emit(_progress(100.0))
    assert rep.panel.wait is None
    rep.emit(Summary("release", True, 0))
    rep.close()

"""Reporters for a command acting on several services (issue 13), driven by synthetic event streams:
the rich panel's row per service, plain lines prefixed with the service key (repeats recognised per
service), JSON lines keeping `service_key` through every wrapper, and the stderr fallback after a
closed stdout saying whose each outcome line is."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from orchestrator.events import (
    DeploymentCreated,
    DeploymentFinished,
    DeploymentProgress,
    Event,
    FleetStarted,
    LifecycleChanged,
    LifecycleStatus,
    Message,
    ServiceState,
    StepFinished,
    StepStarted,
    Summary,
    TaskDefinitionRegistered,
    WaitStarted,
    for_service,
)
from orchestrator.report import GuardedStream, MultiReporter, PipeSafeReporter
from orchestrator.report.console import ConsoleReporter
from orchestrator.report.jsonl import JsonLinesReporter
from orchestrator.report.plain import PlainReporter

TD = "arn:aws:ecs:eu-west-1:123456789012:task-definition/demo-{}:{}"
LIFECYCLE = (
    LifecycleStatus("BeforeInstall", "Succeeded", duration_s=0.5),
    LifecycleStatus("Install", "InProgress"),
)
SERVICES = {
    "web": {"status": "Succeeded", "deployment_id": "d-WEB", "task_definition_arn": TD.format("web", 8)},
    "worker": {
        "status": "Failed",
        "deployment_id": "d-WORKER",
        "task_definition_arn": TD.format("worker", 3),
        "rollback_deployment_id": "d-WROLL",
        "serving_task_definition": TD.format("worker", 2),
        "reason": "AllowTraffic failed: target group demo-worker-blue unhealthy",
    },
    "api": {"status": "Skipped"},
}


def progress(dep: str, key: str, green: float, lifecycle: tuple[LifecycleStatus, ...] = LIFECYCLE, elapsed: float = 5):
    return DeploymentProgress(
        dep,
        "InProgress",
        lifecycle,
        blue_weight=100 - green,
        green_weight=green,
        elapsed_s=elapsed,
        original_target_group=f"demo-{key}-green",
        replacement_target_group=f"demo-{key}-blue",
        service_key=key,
    )


def fleet_stream() -> list[Event]:
    """web deploys (canary at 10%, then done), worker fails, api is skipped: interleaved."""
    return [
        FleetStarted("release", ("web", "worker", "api"), max_parallel=2),
        ServiceState("registering", service_key="web"),
        ServiceState("registering", service_key="worker"),
        ServiceState("queued", service_key="api"),
        TaskDefinitionRegistered(TD.format("web", 8), "demo-web", 8, "repo/web:abc", service_key="web"),
        TaskDefinitionRegistered(TD.format("worker", 3), "demo-worker", 3, "repo/worker:abc", service_key="worker"),
        DeploymentCreated("d-WEB", "demo", "demo-web", "https://console.example/d-WEB", service_key="web"),
        ServiceState("deploying", deployment_id="d-WEB", service_key="web"),
        DeploymentCreated("d-WORKER", "demo", "demo-worker", service_key="worker"),
        ServiceState("deploying", deployment_id="d-WORKER", service_key="worker"),
        progress("d-WEB", "web", 10),
        progress("d-WORKER", "worker", 0),
        LifecycleChanged("d-WORKER", "AllowTraffic", "InProgress", service_key="worker"),
        WaitStarted("d-WEB", "traffic_step", "canary at 10% on the replacement", 300, 290, service_key="web"),
        Message("worker: health checks failing", "warning", service_key="worker"),
    ]


def fleet_end() -> list[Event]:
    return [
        DeploymentFinished(
            "d-WORKER",
            "Failed",
            "AllowTraffic failed: target group demo-worker-blue unhealthy",
            rollback_deployment_id="d-WROLL",
            service_key="worker",
        ),
        ServiceState(
            "failed",
            "AllowTraffic failed: target group demo-worker-blue unhealthy",
            deployment_id="d-WORKER",
            elapsed_s=42,
            service_key="worker",
        ),
        ServiceState("skipped", "another service failed", service_key="api"),
        progress("d-WEB", "web", 100, tuple(LifecycleStatus(e.name, "Succeeded", duration_s=1.0) for e in LIFECYCLE)),
        DeploymentFinished("d-WEB", "Succeeded", service_key="web"),
        ServiceState("succeeded", deployment_id="d-WEB", elapsed_s=61, service_key="web"),
        Summary("release", False, 1, {"status": "Failed", "reason": "worker failed", "services": SERVICES}),
    ]


# --- rich console ---


def render(renderable: Any, width: int = 170) -> str:
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()


def row_of(text: str, key: str) -> str:
    """The panel line of one service's row (the first line whose first cell is the key)."""
    rows = [line for line in text.splitlines() if re.match(rf"^│\s+{re.escape(key)}\s", line)]
    assert rows, text
    return rows[0]


def recording_console() -> Console:
    return Console(width=170, record=True, force_terminal=True, file=io.StringIO(), color_system="truecolor")


def test_panel_has_one_row_per_service_in_fleet_order_with_phase_traffic_and_reason() -> None:
    rep = ConsoleReporter(io.StringIO(), console=recording_console())
    for event in fleet_stream():
        rep.emit(event)
    assert rep.fleet is not None
    text = render(rep.fleet, width=230)
    rep.close()
    lines = text.splitlines()
    # Title for many services; not the single deployment's.
    assert "release · 3 services · at most 2 at a time" in lines[0]
    assert "blue/green deployment" not in text
    order = [next(i for i, line in enumerate(lines) if row_of(text, k) == line) for k in ("web", "worker", "api")]
    assert order == sorted(order)
    web, worker, api = row_of(text, "web"), row_of(text, "worker"), row_of(text, "api")
    # While deploying, the state names the lifecycle event in progress (from progress, then from a
    # lifecycle change), and the traffic split names the target groups, original first.
    assert "deploying · Install" in web and "d-WEB" in web
    # Cells differ in shape, not only colour: ░ original, █ replacement, in proportion.
    assert re.search(r"demo-web-green 90% ░{9}█ 10% demo-web-blue", web)
    assert "waiting: canary at 10% on the replacement" in web and "left" in web
    assert "deploying · AllowTraffic" in worker
    assert re.search(r"demo-worker-green 100% ░{10} 0% demo-worker-blue", worker)
    assert "queued" in api and "d-" not in api


def test_a_failed_service_shows_its_reason_and_finished_rows_stop_their_clocks() -> None:
    rep = ConsoleReporter(io.StringIO(), console=recording_console())
    for event in fleet_stream() + fleet_end()[:-1]:  # everything but the summary: the panel is live
        rep.emit(event)
    assert rep.fleet is not None
    text = render(rep.fleet)
    worker = row_of(text, "worker")
    assert "✘ failed" in worker and "AllowTraffic failed: target group" in text
    assert "42s" in worker
    assert "✔ succeeded" in row_of(text, "web") and "1m01s" in row_of(text, "web")
    assert "skipped" in row_of(text, "api") and "another service failed" in row_of(text, "api")
    # A finished row's elapsed time stays put; a running one ticks from the domain's elapsed_s.
    web = rep.fleet.rows["web"]
    assert web.ended is not None and web.elapsed(web.ended + 500) == "1m01s"
    rep.emit(ServiceState("rolling-back", "undoing", elapsed_s=65, service_key="web"))
    assert web.ended is None and web.since is not None and web.elapsed(web.since + 125) == "2m05s"
    rep.close()


def test_deployment_finished_without_a_service_state_ends_the_row_with_its_reason() -> None:
    rep = ConsoleReporter(io.StringIO(), console=recording_console())
    rep.emit(FleetStarted("deploy", ("web", "worker")))
    rep.emit(DeploymentCreated("d-W", "demo", "demo-worker", service_key="worker"))
    rep.emit(DeploymentFinished("d-W", "Failed", "Install failed: no capacity", service_key="worker"))
    assert rep.fleet is not None
    worker = row_of(render(rep.fleet), "worker")
    rep.close()
    assert "✘ failed" in worker and "Install failed: no capacity" in worker


def test_final_output_keeps_the_rows_lists_each_services_outcome_and_prefixes_lines() -> None:
    console = recording_console()
    rep = ConsoleReporter(io.StringIO(), console=console)
    for event in fleet_stream() + fleet_end():
        rep.emit(event)
    rep.close()
    text = console.export_text()
    # Lines above the panel say whose they are.
    assert "[web] registered demo-web:8 (image repo/web:abc)" in text
    assert "[worker] warning: worker: health checks failing" in text
    assert "[worker] deployment d-WORKER Failed (rollback d-WROLL)" in text
    # The outcome table after the panel: a row per service, in order, with what serves and why.
    table = text[text.rindex("services") :]
    rows = {k: next(line for line in table.splitlines() if line.strip().startswith(k)) for k in SERVICES}
    assert re.search(r"web\s+Succeeded\s+d-WEB\s+demo-web:8", rows["web"])
    assert re.search(r"worker\s+Failed\s+d-WORKER\s+demo-worker:3\s+d-WROLL\s+demo-worker:2\s*$", rows["worker"])
    assert re.search(r"api\s+Skipped", rows["api"])
    assert table.index(rows["web"]) < table.index(rows["worker"]) < table.index(rows["api"])
    # A reason is under the table, whole, after the service's key.
    assert table.index(rows["api"]) < table.index(
        "worker: AllowTraffic failed: target group demo-worker-blue unhealthy"
    )
    assert text.rstrip().endswith("release failed (exit 1)")


def test_single_service_console_is_unchanged_by_the_fleet_view() -> None:
    out = io.StringIO()
    rep = ConsoleReporter(out)
    rep.emit(DeploymentCreated("d-ONE", "demo-web", "demo-web"))
    rep.emit(DeploymentProgress("d-ONE", "InProgress", LIFECYCLE, blue_weight=90, green_weight=10))
    rep.emit(DeploymentFinished("d-ONE", "Succeeded"))
    rep.emit(Summary("release", True, 0))
    rep.close()
    text = out.getvalue()
    assert "blue/green deployment" in text and "services" not in text and "[" not in text
    assert "original  90.0%" in text


# --- plain lines ---


def plain_lines(events: list[Event]) -> list[str]:
    out = io.StringIO()
    rep = PlainReporter(out)
    for event in events:
        rep.emit(event)
    rep.close()
    return out.getvalue().splitlines()


def test_plain_lines_carry_the_service_key_and_the_summary_lists_each_outcome() -> None:
    lines = plain_lines(fleet_stream() + fleet_end())
    assert lines[0] == "release: 3 services (web, worker, api), at most 2 at a time"
    assert "[web] registering" in lines and "[api] queued" in lines
    assert "[web] deployment d-WEB created (demo/demo-web)" in lines
    # The reason once, on the deployment's line; the state line that follows does not repeat it.
    assert (
        "[worker] deployment d-WORKER Failed: AllowTraffic failed: target group demo-worker-blue unhealthy "
        "(rollback d-WROLL)"
    ) in lines
    assert "[worker] failed (d-WORKER)" in lines
    assert sum("demo-worker-blue unhealthy" in line for line in lines) == 1
    assert "[api] skipped: another service failed" in lines  # a state's own detail is kept
    assert "[web] d-WEB waiting: canary at 10% on the replacement, 4m50s left of 5m00s" in lines
    # Every line after the first but the summary is a service's.
    assert all(line.startswith(("[web] ", "[worker] ", "[api] ")) for line in lines[1:-1])
    assert lines[-1] == (
        "release failed (exit 1) · web Succeeded · worker Failed (serving demo-worker:2) · api Skipped"
    )


def test_plain_progress_repeats_are_recognised_per_service_when_services_interleave() -> None:
    lines = plain_lines(
        [
            progress("d-WEB", "web", 10, elapsed=5),
            progress("d-WORKER", "worker", 0, elapsed=5),
            progress("d-WEB", "web", 10, elapsed=6),  # elapsed alone changed: no line
            progress("d-WORKER", "worker", 0, elapsed=7),  # likewise
            WaitStarted("d-WEB", "traffic_step", "canary", 300, 290, service_key="web"),
            WaitStarted("d-WEB", "traffic_step", "canary", 300, 200, service_key="web"),  # same wait
            progress("d-WEB", "web", 100, elapsed=8),  # the split changed: a line
            progress("d-WORKER", "worker", 0, elapsed=9),  # web's lines in between do not repeat worker's
        ]
    )
    assert lines == [
        "[web] d-WEB InProgress · Install in progress · traffic original demo-web-green 90% → "
        "replacement demo-web-blue 10% · 5s",
        "[worker] d-WORKER InProgress · Install in progress · traffic original demo-worker-green 100% → "
        "replacement demo-worker-blue 0% · 5s",
        "[web] d-WEB waiting: canary, 4m50s left of 5m00s",
        "[web] d-WEB InProgress · Install in progress · traffic original demo-web-green 0% → "
        "replacement demo-web-blue 100% · 8s",
    ]


def test_plain_single_service_lines_are_as_before() -> None:
    """No service key: no prefix, the summary line alone, repeats recognised as before."""
    one = [
        StepStarted("register", "task definition"),
        DeploymentCreated("d-ONE", "demo-web", "demo-web"),
        DeploymentProgress("d-ONE", "InProgress", LIFECYCLE, elapsed_s=1),
        DeploymentProgress("d-ONE", "InProgress", LIFECYCLE, elapsed_s=2),
        Message("note"),
        DeploymentProgress("d-ONE", "InProgress", LIFECYCLE, elapsed_s=3),  # after another line: again
        DeploymentFinished("d-ONE", "Succeeded"),
        Summary("release", True, 0, {"deployment_id": "d-ONE"}),
    ]
    assert plain_lines(one) == [
        "register: task definition",
        "deployment d-ONE created (demo-web/demo-web)",
        "d-ONE InProgress · Install in progress · 1s",
        "note",
        "d-ONE InProgress · Install in progress · 3s",
        "deployment d-ONE Succeeded",
        "release succeeded",
    ]


# --- JSON lines ---


def test_json_lines_keep_the_service_key_through_the_cli_wrappers() -> None:
    out = io.StringIO()
    guarded = GuardedStream(out)
    rep = PipeSafeReporter(MultiReporter(JsonLinesReporter(guarded)), guarded)  # type: ignore[arg-type]
    rep.emit(FleetStarted("release", ("web", "worker")))
    for key in ("web", "worker"):
        service = for_service(rep, key)
        service.emit(DeploymentCreated(f"d-{key}", "demo", f"demo-{key}"))
        service.emit(ServiceState("succeeded", deployment_id=f"d-{key}"))
        service.close()  # a service's view closing does not close the shared reporter
    rep.emit(Summary("release", True, 0, {"status": "Succeeded", "services": {"web": {"status": "Succeeded"}}}))
    rep.close()
    docs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(d["event"], d.get("service_key")) for d in docs] == [
        ("fleet_started", None),
        ("deployment_created", "web"),
        ("service_state", "web"),
        ("deployment_created", "worker"),
        ("service_state", "worker"),
        ("summary", None),
    ]
    assert "service_key" not in docs[0] and "service_key" not in docs[-1]
    assert docs[0]["services"] == ["web", "worker"]
    assert docs[2] == {**docs[2], "state": "succeeded", "deployment_id": "d-web", "detail": ""}
    assert docs[-1]["services"] == {"web": {"status": "Succeeded"}}
    assert all("time" in d for d in docs)


def test_json_lines_under_github_actions_keep_the_service_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from orchestrator.report import github, make_reporter

    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("ORCHESTRATOR_GITHUB", raising=False)
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "out"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary"))
    monkeypatch.setattr(github, "_annotated", False)
    out = io.StringIO()
    rep = make_reporter("json", out)
    assert isinstance(rep, MultiReporter)
    rep.emit(FleetStarted("release", ("web",)))
    for_service(rep, "web").emit(StepStarted("register"))
    for_service(rep, "web").emit(StepFinished("register", duration_s=0.1))
    rep.close()
    docs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [d.get("service_key") for d in docs] == [None, "web", "web"]


# --- stdout closed: the stderr fallback ---


class ClosingStream(io.StringIO):
    """stdout whose reader goes away after `keep` lines (`| head -n keep`)."""

    def __init__(self, keep: int) -> None:
        super().__init__()
        self.keep = keep

    def write(self, text: str) -> int:
        if self.getvalue().count("\n") >= self.keep:
            raise BrokenPipeError
        return super().write(text)


def test_stderr_fallback_says_which_service_each_outcome_line_belongs_to() -> None:
    stdout, stderr = ClosingStream(keep=1), io.StringIO()
    guarded = GuardedStream(stdout)
    rep = PipeSafeReporter(PlainReporter(guarded), guarded, stderr)  # type: ignore[arg-type]
    for event in fleet_stream() + fleet_end():
        rep.emit(event)
    rep.close()
    assert stdout.getvalue() == "release: 3 services (web, worker, api), at most 2 at a time\n"
    assert stderr.getvalue().splitlines() == [
        "warning: stdout was closed; carrying on, warnings and the outcome go to stderr",
        "[web] deployment d-WEB created (demo/demo-web)",
        "[worker] deployment d-WORKER created (demo/demo-worker)",
        "[worker] warning: worker: health checks failing",
        "[worker] deployment d-WORKER Failed: AllowTraffic failed: target group demo-worker-blue unhealthy "
        "(rollback d-WROLL)",
        "[worker] failed (d-WORKER)",
        "[api] skipped: another service failed",
        "[web] deployment d-WEB Succeeded",
        "release failed (exit 1) · web Succeeded · worker Failed (serving demo-worker:2) · api Skipped",
    ]


def test_a_services_own_summary_is_a_line_above_the_rows_not_the_end() -> None:
    console = recording_console()
    rep = ConsoleReporter(io.StringIO(), console=console)
    rep.emit(FleetStarted("release", ("web", "worker")))
    rep.emit(Summary("pre-task", False, 1, service_key="web"))
    assert rep.fleet is not None and rep.live is not None  # the panel goes on
    rep.emit(Summary("release", True, 0, {"services": {"web": {"status": "Succeeded"}}}))
    assert rep.fleet is None and rep.live is None
    rep.close()
    assert "[web] pre-task failed (exit 1)" in console.export_text()


def test_on_a_narrow_terminal_the_reasons_go_under_the_rows_whole() -> None:
    rep = ConsoleReporter(io.StringIO(), console=recording_console())
    for event in fleet_stream() + fleet_end()[:-1]:
        rep.emit(event)
    assert rep.fleet is not None
    text = render(rep.fleet, width=100)
    rep.close()
    lines = text.splitlines()
    assert "detail" not in lines[1]  # no detail column
    assert re.match(r"^│\s+worker\s+✘ failed\s+d-WORKER\s", row_of(text, "worker"))
    notes = [line.strip("│ ") for line in lines if re.match(r"^│ \w+: ", line)]
    assert notes == [
        "worker: AllowTraffic failed: target group demo-worker-blue unhealthy",
        "api: another service failed",
    ]
    assert lines.index(row_of(text, "api")) < min(i for i, line in enumerate(lines) if "worker: AllowTraffic" in line)


def test_history_and_doctor_tables_name_the_service_of_each_row_when_there_are_several() -> None:
    from orchestrator.events import DoctorCheck, HistoryEntry
    from orchestrator.report.console import doctor_table, history_table

    one = render(history_table([HistoryEntry("d-1", "Succeeded", "user")]))
    assert "service" not in one
    several = render(
        history_table(
            [
                HistoryEntry("d-1", "Succeeded", "user", service_key="web"),
                HistoryEntry("d-2", "Failed", "user", service_key="api"),
            ]
        )
    )
    assert re.search(r"service\s+id\s+status", several)
    assert re.search(r"web\s+d-1\s+Succeeded", several) and re.search(r"api\s+d-2\s+Failed", several)
    checks = render(doctor_table([DoctorCheck("listener", "pass", service_key="worker")]))
    assert re.search(r"worker\s+listener\s+PASS", checks)
    assert "service" not in render(doctor_table([DoctorCheck("listener", "pass")]))


def test_a_summary_with_services_lists_them_even_without_the_fleet_panel() -> None:
    out = io.StringIO()
    rep = ConsoleReporter(out)
    rep.emit(Summary("rollback", True, 0, {"services": {"web": {"status": "Succeeded", "deployment_id": "d-R1"}}}))
    rep.close()
    assert re.search(r"web\s+Succeeded\s+d-R1", out.getvalue())
    assert out.getvalue().rstrip().endswith("rollback succeeded")


def test_a_rolled_back_row_keeps_its_deployment_and_why_it_failed() -> None:
    """The lead's sequence for a failed deployment: finished (Failed, rollback), failed, rolling-back
    while the rollback deployment is followed, rolled-back."""
    rep = ConsoleReporter(io.StringIO(), console=recording_console())
    rep.emit(FleetStarted("release", ("web", "api")))
    rep.emit(DeploymentCreated("d-WEB", "demo", "demo-web", service_key="web"))
    rep.emit(ServiceState("deploying", deployment_id="d-WEB", service_key="web"))
    why = "deployment d-WEB failed: AfterAllowTestTraffic smoke test failed"
    rep.emit(DeploymentFinished("d-WEB", "Failed", why, rollback_deployment_id="d-RB", service_key="web"))
    rep.emit(ServiceState("failed", why, deployment_id="d-WEB", elapsed_s=20, service_key="web"))
    rep.emit(ServiceState("rolling-back", "rollback d-RB", deployment_id="d-WEB", elapsed_s=21, service_key="web"))
    rep.emit(progress("d-RB", "web", 50, (LifecycleStatus("AllowTraffic", "InProgress"),)))
    assert rep.fleet is not None
    web = row_of(render(rep.fleet, width=230), "web")
    assert re.search(r"rolling-back · AllowTraffic\s+d-WEB\s", web)  # the service's deployment stays
    # The reason without `deployment d-WEB failed: `, which the row already says.
    assert re.search(r"\s{2}AfterAllowTestTraffic smoke test failed · rollback d-RB\s", web)
    rep.emit(ServiceState("rolled-back", "rollback d-RB succeeded", deployment_id="d-WEB", service_key="web"))
    web = row_of(render(rep.fleet, width=230), "web")
    long_reason = "deployment d-WEB failed: " + "x" * 400
    rep.emit(ServiceState("failed", long_reason, deployment_id="d-WEB", service_key="api"))
    api = render(rep.fleet, width=230)
    rep.close()
    assert "↺ rolled-back" in web and "AfterAllowTestTraffic smoke test failed · rollback d-RB succeeded" in web
    assert "deployment d-WEB failed" not in web
    # A long reason is cut in the row (the outcome table at the end has it whole).
    cells = re.sub(r"[│\s]", "", api)
    assert "x" * 159 + "…" in cells and "x" * 160 not in cells


def test_a_failed_state_without_a_deployment_line_keeps_its_reason_in_plain_lines() -> None:
    """A registration or a pre-task that failed: no deployment line told why, the state line does."""
    lines = plain_lines(
        [
            DeploymentFinished("d-A", "Failed", "Install failed", service_key="api"),
            ServiceState("failed", "register: RegisterTaskDefinition refused", service_key="web"),
            ServiceState("failed", "Install failed", deployment_id="d-A", service_key="api"),
            ServiceState("failed", "rollback d-R failed", deployment_id="d-A", service_key="api"),
        ]
    )
    assert lines == [
        "[api] deployment d-A Failed: Install failed",
        "[web] failed: register: RegisterTaskDefinition refused",
        "[api] failed (d-A)",
        "[api] failed (d-A): rollback d-R failed",
    ]


def test_a_deploying_row_shows_its_replacements_counts_and_the_time_left() -> None:
    from dataclasses import replace as with_fields

    from orchestrator.events import ReplacementHealth

    rep = ConsoleReporter(io.StringIO(), console=recording_console())
    rep.emit(FleetStarted("release", ("web",)))
    rep.emit(DeploymentCreated("d-WEB", "demo", "demo-web", service_key="web"))
    rep.emit(ServiceState("deploying", deployment_id="d-WEB", service_key="web"))
    starting = with_fields(
        progress("d-WEB", "web", 0), replacement=ReplacementHealth(1, 2, 0, 2, "initial: Elb.InitialHealthChecking")
    )
    rep.emit(starting)
    rep.emit(WaitStarted("d-WEB", "install", "the replacement tasks to become healthy", 3600, 3590, service_key="web"))
    assert rep.fleet is not None
    wide, narrow = render(rep.fleet, width=230), render(rep.fleet, width=100)
    rep.close()
    assert "replacement 1/2 running · 0/2 healthy (initial: Elb.InitialHealthChecking)" in row_of(wide, "web")
    flat = re.sub(r"[│\s]+", " ", wide)  # the detail column wraps between words
    assert re.search(r"waiting: the replacement tasks to become healthy · 59m\d\ds left", flat)
    assert re.search(r"web: replacement 1/2 running · 0/2 healthy", narrow)  # under the rows when narrow

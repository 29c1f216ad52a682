"""The GitHub Actions reporter: step outputs, job summary, annotations, masks, groups."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from orchestrator.events import (
    BuildOutput,
    DeploymentCreated,
    DeploymentFinished,
    DeploymentProgress,
    FleetStarted,
    ImagePushed,
    LifecycleStatus,
    Message,
    ServiceState,
    StepFinished,
    StepStarted,
    Summary,
    TaskDefinitionRegistered,
)
from orchestrator.report import github
from orchestrator.report.github import GithubReporter, escape_data, mask_secret, write_output

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo/web@sha256:" + "ab" * 32
TD_ARN = "arn:aws:ecs:eu-west-1:123456789012:task-definition/demo-web:7"


def read_outputs(path: Path) -> dict[str, str]:
    """Parse $GITHUB_OUTPUT as the runner does (name=value or name<<DELIM ... DELIM)."""
    out: dict[str, str] = {}
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line:
            name, delim = line.split("<<", 1)
            j = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1 : j])
            i = j + 1
        else:
            name, value = line.split("=", 1)
            out[name] = value
            i += 1
    return out


@pytest.fixture
def gh_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    paths = {"output": tmp_path / "github_output", "summary": tmp_path / "step_summary"}
    for p in paths.values():
        p.write_text("")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("ORCHESTRATOR_GITHUB", raising=False)
    monkeypatch.setenv("GITHUB_OUTPUT", str(paths["output"]))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(paths["summary"]))
    monkeypatch.setattr(github, "_annotated", False)
    return paths


def release_events(ok: bool) -> list:
    lifecycle = (
        LifecycleStatus("BeforeInstall", "Succeeded", duration_s=0.4),
        LifecycleStatus("Install", "Succeeded", duration_s=12.0),
        LifecycleStatus("AllowTraffic", "Succeeded" if ok else "Failed", duration_s=3.25),
    )
    events = [
        StepStarted("register", "task definition"),
        TaskDefinitionRegistered(task_definition_arn=TD_ARN, family="demo-web", revision=7, image=IMAGE),
        StepFinished("register", duration_s=0.3),
        DeploymentCreated("d-ABC123", "demo-web", "demo-web", console_url="https://console.example/d-ABC123"),
        DeploymentProgress("d-ABC123", "InProgress", lifecycle, blue_weight=0, green_weight=100, elapsed_s=20),
    ]
    if ok:
        events += [
            DeploymentFinished("d-ABC123", "Succeeded"),
            Summary("release", True, 0, {"image": IMAGE, "task_definition_arn": TD_ARN, "deployment_id": "d-ABC123"}),
        ]
    else:
        events += [
            DeploymentFinished("d-ABC123", "Failed", reason="AllowTraffic failed: health checks | 5xx\nsecond line"),
            Summary("release", False, 1, {"deployment_id": "d-ABC123"}),
        ]
    return events


def test_success_writes_outputs_and_summary(gh_env: dict[str, Path]) -> None:
    stream = io.StringIO()
    rep = GithubReporter.from_env(stream)
    for e in release_events(ok=True):
        rep.emit(e)
    rep.close()

    assert read_outputs(gh_env["output"]) == {
        "task_definition_arn": TD_ARN,
        "deployment_id": "d-ABC123",
        "image": IMAGE,
    }
    summary = gh_env["summary"].read_text()
    assert summary.startswith("### ✅ orchestrator release succeeded")
    assert "| Install | Succeeded | 12.0 s |" in summary
    assert "| register | 0.3 s |" in summary
    assert "[`d-ABC123`](https://console.example/d-ABC123)" in summary
    assert "original 0% → replacement 100%" in summary
    assert "::error" not in stream.getvalue()
    # Groups are balanced.
    log = stream.getvalue()
    assert log.count("::group::") == log.count("::endgroup::") == 1


def test_failure_annotates_with_the_reason_and_keeps_the_table_intact(gh_env: dict[str, Path]) -> None:
    stream = io.StringIO()
    rep = GithubReporter.from_env(stream)
    for e in release_events(ok=False):
        rep.emit(e)
    rep.close()
    errors = [line for line in stream.getvalue().splitlines() if line.startswith("::error")]
    assert errors == [
        "::error title=orchestrator release failed::AllowTraffic failed: health checks | 5xx%0Asecond line"
    ]
    summary = gh_env["summary"].read_text()
    assert summary.startswith("### ❌ orchestrator release failed (exit 1)")
    # The reason's pipe and newline cannot break the Markdown table.
    assert "| reason | AllowTraffic failed: health checks \\| 5xx<br>second line |" in summary
    # The event that failed is marked.
    assert re.search(r"\| AllowTraffic \| ❌ \*\*Failed\*\* \| 3\.[23] s \|", summary)
    assert "**deployment `d-ABC123`: Failed**" in summary
    # The deployment id is an output even though the release failed.
    assert read_outputs(gh_env["output"])["deployment_id"] == "d-ABC123"


def test_a_rolled_back_release_shows_the_failed_deployments_lifecycle_then_the_rollbacks(
    gh_env: dict[str, Path],
) -> None:
    failed = (
        LifecycleStatus("BeforeInstall", "Succeeded", duration_s=0.1),
        LifecycleStatus("Install", "Failed", duration_s=42.0),
        LifecycleStatus("AfterInstall", "Skipped"),
    )
    undone = tuple(LifecycleStatus(e.name, "Succeeded", duration_s=0.1) for e in failed)
    rep = GithubReporter.from_env(io.StringIO())
    rep.emit(DeploymentCreated("d-REL", "demo-web", "demo-web"))
    rep.emit(DeploymentProgress("d-REL", "InProgress", failed[:1], blue_weight=100, green_weight=0))
    rep.emit(DeploymentProgress("d-REL", "Failed", failed, blue_weight=100, green_weight=0))
    # The rollback's progress comes before the release's end (the watcher follows it at once).
    rep.emit(DeploymentProgress("d-RB", "Succeeded", undone, blue_weight=100, green_weight=0))
    rep.emit(DeploymentFinished("d-REL", "Failed", "Install failed", rollback_deployment_id="d-RB"))
    rep.emit(Summary("release", False, 1, {"deployment_id": "d-REL"}))
    rep.close()
    lines = gh_env["summary"].read_text().splitlines()
    # The release's row is the release's, not the rollback's.
    assert "| deployment | `d-REL` |" in lines and "| status | Failed |" in lines
    assert "| rollback deployment | `d-RB` |" in lines
    release, rollback = lines.index("**deployment `d-REL`: Failed**"), lines.index("**rollback `d-RB`: Succeeded**")
    assert release < lines.index("| Install | ❌ **Failed** | 42.0 s |") < rollback
    assert lines.index("| Install | Succeeded | 0.1 s |") > rollback


def test_output_values_cannot_inject_other_outputs(gh_env: dict[str, Path]) -> None:
    write_output(gh_env["output"], "image", "x\ninjected=1")
    assert read_outputs(gh_env["output"]) == {"image": "x\ninjected=1"}


def test_builder_output_cannot_issue_workflow_commands(gh_env: dict[str, Path]) -> None:
    stream = io.StringIO()
    rep = GithubReporter.from_env(stream)
    rep.emit(StepStarted("build", "buildah"))
    rep.emit(BuildOutput("build", "::add-mask::evil"))
    rep.emit(BuildOutput("build", "STEP 2/2"))
    rep.emit(StepFinished("build", duration_s=1.0))
    rep.emit(ImagePushed(image=IMAGE, repository=IMAGE.split("@")[0], digest=IMAGE.split("@")[1], tags=("abc",)))
    rep.close()
    lines = stream.getvalue().splitlines()
    stop = [line for line in lines if line.startswith("::stop-commands::")]
    assert len(stop) == 1
    token = stop[0].split("::")[2]
    assert len(token) >= 32
    # Commands stop before builder output and resume before the group ends.
    assert lines.index(stop[0]) < lines.index(f"::{token}::") < lines.index("::endgroup::")
    assert read_outputs(gh_env["output"]) == {"image": IMAGE}


def test_warning_messages_become_warning_annotations(gh_env: dict[str, Path]) -> None:
    stream = io.StringIO()
    rep = GithubReporter.from_env(stream)
    rep.emit(Message("tree is dirty: 50% done", "warning"))
    rep.close()
    assert "::warning::tree is dirty: 50%25 done" in stream.getvalue().splitlines()


def test_mask_secret_only_under_github_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    mask_secret("s3cr3t", stream)
    assert stream.getvalue() == ""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("ORCHESTRATOR_GITHUB", "off")
    mask_secret("s3cr3t", stream)
    assert stream.getvalue() == ""
    monkeypatch.delenv("ORCHESTRATOR_GITHUB")
    mask_secret("line1\nline2", stream)
    assert stream.getvalue() == "::add-mask::line1\n::add-mask::line2\n"


def test_escape_data_follows_the_runner_rules() -> None:
    assert escape_data("a%b\r\nc") == "a%25b%0D%0Ac"


def test_make_reporter_adds_github_only_under_actions(gh_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.report import MultiReporter, make_reporter

    rep = make_reporter("plain", io.StringIO())
    assert isinstance(rep, MultiReporter)
    assert isinstance(rep.reporters[0], GithubReporter)
    monkeypatch.setenv("GITHUB_ACTIONS", "false")
    assert not isinstance(make_reporter("plain", io.StringIO()), MultiReporter)


def test_json_output_stays_json_under_actions(gh_env: dict[str, Path]) -> None:
    """--output json under Actions: stdout is still one JSON object per line; commands go to stderr."""
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(gh_env["output"]),
        "GITHUB_STEP_SUMMARY": str(gh_env["summary"]),
        "PATH": "/usr/bin:/bin",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "orchestrator", "build", "--output", "json", "--repository", "bad repo"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stdout.splitlines()
    assert lines, proc.stderr
    docs = [json.loads(line) for line in lines]
    assert docs[-1]["event"] == "summary" and docs[-1]["ok"] is False
    # One annotation, on stderr, with the reason.
    errors = [line for line in proc.stderr.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and "bad repo" in errors[0]
    assert re.search(r"### ❌ orchestrator build failed \(exit 2\)", gh_env["summary"].read_text())


# --- several services (issue 13) ---

WEB_TD, WORKER_TD = TD_ARN, "arn:aws:ecs:eu-west-1:123456789012:task-definition/demo-worker:3"
WORKER_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo/worker:abc"
FLEET_SERVICES = {
    "web": {"status": "Succeeded", "deployment_id": "d-WEB", "task_definition_arn": WEB_TD, "image": IMAGE},
    "worker-2": {
        "status": "Failed",
        "deployment_id": "d-WORKER",
        "task_definition_arn": WORKER_TD,
        "image": WORKER_IMAGE,
        "rollback_deployment_id": "d-WROLL",
        "serving_task_definition": WORKER_TD.replace(":3", ":2"),
        "reason": "AllowTraffic failed: 5xx | unhealthy",
    },
    "api": {"status": "Failed", "deployment_id": None},
}


def fleet_events() -> list:
    lifecycle = (LifecycleStatus("Install", "Succeeded", duration_s=12.0),)
    events: list = [FleetStarted("release", ("web", "worker-2", "api"), atomic=False)]
    for key, td, image, dep in (("web", WEB_TD, IMAGE, "d-WEB"), ("worker-2", WORKER_TD, WORKER_IMAGE, "d-WORKER")):
        family, revision = td.rsplit("/", 1)[-1].split(":")
        events += [
            StepStarted("register", "task definition", service_key=key),
            TaskDefinitionRegistered(td, family, int(revision), image, service_key=key),
            StepFinished("register", duration_s=0.3, service_key=key),
            DeploymentCreated(dep, "demo", f"demo-{key}", f"https://console.example/{dep}", service_key=key),
        ]
    events += [
        DeploymentProgress("d-WEB", "InProgress", lifecycle, blue_weight=0, green_weight=100, service_key="web"),
        ServiceState("failed", "pre-task exited with code 3", service_key="api"),
        Message("worker-2 is slow", "warning", service_key="worker-2"),
        DeploymentFinished("d-WORKER", "Failed", "AllowTraffic failed: 5xx | unhealthy", service_key="worker-2"),
        DeploymentFinished("d-WEB", "Succeeded", service_key="web"),
        Summary(
            "release", False, 1, {"status": "Failed", "reason": "2 of 3 services failed", "services": FLEET_SERVICES}
        ),
    ]
    return events


def run_fleet(gh_env: dict[str, Path]) -> str:
    stream = io.StringIO()
    rep = GithubReporter.from_env(stream)
    for e in fleet_events():
        rep.emit(e)
    rep.close()
    return stream.getvalue()


def test_fleet_writes_outputs_per_service_with_keys_made_output_names(gh_env: dict[str, Path]) -> None:
    run_fleet(gh_env)
    outputs = read_outputs(gh_env["output"])
    services = json.loads(outputs.pop("services"))
    assert outputs == {
        "web_task_definition_arn": WEB_TD,
        "web_image": IMAGE,
        "web_deployment_id": "d-WEB",
        "web_status": "Succeeded",
        # `worker-2` is not usable in `steps.<id>.outputs.<name>` as is: `-` becomes `_`.
        "worker_2_task_definition_arn": WORKER_TD,
        "worker_2_image": WORKER_IMAGE,
        "worker_2_deployment_id": "d-WORKER",
        "worker_2_status": "Failed",
        "api_status": "Failed",
    }
    # The single-service names stay free for the summary's own top-level values (none here).
    assert "deployment_id" not in outputs and "task_definition_arn" not in outputs
    assert services == FLEET_SERVICES  # `fromJSON(steps.<id>.outputs.services)`


def test_fleet_output_names_stay_distinct_and_valid() -> None:
    from orchestrator.report.services import output_name

    assert output_name("web") == "web" and output_name("worker-2") == "worker_2"
    assert output_name("2fast") == "_2fast" and output_name("a.b c") == "a_b_c"
    rep = GithubReporter(io.StringIO())
    for key in ("web-api", "web_api", "web.api"):
        rep._set_service_output(key, "status", "Succeeded")
    assert sorted(rep.outputs) == ["web_api_2_status", "web_api_3_status", "web_api_status"]


def test_fleet_annotates_each_failed_service_with_its_own_reason(gh_env: dict[str, Path]) -> None:
    log = run_fleet(gh_env)
    errors = [line for line in log.splitlines() if line.startswith("::error")]
    assert errors == [
        "::error title=orchestrator release%3A worker-2 failed::AllowTraffic failed: 5xx | unhealthy",
        # No reason in the summary: the service's own state says why.
        "::error title=orchestrator release%3A api failed::pre-task exited with code 3",
    ]
    assert "::warning title=worker-2::worker-2 is slow" in log.splitlines()
    # Interleaved services' steps cannot be folded into groups; none is opened.
    assert "::group::" not in log and "::endgroup::" not in log


def test_fleet_job_summary_has_a_row_per_service(gh_env: dict[str, Path]) -> None:
    run_fleet(gh_env)
    summary = gh_env["summary"].read_text()
    assert summary.startswith("### ❌ orchestrator release failed (exit 1) · 3 services")
    assert "| reason | 2 of 3 services failed |" in summary
    rows = [line for line in summary.splitlines() if line.startswith("| service | status |")]
    assert rows == ["| service | status | deployment | task definition | traffic | rollback | serving | reason |"]
    lines = summary.splitlines()
    start = lines.index(rows[0])
    assert lines[start + 2 : start + 5] == [
        "| web | ✅ Succeeded | [`d-WEB`](https://console.example/d-WEB) | `demo-web:7` "
        "| original 0% → replacement 100% |  |  |  |",
        "| worker-2 | ❌ Failed | [`d-WORKER`](https://console.example/d-WORKER) | `demo-worker:3` |  "
        "| `d-WROLL` | `demo-worker:2` | AllowTraffic failed: 5xx \\| unhealthy |",
        "| api | ❌ Failed |  |  |  |  |  | pre-task exited with code 3 |",
    ]
    assert "| web | register | 0.3 s | task definition |" not in summary  # StepFinished's detail is empty
    assert "| web | register | 0.3 s |  |" in summary and "| worker-2 | register | 0.3 s |  |" in summary
    assert "<details><summary>web: lifecycle events</summary>" in summary
    assert "| Install | Succeeded | 12.0 s |" in summary
    assert "> ⚠️ worker-2: worker-2 is slow" in summary


def test_fleet_success_annotates_nothing(gh_env: dict[str, Path]) -> None:
    stream = io.StringIO()
    rep = GithubReporter.from_env(stream)
    rep.emit(FleetStarted("release", ("web", "worker")))
    ok = {k: {"status": "Succeeded", "deployment_id": f"d-{k}"} for k in ("web", "worker")}
    rep.emit(Summary("release", True, 0, {"status": "Succeeded", "services": ok}))
    rep.close()
    assert "::error" not in stream.getvalue()
    summary = gh_env["summary"].read_text()
    assert summary.startswith("### ✅ orchestrator release succeeded · 2 services")
    assert "| web | ✅ Succeeded | `d-web` |" in summary and "| worker | ✅ Succeeded | `d-worker` |" in summary
    assert read_outputs(gh_env["output"])["worker_status"] == "Succeeded"


def test_fleet_closes_an_open_group_and_a_services_own_summary_does_not_end_the_run(gh_env: dict[str, Path]) -> None:
    stream = io.StringIO()
    rep = GithubReporter.from_env(stream)
    rep.emit(StepStarted("build", "buildah"))  # one image for every service, built first
    rep.emit(FleetStarted("release", ("web",)))
    assert stream.getvalue().splitlines() == ["::group::build: buildah", "::endgroup::"]
    rep.emit(Summary("pre-task", False, 1, {"status": "Failed", "reason": "exit 3"}, service_key="web"))
    assert "::error" not in stream.getvalue() and gh_env["summary"].read_text() == ""
    rep.emit(Summary("release", False, 1, {"status": "Failed", "services": {"web": {"status": "Failed"}}}))
    rep.close()
    assert "::error title=orchestrator release%3A web failed::exit 3" in stream.getvalue().splitlines()
    assert gh_env["summary"].read_text().count("### ❌ orchestrator release failed") == 1


def test_fleet_a_services_rollback_deployment_does_not_take_over_its_outputs(gh_env: dict[str, Path]) -> None:
    """--atomic rolls a finished service back through a new deployment, reported as that service's."""
    stream = io.StringIO()
    rep = GithubReporter.from_env(stream)
    done = (LifecycleStatus("Install", "Succeeded", duration_s=4.0),)
    rep.emit(FleetStarted("release", ("web",), atomic=True))
    rep.emit(DeploymentCreated("d-WEB", "demo", "demo-web", service_key="web"))
    rep.emit(DeploymentProgress("d-WEB", "Succeeded", done, blue_weight=0, green_weight=100, service_key="web"))
    rep.emit(DeploymentFinished("d-WEB", "Succeeded", service_key="web"))
    rep.emit(DeploymentCreated("d-RB", "demo", "demo-web", service_key="web"))
    rep.emit(DeploymentProgress("d-RB", "InProgress", (LifecycleStatus("Install", "InProgress"),), service_key="web"))
    rep.emit(DeploymentFinished("d-RB", "Succeeded", "rollback", service_key="web"))
    rolled = {
        "web": {
            "status": "RolledBack",
            "deployment_id": "d-WEB",
            "serving_task_definition": TD_ARN,
            "reason": "stopped: api failed (--atomic)",
        },
        "api": {"status": "Skipped", "reason": "not deployed"},
        "db": {"status": "NotStarted", "reason": "register: RegisterTaskDefinition refused"},
    }
    rep.emit(Summary("release", False, 1, {"status": "RolledBack", "services": rolled}))
    rep.close()
    assert "d-RB" not in gh_env["output"].read_text()
    assert read_outputs(gh_env["output"])["web_deployment_id"] == "d-WEB"
    summary = gh_env["summary"].read_text()
    assert "| web | ↩️ RolledBack | `d-WEB` | original 0% → replacement 100% | `d-RB` | `demo-web:7` |" in summary
    # The service's own deployment's lifecycle, then its rollback's.
    lines = summary.splitlines()
    own, rollback = lines.index("**deployment `d-WEB`: Succeeded**"), lines.index("**rollback `d-RB`: Succeeded**")
    assert (
        own < lines.index("| Install | Succeeded | 4.0 s |") < rollback < lines.index("| Install | ⏳ InProgress |  |")
    )
    # Rolled back or skipped because another service failed: not a failure of its own; db's is.
    errors = [line for line in stream.getvalue().splitlines() if line.startswith("::error")]
    assert errors == ["::error title=orchestrator release%3A db failed::register: RegisterTaskDefinition refused"]


@pytest.mark.e2e
def test_the_job_summary_of_a_rolled_back_release_lists_the_failed_event(sandbox: Any, tmp_path: Path) -> None:
    """Through the CLI against the sandbox: the replacement never becomes healthy, Install fails, CodeDeploy
    rolls back; the summary has the failed deployment's lifecycle first, its failed event marked."""
    summary = tmp_path / "step_summary"
    sandbox.control.set_faults(unhealthy=True)
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(tmp_path / "out")}
    res = sandbox.cli("release", "--sandbox", "--output", "plain", "--image", "repo/web:unhealthy", env=env)
    assert res.returncode == 1, res.stderr
    lines = summary.read_text().splitlines()
    dep = read_outputs(tmp_path / "out")["deployment_id"]
    release = lines.index(f"**deployment `{dep}`: Failed**")
    rollback = next(i for i, line in enumerate(lines) if re.fullmatch(r"\*\*rollback `d-\w+`: Succeeded\*\*", line))
    failed = next(i for i, line in enumerate(lines) if re.match(r"\| Install \| ❌ \*\*Failed\*\* \|", line))
    assert release < failed < rollback
    assert "| status | Failed |" in lines

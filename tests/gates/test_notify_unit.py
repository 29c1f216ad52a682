"""notify.py without the network: URL validation and redaction, the message text."""

from __future__ import annotations

import io

import pytest

from orchestrator.errors import InputError
from orchestrator.events import Summary
from orchestrator.notify import NotifyingReporter, message_text, notify_urls, redact


def test_redact_keeps_scheme_host_and_port_only() -> None:
    assert redact("https://user:pw@hooks.example.com:8443/services/T/B/X?token=y") == "https://hooks.example.com:8443/…"
    assert redact("http://127.0.0.1/a") == "http://127.0.0.1/…"


def test_urls_from_options_and_environment_once_each_in_order() -> None:
    env = {"ORCHESTRATOR_NOTIFY_URLS": "https://b.example/x, https://a.example/y\nhttps://b.example/x"}
    assert notify_urls(["https://a.example/y"], env) == ("https://a.example/y", "https://b.example/x")
    assert notify_urls(None, {}) == ()


@pytest.mark.parametrize("bad", ["hooks.slack.com/services/x", "ftp://h/x", "https:///x", "http://h:99999/x"])
def test_bad_urls_are_input_errors(bad: str) -> None:
    with pytest.raises(InputError) as err:
        notify_urls([bad], {})
    assert "/x" not in str(err.value).replace("/…", "")


def test_text_says_what_happened() -> None:
    ok = Summary("release", True, 0, {"service": "web", "deployment_id": "d-1", "image": "r:1", "status": "Succeeded"})
    assert message_text(ok) == "orchestrator release web succeeded: deployment_id d-1, image r:1, status Succeeded"
    bad = Summary("deploy", False, 1, {"service": "web", "reason": "pre-task 1 failed"})
    assert message_text(bad).endswith("failed (exit 1) — pre-task 1 failed")


class _Sink:
    def __init__(self) -> None:
        self.events: list[object] = []

    def emit(self, event: object) -> None:
        self.events.append(event)

    def close(self) -> None:
        pass


def test_a_failed_post_warns_and_the_events_still_pass_through() -> None:
    sink, err = _Sink(), io.StringIO()
    rep = NotifyingReporter(sink, ("http://127.0.0.1:9/secret-path",), stderr=err, timeout=0.5)  # type: ignore[arg-type]
    summary = Summary("release", True, 0, {})
    rep.emit(summary)
    assert sink.events == [summary]
    assert err.getvalue().startswith("warning: notification to http://127.0.0.1:9/… failed")
    assert "secret-path" not in err.getvalue()


def test_task_log_lines_cannot_issue_github_workflow_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.events import TaskLogLine, TaskProgress
    from orchestrator.report.github import GithubReporter

    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    stream = io.StringIO()
    rep = GithubReporter.from_env(stream)
    rep.emit(TaskLogLine("t1", "::add-mask::evil"))
    rep.emit(TaskProgress("t1", "STOPPED"))
    rep.close()
    lines = stream.getvalue().splitlines()
    stop = [line for line in lines if line.startswith("::stop-commands::")]
    assert len(stop) == 1
    token = stop[0].split("::")[2]
    assert lines.index(stop[0]) < lines.index(f"::{token}::")

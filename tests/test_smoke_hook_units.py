"""The smoke-test hook's pieces without a sandbox: the committed package is its source, the handler's
verdicts, the AppSpec placeholder, and the contract key's default for older outputs files."""

from __future__ import annotations

import copy
import http.client
import importlib.util
import io
import json
import sys
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from orchestrator import appspec, smoke_hook
from orchestrator.contract import parse_outputs
from orchestrator.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = json.loads((ROOT / "tests" / "outputs.example.json").read_text())
TASKDEF = {"containerDefinitions": [{"name": "web", "portMappings": [{"containerPort": 8080}]}]}


def _handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location("smoke_handler", ROOT / smoke_hook.HANDLER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["smoke_handler"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_committed_zip_is_the_handler_source() -> None:
    committed = (ROOT / smoke_hook.PACKAGE).read_bytes()
    with zipfile.ZipFile(io.BytesIO(committed)) as archive:
        assert archive.namelist() == ["handler.py"]
        assert archive.read("handler.py") == (ROOT / smoke_hook.HANDLER).read_bytes(), "run `make smoke-hook-zip`"
    assert committed == smoke_hook.package((ROOT / smoke_hook.HANDLER).read_bytes())  # deterministic


@pytest.fixture
def server() -> Iterator[tuple[str, dict[str, int]]]:
    statuses: dict[str, int] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(statuses.get(self.path, 404))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", statuses
    httpd.shutdown()
    httpd.server_close()


def _settings(url: str, **extra: str) -> Any:
    env = {"TEST_LISTENER_URL": url, "SMOKE_PATHS": "/health,/ready", "RETRIES": "2", "RETRY_DELAY_S": "0"}
    return _handler().settings({**env, **extra})


def test_the_handler_passes_when_every_path_answers_the_expected_status(server: Any) -> None:
    url, statuses = server
    statuses.update({"/health": 200, "/ready": 200})
    assert _handler().run(_settings(url)) == (True, "smoke test passed: /health, /ready answered 200")


def test_the_handler_names_the_path_and_status_it_got(server: Any) -> None:
    url, statuses = server
    statuses.update({"/health": 200, "/ready": 500})
    passed, verdict = _handler().run(_settings(url))
    assert not passed
    assert verdict == "smoke test failed: GET /ready got 500, expected 200 (3 attempts)"
    passed, verdict = _handler().run(_settings(url, EXPECTED_STATUS="204"))
    assert verdict.startswith("smoke test failed: GET /health got 200, expected 204")


def test_the_handler_reports_no_answer_and_the_time_limit() -> None:
    passed, verdict = _handler().run(_settings("http://127.0.0.1:9", RETRIES="0"))
    assert not passed and "GET /health no answer:" in verdict
    ticks = iter([0.0, 0.0, 100.0, 100.0])
    passed, verdict = _handler().run(_settings("http://127.0.0.1:9", TIME_LIMIT_S="10"), clock=lambda: next(ticks))
    assert verdict.startswith("smoke test failed: time limit 10s reached at GET /health")


def test_the_handler_refuses_a_url_that_is_not_http() -> None:
    with pytest.raises(ValueError, match="TEST_LISTENER_URL must be an http"):
        _handler().settings({"TEST_LISTENER_URL": "demo-web:8080"})


def _appspec(tmp_path: Path, fn: str) -> Path:
    doc = json.loads((ROOT / "appspec.json").read_text())
    doc["Hooks"] = [{"AfterAllowTestTraffic": fn}, {"BeforeInstall": "keep-me"}]
    path = tmp_path / "appspec.json"
    path.write_text(json.dumps(doc))
    return path


def test_the_appspec_placeholder_resolves_or_drops_the_hook(tmp_path: Path) -> None:
    path = _appspec(tmp_path, "${smoke_test_function_name}")
    spec = appspec.load_and_validate(path, TASKDEF, {"smoke_test_function_name": "demo-web-smoke-test"})
    assert spec.doc["Hooks"] == [{"AfterAllowTestTraffic": "demo-web-smoke-test"}, {"BeforeInstall": "keep-me"}]
    assert spec.notes == ()
    spec = appspec.load_and_validate(path, TASKDEF, {"smoke_test_function_name": ""})
    assert spec.doc["Hooks"] == [{"BeforeInstall": "keep-me"}]
    assert spec.notes == (
        f"{path}: Hooks[0].AfterAllowTestTraffic dropped: ${{smoke_test_function_name}} is empty "
        "for this service (no such function in its Terraform outputs)",
    )


def test_an_unknown_placeholder_in_a_hook_names_the_field(tmp_path: Path) -> None:
    path = _appspec(tmp_path, "${smoke_fn}")
    with pytest.raises(InputError, match=r"Hooks\[0\]\.AfterAllowTestTraffic: unknown placeholder \$\{smoke_fn\}"):
        appspec.load_and_validate(path, TASKDEF, {"smoke_test_function_name": "x"})


def test_an_outputs_file_from_before_the_smoke_test_key_still_loads() -> None:
    raw = copy.deepcopy(EXAMPLE)
    del raw["services"]["value"]["web"]["smoke_test_function_name"]
    _, service = parse_outputs(raw, "old").service(None)
    assert service.smoke_test_function_name == ""
    _, service = parse_outputs(EXAMPLE, "new").service(None)
    assert service.smoke_test_function_name == "demo-web-smoke-test"


class _Context:
    """Lambda's context object: only the remaining time matters here."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


def _report_to(monkeypatch: pytest.MonkeyPatch, fail: BaseException | None = None) -> list[dict[str, Any]]:
    """Capture the handler's PutLifecycleEventHookExecutionStatus calls (and the client's settings)."""
    import boto3

    calls: list[dict[str, Any]] = []

    class Client:
        def __init__(self, config: Any) -> None:
            self.config = config

        def put_lifecycle_event_hook_execution_status(self, **kw: Any) -> None:
            calls.append({**kw, "config": self.config})
            if fail is not None:
                raise fail

    monkeypatch.setattr(boto3, "client", lambda service, config=None: Client(config))
    return calls


EVENT = {"DeploymentId": "d-ABC", "LifecycleEventHookExecutionId": "exec-1"}


@pytest.mark.parametrize(
    "boom",
    [RuntimeError("surprise"), http.client.IncompleteRead(b""), KeyError("x")],
    ids=["runtime", "http-exception", "key-error"],
)
def test_any_failure_inside_the_test_is_reported_as_failed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], boom: BaseException
) -> None:
    handler = _handler()
    monkeypatch.setenv("TEST_LISTENER_URL", "http://127.0.0.1:9")

    def explode(*args: Any, **kw: Any) -> Any:
        raise boom

    monkeypatch.setattr(handler, "run", explode)
    calls = _report_to(monkeypatch)
    result = handler.handler(EVENT, _Context(150))
    assert [c["status"] for c in calls] == ["Failed"]
    assert calls[0]["deploymentId"] == "d-ABC" and calls[0]["lifecycleEventHookExecutionId"] == "exec-1"
    assert result["passed"] is False and type(boom).__name__ in result["verdict"]
    assert capsys.readouterr().err.strip().splitlines()[-1] == result["verdict"]  # the verdict is the last line


def test_a_broken_http_answer_is_no_answer_and_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    """http.client.HTTPException (a bad status line, a cut body) is not an OSError: it must not escape."""
    import http.client
    import urllib.request

    handler = _handler()
    attempts: list[str] = []

    def broken(request: Any, timeout: float) -> Any:
        attempts.append(request.full_url)
        raise http.client.BadStatusLine("garbage")

    monkeypatch.setattr(urllib.request, "urlopen", broken)
    passed, verdict = handler.run(_settings("http://127.0.0.1:9", RETRIES="1", SMOKE_PATHS="/health"))
    assert not passed and len(attempts) == 2
    assert verdict.startswith("smoke test failed: GET /health no answer:")


def test_the_test_ends_before_the_report_reserve(monkeypatch: pytest.MonkeyPatch) -> None:
    """With 40 s left in the invocation the test gets 40 - 25 = 15 s, whatever TIME_LIMIT_S says."""
    handler = _handler()
    seen: dict[str, Any] = {}

    def fake_run(config: Any, budget_s: float | None = None, **kw: Any) -> tuple[bool, str]:
        seen["budget"] = budget_s
        return True, "ok"

    monkeypatch.setenv("TEST_LISTENER_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("TIME_LIMIT_S", "120")
    monkeypatch.setattr(handler, "run", fake_run)
    calls = _report_to(monkeypatch)
    handler.handler(EVENT, _Context(40))
    assert seen["budget"] == pytest.approx(40 - handler.REPORT_RESERVE_S)
    assert [c["status"] for c in calls] == ["Succeeded"]
    ticks = iter([0.0, 0.0, 16.0, 16.0])
    passed, verdict = _handler().run(
        _settings("http://127.0.0.1:9", TIME_LIMIT_S="120"), clock=lambda: next(ticks), budget_s=15
    )
    assert not passed
    assert verdict.startswith("smoke test failed: time limit 15s reached")


def test_the_report_client_gives_up_inside_the_functions_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    handler = _handler()
    calls = _report_to(monkeypatch)
    handler.report(EVENT, True, handler.REPORT_RESERVE_S)
    config = calls[0]["config"]
    attempts = config.retries["total_max_attempts"]
    worst = attempts * (config.connect_timeout + config.read_timeout) + sum(2.0**a for a in range(1, attempts))
    # The module's function timeout is TIME_LIMIT_S + 30; the test stops REPORT_RESERVE_S before it ends.
    assert attempts >= 2 and worst <= handler.REPORT_RESERVE_S < 30
    assert handler.report_attempts(5) == 1  # late but tried once rather than not at all


def test_a_report_that_cannot_be_made_is_logged_and_fails_the_invocation(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = _handler()
    monkeypatch.setenv("TEST_LISTENER_URL", "http://127.0.0.1:9")
    monkeypatch.setattr(handler, "run", lambda *a, **kw: (True, "smoke test passed: / answered 200"))
    _report_to(monkeypatch, fail=ConnectionError("endpoint unreachable"))
    with pytest.raises(ConnectionError):
        handler.handler(EVENT, _Context(60))
    assert "smoke test could not report Succeeded: endpoint unreachable" in capsys.readouterr().err

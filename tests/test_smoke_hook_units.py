"""The smoke-test hook's pieces without a sandbox: the committed package is its source, the handler's
verdicts, the AppSpec placeholder, and the contract key's default for older outputs files."""

from __future__ import annotations

import copy
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

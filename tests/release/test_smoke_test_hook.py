"""The smoke-test hook (modules/smoke-test-hook/src/handler.py) end to end: the sandbox provisions the
same function from the same handler, the AppSpec names it through `${smoke_test_function_name}`, and
its test listener is a local HTTP server this test starts (the sandbox's ALB is not real).

AWS source: user guide, "AppSpec 'hooks' section for an Amazon ECS deployment": AfterAllowTestTraffic
runs after the test listener serves the replacement tasks and before production traffic shifts; a
hook reporting Failed fails the deployment.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from .test_release_hooks_alarms import production_weights, release, serving_group, summary

pytestmark = pytest.mark.e2e


class _Listener(BaseHTTPRequestHandler):
    status = 200
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.path)
        body = b"ok" if type(self).status == 200 else b"broken"
        self.send_response(type(self).status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def test_listener() -> Iterator[tuple[str, type[_Listener]]]:
    handler = type("Listener", (_Listener,), {"status": 200, "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def _point_smoke_test_at(sandbox: Any, url: str) -> str:
    """What a user does on AWS to change the function's settings: UpdateFunctionConfiguration."""
    name = sandbox.service_outputs()["smoke_test_function_name"]
    assert name == "demo-web-smoke-test"
    lam = sandbox.client("lambda")
    env = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    env.update(TEST_LISTENER_URL=url, SMOKE_PATHS="/health,/", RETRIES="1", RETRY_DELAY_S="0.1")
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": env})
    return name


def _smoke_appspec(sandbox: Any, tmp_path: Path) -> Path:
    doc = json.loads((sandbox.repo_root / "appspec.json").read_text())
    doc["Hooks"] = [{"AfterAllowTestTraffic": "${smoke_test_function_name}"}]
    path = tmp_path / "appspec.json"
    path.write_text(json.dumps(doc))
    return path


def test_a_passing_smoke_test_lets_production_move(sandbox: Any, tmp_path: Path, test_listener: Any) -> None:
    url, listener = test_listener
    _point_smoke_test_at(sandbox, url)
    before = serving_group(sandbox)
    image = sandbox.pushed("smoke-ok")
    res = release(sandbox, "--image", image, "--appspec", str(_smoke_appspec(sandbox, tmp_path)))
    assert res.returncode == 0, res.stderr
    assert summary(res.stdout)["status"] == "Succeeded"
    assert listener.seen == ["/health", "/"]  # every path, once, on the test listener
    after = serving_group(sandbox)
    assert after is not None and after != before


def test_a_failing_smoke_test_fails_at_after_allow_test_traffic_and_production_never_moves(
    sandbox: Any, tmp_path: Path, test_listener: Any
) -> None:
    url, listener = test_listener
    listener.status = 503
    name = _point_smoke_test_at(sandbox, url)
    before = production_weights(sandbox)
    image = sandbox.pushed("smoke-broken")
    res = release(sandbox, "--image", image, "--appspec", str(_smoke_appspec(sandbox, tmp_path)))
    assert res.returncode == 1, res.stderr
    s = summary(res.stdout)
    assert s["status"] == "Failed"
    # The failure line names the hook, its function and the smoke test's own verdict.
    reason = s["reason"]
    assert "AfterAllowTestTraffic failed" in reason, reason
    assert name in reason
    assert "smoke test failed: GET /health got 503, expected 200 (2 attempts)" in reason
    assert "smoke test failed: GET /health got 503" in res.stderr
    assert listener.seen == ["/health", "/health"]  # one retry, then the verdict; "/" never reached
    # Production traffic never moved: every request still goes where it went before.
    after = {group: weight for group, weight in production_weights(sandbox).items() if weight > 0}
    assert after == {group: weight for group, weight in before.items() if weight > 0}
    lifecycle = {
        e["name"]: e["status"]
        for ev in (json.loads(x) for x in res.stdout.splitlines() if x.startswith("{"))
        if ev["event"] == "deployment_progress" and ev["deployment_id"] == s["deployment_id"]
        for e in ev["lifecycle"]
    }
    assert lifecycle["AfterAllowTestTraffic"] == "Failed"
    assert lifecycle["AllowTraffic"] != "Succeeded"


def test_without_a_smoke_test_function_the_hook_is_dropped_with_a_note(sandbox: Any, tmp_path: Path) -> None:
    outputs = sandbox.outputs()
    outputs["services"]["value"]["web"]["smoke_test_function_name"] = ""
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(outputs))
    image = sandbox.pushed("no-smoke")
    res = sandbox.cli(
        "release",
        "--outputs-file",
        str(outputs_file),
        "--output",
        "json",
        "--image",
        image,
        "--appspec",
        str(_smoke_appspec(sandbox, tmp_path)),
        "--dry-run",
    )
    assert res.returncode == 0, res.stderr
    notes = [
        json.loads(x)["text"]
        for x in res.stdout.splitlines()
        if x.startswith("{") and json.loads(x)["event"] == "message"
    ]
    assert any("Hooks[0].AfterAllowTestTraffic dropped" in n and "${smoke_test_function_name}" in n for n in notes)
    plan = next(json.loads(x) for x in res.stdout.splitlines() if x.startswith("{") and '"plan"' in x)
    assert "Hooks" not in json.dumps(plan.get("appspec", {}))

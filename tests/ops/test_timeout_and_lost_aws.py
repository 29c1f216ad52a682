"""When the wait ends without an outcome: `--on-timeout stop` stops the deployment with rollback and
exits 3 saying so (the default leaves it running); losing AWS mid-watch exits 4 naming the deployment
that runs on and how to follow it, never a `TimedOut` summary.

AWS "going away" is a TCP forwarder in front of the sandbox that the test shuts (connection refused),
so that the shared sandbox server itself stays up for the other tests.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from ops_support import (
    deployment,
    primary_task_definition,
    read_events_until,
    slow_termination_group,
    summary,
)

pytestmark = pytest.mark.e2e


def image(sandbox: Any, tag: str) -> str:
    return sandbox.pushed(tag)


def test_on_timeout_stop_stops_with_rollback_and_exits_3(sandbox) -> None:
    initial = primary_task_definition(sandbox)
    outputs = slow_termination_group(sandbox)  # the deployment outlives a 3 s budget
    res = sandbox.cli(
        "release", "--outputs-file", str(outputs), "--output", "json", "--image", image(sandbox, "slow"),
        "--timeout", "3", "--on-timeout", "stop",
    )  # fmt: skip
    assert res.returncode == 3, res.stderr
    s = summary(res.stdout)
    assert s["exit_code"] == 3 and s["status"] == "TimedOut" and s["stopped_on_timeout"] is True
    assert "(--on-timeout stop)" in res.stderr and "stopped it" in res.stderr
    assert sandbox.counts()["codedeploy"]["StopDeployment"] == 1
    assert deployment(sandbox, s["deployment_id"])["status"] == "Stopped"
    assert primary_task_definition(sandbox) == initial  # production is back on what ran before


def test_on_timeout_leave_is_the_default_and_leaves_it_running(sandbox) -> None:
    outputs = slow_termination_group(sandbox)
    res = sandbox.cli(
        "release", "--outputs-file", str(outputs), "--output", "json", "--image", image(sandbox, "slow"),
        "--timeout", "3",
    )  # fmt: skip
    assert res.returncode == 3, res.stderr
    assert "StopDeployment" not in sandbox.counts()["codedeploy"]
    assert deployment(sandbox, summary(res.stdout)["deployment_id"])["status"] == "InProgress"


def test_bad_on_timeout_value_is_bad_input(sandbox) -> None:
    res = sandbox.cli("release", "--sandbox", "--image", image(sandbox, "x"), "--on-timeout", "kill")
    assert res.returncode == 2 and "--on-timeout 'kill' is not one of leave, stop" in res.stderr
    assert sandbox.mutating_calls() == []


class Forwarder:
    """127.0.0.1:<port> → the sandbox; close() makes the port refuse connections."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.server.accept()
            except (TimeoutError, OSError):
                continue
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.closed = True
        self.server.close()
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


def test_losing_aws_mid_watch_exits_4_naming_the_deployment(sandbox, tmp_path: Path) -> None:
    outputs = slow_termination_group(sandbox)
    url = urlparse(sandbox.endpoint)
    proxy = Forwarder((url.hostname or "127.0.0.1", int(url.port or 80)))
    env = sandbox.env(AWS_ENDPOINT_URL=f"http://127.0.0.1:{proxy.port}", AWS_MAX_ATTEMPTS="2")
    cmd = ["release", "--outputs-file", str(outputs), "--output", "json", "--image", image(sandbox, "lost")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", *cmd, "--timeout", "120"],
        env=env,
        cwd=sandbox.repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        dep = read_events_until(proc, "deployment_created")[-1]["deployment_id"]
        read_events_until(proc, "deployment_progress")
        proxy.close()  # AWS is gone: connections refused from now on
        stdout, stderr = proc.communicate(timeout=90)
    finally:
        proxy.close()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 4, stderr
    assert f"lost AWS while following deployment {dep}" in stderr
    assert "orchestrator status --watch" in stderr and "Traceback" not in stderr
    s = summary(stdout)
    assert s["exit_code"] == 4 and s["status"] != "TimedOut" and s["deployment_id"] == dep
    assert deployment(sandbox, dep)["status"] == "InProgress"  # it does keep running

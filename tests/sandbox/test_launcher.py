"""`python -m orchestrator.sandbox.launcher` in the foreground: port, time scale, reset, SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from support.clients import client

from orchestrator.sandbox.control import SandboxControl


def test_launcher_runs_until_sigterm_and_resets_everything() -> None:
    env = dict(os.environ, ORCHESTRATOR_SANDBOX_TIME_SCALE="0.02")
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.sandbox.launcher", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("sandbox listening on http://127.0.0.1:"), line
        endpoint = line.split()[3]
        control = SandboxControl(endpoint)
        assert control.health()["time_scale"] == 0.02  # from the environment variable

        ecs = client(endpoint, "ecs")
        ecs.create_cluster(clusterName="before-reset")
        control.set_faults(latency_ms=1, fail_at="Install")
        assert control.request_counts() == {"ecs": {"CreateCluster": 1}}
        control.reset()
        assert control.request_counts() == {}
        assert control.faults()["fail_at"] is None and control.faults()["latency_ms"] == 0
        assert ecs.list_clusters()["clusterArns"] == []
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "sandbox stopped" in out

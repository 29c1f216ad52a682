"""The sandbox's local docker-registry: started on demand, found again, stopped by its pid."""

from __future__ import annotations

import os
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from orchestrator.sandbox.registry import ensure_registry, registry_binary, running_registry, stop_registry

pytestmark = pytest.mark.skipif(
    registry_binary() is None, reason="docker-registry not installed (apt-get install docker-registry)"
)


def answers(addr: str) -> bool:
    with urllib.request.urlopen(f"http://{addr}/v2/", timeout=2) as resp:
        return bool(resp.status == 200)


def test_start_find_stop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # podman/buildah users have REGISTRY_AUTH_FILE set; the registry would read it as its own config.
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(tmp_path / "auth.json"))
    try:
        addr = ensure_registry(tmp_path)
        assert addr is not None and addr.startswith("127.0.0.1:")
        assert answers(addr)
        assert ensure_registry(tmp_path) == addr == running_registry(tmp_path)
        assert (tmp_path / "registry" / "config.yml").is_file()
    finally:
        assert stop_registry(tmp_path) is True
    assert running_registry(tmp_path) is None
    assert stop_registry(tmp_path) is False


def test_a_dead_registry_is_replaced(tmp_path: Path) -> None:
    try:
        first = ensure_registry(tmp_path)
        assert first is not None
        pid = int((tmp_path / "registry" / "registry.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while running_registry(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        second = ensure_registry(tmp_path)
        assert second is not None and answers(second)
        assert int((tmp_path / "registry" / "registry.pid").read_text()) != pid
    finally:
        stop_registry(tmp_path)


def test_a_reused_pid_is_not_killed(tmp_path: Path) -> None:
    """A pid file pointing at some other process (pid reuse) is not ours to stop."""
    (tmp_path / "registry").mkdir()
    (tmp_path / "registry" / "registry.pid").write_text(f"{os.getpid()}\n")
    (tmp_path / "registry" / "address").write_text("127.0.0.1:1\n")
    assert running_registry(tmp_path) is None
    assert stop_registry(tmp_path) is False  # and this test process is still alive to say so

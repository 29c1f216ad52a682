"""A local image registry for the sandbox, so that `orchestrator build --sandbox` really pushes.

Debian's `docker-registry` package (the CNCF distribution registry, v2 API) runs on 127.0.0.1 on a
free port, with its config, storage, pid file and log under `<sandbox dir>/registry/`. Without the
binary there is no registry: callers get None and say so.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from orchestrator.errors import InputError
from orchestrator.sandbox.pids import pid_alive

REGISTRY_BINARY = "docker-registry"
_START_TIMEOUT_S = 10.0


def registry_binary() -> str | None:
    """The registry executable: $ORCHESTRATOR_DOCKER_REGISTRY, `docker-registry` on PATH, or Debian's path."""
    explicit = os.environ.get("ORCHESTRATOR_DOCKER_REGISTRY")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    found = shutil.which(REGISTRY_BINARY)
    if found:
        return found
    debian = "/usr/bin/docker-registry"
    return debian if os.access(debian, os.X_OK) else None


def _dir(sandbox_dir: Path) -> Path:
    return sandbox_dir / "registry"


def _pid_path(sandbox_dir: Path) -> Path:
    return _dir(sandbox_dir) / "registry.pid"


def _addr_path(sandbox_dir: Path) -> Path:
    return _dir(sandbox_dir) / "address"


def _is_ours(pid: int, sandbox_dir: Path) -> bool:
    """True when pid is a docker-registry serving this sandbox's config (pids get reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return pid_alive(pid)  # no /proc (not Linux): trust the pid file
    config = str((_dir(sandbox_dir) / "config.yml").resolve()).encode()
    return any(config == arg for arg in cmdline)


def _answers(addr: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{addr}/v2/", timeout=1) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def running_registry(sandbox_dir: Path) -> str | None:
    """host:port of this sandbox's registry when it runs and answers, else None."""
    try:
        pid = int(_pid_path(sandbox_dir).read_text().strip())
        addr = _addr_path(sandbox_dir).read_text().strip()
    except (FileNotFoundError, ValueError):
        return None
    if pid_alive(pid) and _is_ours(pid, sandbox_dir) and _answers(addr):
        return addr
    return None


def _config(storage: Path, addr: str) -> str:
    # No auth: `login` against it succeeds with any credentials, so the ECR login path still runs.
    return (
        "version: 0.1\n"
        "log:\n"
        "  level: warn\n"
        "  accesslog:\n"
        "    disabled: true\n"
        "storage:\n"
        "  filesystem:\n"
        f"    rootdirectory: {storage}\n"
        "  delete:\n"
        "    enabled: true\n"
        "http:\n"
        f"  addr: {addr}\n"
    )


def ensure_registry(sandbox_dir: Path) -> str | None:
    """Start (or find) the sandbox's registry; return "127.0.0.1:PORT", or None without the binary."""
    existing = running_registry(sandbox_dir)
    if existing:
        return existing
    binary = registry_binary()
    if binary is None:
        return None
    home = _dir(sandbox_dir)
    storage = home / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    config = (home / "config.yml").resolve()
    last_error = ""
    # The free port can be taken between probing and binding: try a few.
    for _ in range(3):
        addr = f"127.0.0.1:{_free_port()}"
        config.write_text(_config(storage.resolve(), addr))
        log = (home / "registry.log").open("ab")
        try:
            proc = subprocess.Popen(
                [binary, "serve", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # outlives the command that started it, like the sandbox
                # The registry reads REGISTRY_* variables as config overrides, and podman/buildah
                # users have REGISTRY_AUTH_FILE set: keep them away from it.
                env={k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")},
            )
        finally:
            log.close()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if _answers(addr):
                _pid_path(sandbox_dir).write_text(f"{proc.pid}\n")
                _addr_path(sandbox_dir).write_text(addr + "\n")
                return addr
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        last_error = f"docker-registry did not answer on {addr} (see {home / 'registry.log'})"
    raise InputError(last_error)


def stop_registry(sandbox_dir: Path) -> bool:
    """Stop this sandbox's registry by its pid; True when one was running. Its storage is kept."""
    pid_file = _pid_path(sandbox_dir)
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return False
    stopped = False
    if pid_alive(pid) and _is_ours(pid, sandbox_dir):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        stopped = True
    pid_file.unlink(missing_ok=True)
    _addr_path(sandbox_dir).unlink(missing_ok=True)
    return stopped

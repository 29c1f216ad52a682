"""The background sandbox: start it detached, find it again, stop exactly it.

`sandbox up` runs `python -m orchestrator.sandbox.launcher --port N --time-scale X` in its own
session with its output in `<sandbox dir>/server.log`, waits until the control endpoint answers,
provisions the example stack and records server.json + outputs.json. `sandbox down` stops the pid
recorded there, and only after checking that this pid is still that launcher (pids get reused).

Domain code: raises errors and returns data; the command layer prints.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import InputError, OrchestratorError
from orchestrator.sandbox.pids import pid_alive
from orchestrator.sandbox.state import DEFAULT_REGION, SandboxInfo, info_path, load_info, sandbox_dir, save_info

HOST = "127.0.0.1"
LAUNCHER_MODULE = "orchestrator.sandbox.launcher"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


class SandboxStartFailed(OrchestratorError):
    """The server process did not come up (exit 1); the message carries the end of its log."""


@dataclass(frozen=True)
class Found:
    """What the state directory says, checked against the process table and the endpoint."""

    info: SandboxInfo | None
    ours: bool  # info.pid is alive and is a sandbox launcher
    healthy: bool  # the endpoint answers

    @property
    def running(self) -> bool:
        return self.info is not None and (self.ours or self.healthy)

    @property
    def stale(self) -> bool:
        return self.info is not None and not self.running


def log_path() -> Path:
    return sandbox_dir() / "server.log"


def outputs_path() -> Path:
    return sandbox_dir() / "outputs.json"


# --- processes -------------------------------------------------------------------------------


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        return [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    except OSError:
        pass
    try:  # no /proc (macOS)
        out = subprocess.run(["ps", "-o", "args=", "-p", str(pid)], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return []
    return out.stdout.split()


def is_launcher(pid: int, port: int | None = None) -> bool:
    """True when pid is alive and runs our launcher (on `port`, when given)."""
    if not pid_alive(pid):
        return False
    args = cmdline(pid)
    if LAUNCHER_MODULE not in args:
        return False
    if port is not None and "--port" in args:
        i = args.index("--port")
        return i + 1 < len(args) and args[i + 1] == str(port)
    return True


def healthy(endpoint: str, timeout: float = 2.0) -> bool:
    """True when the sandbox's control endpoint answers."""
    try:
        from orchestrator.sandbox.control import SandboxControl
    except ImportError:  # pragma: no cover - the control client ships with the sandbox
        return _http_ok(endpoint + "/moto-api/", timeout)
    try:
        SandboxControl(endpoint).health()
    except Exception:
        return False
    return True


def _http_ok(url: str, timeout: float) -> bool:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return 200 <= int(resp.status) < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def find() -> Found:
    info = load_info()
    if info is None:
        return Found(None, False, False)
    ours = is_launcher(info.pid, info.port)
    return Found(info, ours, healthy(info.endpoint, timeout=1.0))


def remove_state() -> None:
    for path in (info_path(), outputs_path()):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_in_use(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def log_tail(lines: int = 15) -> str:
    try:
        text = log_path().read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def locked(timeout: float = START_TIMEOUT_S + 30) -> Iterator[None]:
    """One `sandbox up`/`down` at a time per state directory (two racing `up`s would leak a server)."""
    directory = sandbox_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("a") as handle:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no lock
            yield
            return
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise InputError(
                        f"another `orchestrator sandbox` command holds {directory / '.lock'}", hint="try again"
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- start / stop ----------------------------------------------------------------------------


def validate_start(port: int | None, time_scale: float) -> None:
    if port is not None and not 0 <= port <= 65535:
        raise InputError(f"--port {port}: must be between 1 and 65535 (or 0 for a free port)")
    if not time_scale > 0:
        raise InputError(f"--time-scale {time_scale}: must be greater than 0 (1 = real time, 0.01 = 100x faster)")
    if port and port_in_use(port):
        raise InputError(f"port {port} on {HOST} is already in use", hint="choose another with --port, or omit it")


def spawn(port: int, time_scale: float) -> subprocess.Popen[bytes]:
    from orchestrator.sandbox.tuning import server_env

    directory = sandbox_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with log_path().open("ab") as log:
        log.write(
            f"--- sandbox up {time.strftime('%Y-%m-%dT%H:%M:%S%z')} port {port} time scale {time_scale}\n".encode()
        )
        log.flush()
        return subprocess.Popen(
            [sys.executable, "-m", LAUNCHER_MODULE, "--port", str(port), "--time-scale", repr(time_scale)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives this command and ignores its Ctrl-C
            close_fds=True,
            env=server_env(),
        )


def wait_healthy(proc: subprocess.Popen[bytes], endpoint: str, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        code = proc.poll()
        if code is not None:
            raise SandboxStartFailed(
                f"the sandbox server exited with code {code} while starting; end of {log_path()}:\n{log_tail()}"
            )
        if healthy(endpoint, timeout=1.0):
            return
        if time.monotonic() > deadline:
            raise SandboxStartFailed(
                f"the sandbox server did not answer at {endpoint} within {timeout:.0f}s; end of {log_path()}:\n"
                f"{log_tail()}"
            )
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)


@dataclass(frozen=True)
class StackOptions:
    """What `sandbox up` provisions: where, which services, and the deployment groups' options."""

    region: str = DEFAULT_REGION
    project_root: Path | None = None
    services: tuple[str, ...] = ("web",)
    test_listener_url: str | None = None
    ready_wait_minutes: int | None = None  # STOP_DEPLOYMENT with this wait (`approve` continues); None: continue
    engines: dict[str, str] | None = None  # service key -> "codedeploy" | "ecs"; unnamed keys: codedeploy
    unmanaged: tuple[str, ...] = ()  # rolling services made beside the stack, not in its outputs


# Services the example stack calls in its region; a region must offer all of them.
STACK_SERVICES = ("ecs", "codedeploy", "elbv2", "ec2", "logs", "ecr", "lambda")
READY_WAIT_MINUTES = (1, 4320)  # modules/codedeploy's deployment_ready_wait_minutes validation


def known_regions() -> set[str]:
    """The regions botocore's endpoint data lists for every service the stack uses (all partitions)."""
    import botocore.session

    session = botocore.session.get_session()
    regions: set[str] | None = None
    for service in STACK_SERVICES:
        offered: set[str] = set()
        for partition in session.get_available_partitions():
            offered.update(session.get_available_regions(service, partition_name=partition))
        regions = offered if regions is None else regions & offered
    return regions or set()


def validate_stack(stack: StackOptions) -> None:
    """Refuse, before anything starts, a region AWS does not have or a ready wait out of range."""
    regions = known_regions()
    if stack.region not in regions:
        import difflib

        close = difflib.get_close_matches(stack.region, sorted(regions), n=1)
        raise InputError(
            f"--region {stack.region!r} is not an AWS region botocore knows for ECS and CodeDeploy",
            hint=f"did you mean {close[0]}?" if close else "e.g. eu-west-1, us-east-1",
        )
    minutes = stack.ready_wait_minutes
    if minutes is not None and not READY_WAIT_MINUTES[0] <= minutes <= READY_WAIT_MINUTES[1]:
        raise InputError(
            f"--ready-wait-minutes {minutes}: must be a whole number from {READY_WAIT_MINUTES[0]} to "
            f"{READY_WAIT_MINUTES[1]} (three days), as the Terraform module's deployment_ready_wait_minutes"
        )


def start(port: int | None, time_scale: float, stack: StackOptions | None = None) -> SandboxInfo:
    """Start, provision and record a background sandbox. The caller has checked it is not running."""
    from orchestrator.sandbox.provision import GroupSettings, provision, service_taskdefs

    stack = stack or StackOptions()
    root = Path(stack.project_root or Path.cwd()).resolve()
    validate_stack(stack)
    service_taskdefs(root, stack.services)  # every service's task definition template, before the server starts
    validate_start(port, time_scale)
    settings = GroupSettings()
    if stack.ready_wait_minutes is not None:
        ready = {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": stack.ready_wait_minutes}
        settings = GroupSettings(ready_option=ready)
    chosen = port or free_port()
    endpoint = f"http://{HOST}:{chosen}"
    proc = spawn(chosen, time_scale)
    try:
        wait_healthy(proc, endpoint)
        outputs = provision(
            endpoint,
            stack.region,
            root,
            services=stack.services,
            settings=settings,
            test_listener_url=stack.test_listener_url,
            engines=stack.engines,
            unmanaged=stack.unmanaged,
        )
        outputs_path().write_text(json.dumps(outputs, indent=2) + "\n")
        info = SandboxInfo(pid=proc.pid, port=chosen, endpoint=endpoint, region=stack.region, time_scale=time_scale)
        save_info(info)
    except BaseException:
        terminate(proc.pid)
        remove_state()
        raise
    return info


def terminate(pid: int, timeout: float = STOP_TIMEOUT_S) -> bool:
    """SIGTERM pid, then SIGKILL after `timeout`; True when it is gone."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for _ in range(40):
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


def stop_registry() -> str | None:
    """Stop the local docker-registry of the sandbox, when that feature is installed; a note or None."""
    try:
        from orchestrator.sandbox.registry import stop_registry as _stop  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    try:
        _stop(sandbox_dir())
    except Exception as exc:  # the sandbox itself is down already; say so and carry on
        return f"warning: could not stop the local registry: {exc}"
    return None

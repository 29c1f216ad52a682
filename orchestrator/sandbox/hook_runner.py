"""Hook functions' processes, forked from one warm process that has imported boto3 already.

A new Python process that imports boto3 costs a hook about 0.25 s of CPU. Twenty services released at
once run twenty smoke tests at once, and on a small machine they queue for the CPU and stretch every
lifecycle event (Lambda runs each invocation on its own capacity). So one long-lived process (the
"zygote": single-threaded, so forking it is safe) imports boto3 once and forks a child per invocation;
the child sets the function's environment, working directory and stdio, runs the runner code, writes a
`done` marker and exits. The zygote reaps its children itself (SIGCHLD ignored) and exits when the
sandbox closes its stdin (the sandbox process ended). When it cannot be used, `spawn` returns None and
the caller starts a plain process as before.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_ZYGOTE = r"""
import json, os, signal, sys, traceback
import boto3, botocore.session  # what every hook would pay for: paid once, here
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the children are reaped as they end
for line in sys.stdin:
    req = json.loads(line)
    pid = os.fork()
    if pid:
        print(json.dumps({"pid": pid}), flush=True)
        continue
    code = 1
    try:
        os.setsid()  # its own process group: a timeout kills it and whatever it started
        log = os.open(req["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(os.open(req["input"], os.O_RDONLY), 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        # The zygote's stdio objects hold its pipes' buffers: fresh ones over the new descriptors.
        sys.stdin = open(0, closefd=False)
        sys.stdout = open(1, "w", closefd=False, buffering=1)
        sys.stderr = open(2, "w", closefd=False, buffering=1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.chdir(req["cwd"])
        os.environ.clear()
        os.environ.update(req["env"])
        sys.path.insert(0, req["cwd"])
        sys.argv = ["-c", *req["argv"]]
        exec(compile(req["code"], "<hook runner>", "exec"), {"__name__": "__main__"})
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
            open(req["done"], "w").close()
        finally:
            os._exit(code)
"""


@dataclass(frozen=True)
class Child:
    pid: int
    log: Path
    done: Path

    def wait(self, timeout: float) -> bool:
        """Until it has ended (True) or `timeout` wall seconds have passed (False: then killed)."""
        deadline = time.monotonic() + timeout
        while not self.done.exists():
            if not _alive(self.pid):
                return True  # ended without its marker (killed, crashed): its log says what it could
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, signal.SIGKILL)
                return False
            time.sleep(0.02)
        return True

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a reused pid of another user's process: ours has ended
        return False
    return True


class _Zygote:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self._broken = False

    def _start(self) -> subprocess.Popen[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        return subprocess.Popen(
            [sys.executable, "-c", _ZYGOTE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            start_new_session=True,  # Ctrl-C at a foreground sandbox is the sandbox's to handle
        )

    def spawn(
        self, code: str, argv: list[str], env: dict[str, str], cwd: str, payload: str, io_dir: Path
    ) -> Child | None:
        """Run `code` (with sys.argv[1:] = argv) in a forked child; None when the zygote is unusable."""
        log, done, stdin = io_dir / "log", io_dir / "done", io_dir / "input"
        stdin.write_text(payload)
        request = {"code": code, "argv": argv, "env": env, "cwd": cwd, "log": str(log), "done": str(done)}
        request["input"] = str(stdin)
        with self._lock:
            if self._broken:
                return None
            for _attempt in range(2):  # a zygote that died (killed) is started again once
                if self._proc is None or self._proc.poll() is not None:
                    self._proc = self._start()
                assert self._proc.stdin is not None and self._proc.stdout is not None
                try:
                    self._proc.stdin.write(json.dumps(request) + "\n")
                    self._proc.stdin.flush()
                    reply = self._proc.stdout.readline()
                    return Child(int(json.loads(reply)["pid"]), log, done)
                except (OSError, ValueError, KeyError):
                    with contextlib.suppress(OSError):
                        self._proc.kill()
                    self._proc = None
            self._broken = True
            return None


ZYGOTE = _Zygote()

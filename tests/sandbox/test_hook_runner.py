"""Hook processes forked from the warm zygote (orchestrator/sandbox/hook_runner.py)."""

from __future__ import annotations

import time
from pathlib import Path

from orchestrator.sandbox.hook_runner import ZYGOTE, _alive

CODE = """
import json, os, sys
event = json.load(sys.stdin)
print("argv", sys.argv[1:], "cwd", os.getcwd(), "env", os.environ.get("GREETING"), "aws", os.environ.get("AWS_X"))
print("event", event["n"], "boto3 loaded:", "boto3" in sys.modules)
print("to stderr", file=sys.stderr)
"""


def test_a_child_runs_with_its_own_env_cwd_argv_and_stdin(tmp_path: Path) -> None:
    cwd, io = tmp_path / "code", tmp_path / "io"
    cwd.mkdir()
    io.mkdir()
    child = ZYGOTE.spawn(CODE, ["a", "b"], {"GREETING": "hi"}, str(cwd), '{"n": 7}', io)
    assert child is not None, "the zygote did not start"
    assert child.wait(30)
    out = child.output()
    assert f"argv ['a', 'b'] cwd {cwd} env hi aws None" in out  # only the env it was given
    assert "event 7 boto3 loaded: True" in out  # forked from the process that imported it
    assert "to stderr" in out


def test_a_child_over_its_time_is_killed_and_the_next_one_runs(tmp_path: Path) -> None:
    for name in ("code", "io1", "io2"):
        (tmp_path / name).mkdir()
    slow = ZYGOTE.spawn(
        "import time; print('started', flush=True); time.sleep(60)",
        [],
        {},
        str(tmp_path / "code"),
        "",
        tmp_path / "io1",
    )
    assert slow is not None
    started = time.monotonic()
    assert slow.wait(1.0) is False
    assert time.monotonic() - started < 5
    deadline = time.monotonic() + 5
    while _alive(slow.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(slow.pid)
    assert "started" in slow.output()

    failing = ZYGOTE.spawn("raise RuntimeError('boom')", [], {}, str(tmp_path / "code"), "", tmp_path / "io2")
    assert failing is not None and failing.wait(30)
    assert "RuntimeError: boom" in failing.output()

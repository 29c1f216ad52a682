"""No container environment value on any screen: a planted value (`-e API_TOKEN=...` and a DB_PASSWORD in
the task definition file) is looked for in every output mode — rich on a terminal (a pty), plain, JSON
lines, the dry run (whose JSON carries the RegisterTaskDefinition request), `render` to stdout, and the
GitHub Actions summary, step outputs and log, where it may appear only in `::add-mask::` commands.
`--show-values` and `render -o FILE` are the ways to get the real values, and the test checks they do.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from orchestrator.taskdef import redacted

pytestmark = pytest.mark.e2e

TOKEN = "tok-PLANTED-4f1d9a77"
PASSWORD = "pw-PLANTED-c0ffee42"
PLANTED = (TOKEN, PASSWORD)
SECRET_ARN = "arn:aws:ssm:eu-west-1:123456789012:parameter/db-url"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


@pytest.fixture
def files(sandbox: Any, tmp_path: Path) -> list[str]:
    doc = json.loads((sandbox.repo_root / "taskdef.json").read_text())
    doc["containerDefinitions"][0]["environment"].append({"name": "DB_PASSWORD", "value": PASSWORD})
    doc["containerDefinitions"][0]["secrets"] = [{"name": "DB_URL", "valueFrom": SECRET_ARN}]
    path = tmp_path / "taskdef.json"
    path.write_text(json.dumps(doc))
    return [
        "--taskdef",
        str(path),
        "--appspec",
        str(sandbox.repo_root / "appspec.json"),
        "--container-env",
        f"API_TOKEN={TOKEN}",
    ]


def image(sandbox: Any) -> str:
    return sandbox.pushed("secrets")


def in_pty(sandbox: Any, *args: str, env: dict[str, str] | None = None, timeout: float = 90) -> tuple[int, str]:
    """Run the CLI on a pseudo-terminal (so `--output auto` picks the rich console); stdout and stderr."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", *args],
        env=sandbox.env(TERM="xterm-256color", **(env or {})),
        cwd=sandbox.repo_root,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return code, ANSI.sub("", out.decode(errors="replace"))


def assert_no_value(text: str, where: str) -> None:
    for value in PLANTED:
        assert value not in text, f"{where} shows a container environment value"


def test_dry_run_redacts_environment_values_in_every_output_mode(sandbox: Any, files: list[str]) -> None:
    args = ["release", "--sandbox", "--image", image(sandbox), *files, "--dry-run"]
    marker = redacted("DB_PASSWORD", PASSWORD)
    for output in ("plain", "json"):
        res = sandbox.cli(*args, "--output", output)
        assert res.returncode == 0, res.stderr
        assert_no_value(res.stdout + res.stderr, f"--dry-run --output {output}")
        assert marker in res.stdout  # redacted, not dropped: the diff still shows the variable
    plan = next(json.loads(line) for line in res.stdout.splitlines() if '"event":"plan"' in line)
    request = plan["calls"][0]
    assert request["call"] == "ecs.RegisterTaskDefinition"
    env = {e["name"]: e["value"] for e in request["params"]["containerDefinitions"][0]["environment"]}
    assert env == {"PORT": redacted("PORT", "8080"), "DB_PASSWORD": marker, "API_TOKEN": redacted("API_TOKEN", TOKEN)}
    assert request["params"]["containerDefinitions"][0]["secrets"][0]["valueFrom"].startswith("arn:aws:ssm:")

    code, text = in_pty(sandbox, *args)  # auto on a terminal: the rich console
    assert code == 0, text
    assert "dry run: nothing was written" in text and marker in text
    assert_no_value(text, "--dry-run on a terminal (rich)")

    shown = sandbox.cli(*args, "--output", "plain", "--show-values")
    assert shown.returncode == 0 and TOKEN in shown.stdout and PASSWORD in shown.stdout
    assert sandbox.mutating_calls() == []


def test_render_redacts_stdout_and_writes_real_values_only_to_its_file(
    sandbox: Any, files: list[str], tmp_path: Path
) -> None:
    args = ["render", "--sandbox", "--image", image(sandbox), *files[:2], *files[4:]]
    res = sandbox.cli(*args)
    assert res.returncode == 0, res.stderr
    assert_no_value(res.stdout + res.stderr, "render to stdout")
    env = {e["name"]: e["value"] for e in json.loads(res.stdout)["containerDefinitions"][0]["environment"]}
    assert env["API_TOKEN"] == redacted("API_TOKEN", TOKEN) != redacted("API_TOKEN", TOKEN + "x")

    assert TOKEN in sandbox.cli(*args, "--show-values").stdout

    out = tmp_path / "rendered.json"
    res = sandbox.cli(*args, "--out-file", str(out))
    assert res.returncode == 0, res.stderr
    assert_no_value(res.stdout + res.stderr, "render -o")
    assert "in clear" in res.stderr
    env = {e["name"]: e["value"] for e in json.loads(out.read_text())["containerDefinitions"][0]["environment"]}
    assert env["API_TOKEN"] == TOKEN and env["DB_PASSWORD"] == PASSWORD  # the file is what gets registered


def test_under_github_actions_values_are_masked_first_and_never_printed(
    sandbox: Any, files: list[str], tmp_path: Path
) -> None:
    gh_out, gh_summary = tmp_path / "github_output", tmp_path / "step_summary"
    github = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(gh_out), "GITHUB_STEP_SUMMARY": str(gh_summary)}
    args = ["release", "--sandbox", "--image", image(sandbox), *files]

    res = sandbox.cli(*args, "--output", "json", "--no-wait", env=github)
    assert res.returncode == 0, res.stderr
    code, text = in_pty(sandbox, *args, "--dry-run", env=github)  # rich console, GitHub commands inline
    assert code == 0, text
    for where, log in (("json release", res.stdout + res.stderr), ("rich dry run", text)):
        lines = log.splitlines()
        masks = [i for i, line in enumerate(lines) if line.startswith("::add-mask::")]
        masked = {lines[i].removeprefix("::add-mask::").strip() for i in masks}
        assert set(PLANTED) <= masked, where
        # What is secret is masked (the secrets entry's parameter too); PORT=8080 is not, or every 8080
        # in the job log would read ***.
        assert SECRET_ARN in masked and "8080" not in masked, where
        others = [line for i, line in enumerate(lines) if i not in masks]
        assert_no_value("\n".join(others), where)
    # On one terminal the order shows: every mask is registered before the first other line.
    lines = [line for line in text.splitlines() if line.strip()]
    assert all(line.startswith("::add-mask::") for line in lines[: len(PLANTED) + 1])  # and the secret's ARN
    assert_no_value(gh_out.read_text(), "$GITHUB_OUTPUT")
    assert_no_value(gh_summary.read_text(), "$GITHUB_STEP_SUMMARY")
    assert "deployment_id<<" in gh_out.read_text()

"""No container environment value on any screen: a planted value (`-e API_TOKEN=...` and a DB_PASSWORD in
the task definition file) is looked for in every output mode — rich on a terminal (a pty), plain, JSON
lines, the dry run (whose JSON carries the RegisterTaskDefinition request), `render` to stdout, and the
GitHub Actions summary, step outputs and log, where it may appear only in `::add-mask::` commands.
`--show-values` and `render -o FILE` are the ways to get the real values, and the test checks they do.
"""

from __future__ import annotations

import hashlib
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

pytestmark = pytest.mark.e2e

TOKEN = "tok-PLANTED-4f1d9a77"
PASSWORD = "pw-PLANTED-c0ffee42"
PLANTED = (TOKEN, PASSWORD)
SECRET_ARN = "arn:aws:ssm:eu-west-1:123456789012:parameter/db-url"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
MASK = re.compile(r"^\*\*\*[0-9a-f]{6}$")


def unkeyed(name: str, value: str) -> str:
    """The mask as it was before issue 20: an unkeyed hash, reversible for short values by trying them all."""
    return "***" + hashlib.sha256(f"{name}={value}".encode()).hexdigest()[:6]


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
    for output in ("plain", "json"):
        res = sandbox.cli(*args, "--output", output)
        assert res.returncode == 0, res.stderr
        assert_no_value(res.stdout + res.stderr, f"--dry-run --output {output}")
        # Redacted, not dropped: the diff still shows the variable.
        assert re.search(r"DB_PASSWORD\W+value\W+\*\*\*[0-9a-f]{6}", res.stdout), res.stdout
    plan = next(json.loads(line) for line in res.stdout.splitlines() if '"event":"plan"' in line)
    request = plan["calls"][0]
    assert request["call"] == "ecs.RegisterTaskDefinition"
    env = {e["name"]: e["value"] for e in request["params"]["containerDefinitions"][0]["environment"]}
    assert set(env) == {"PORT", "DB_PASSWORD", "API_TOKEN"} and all(MASK.match(v) for v in env.values())
    assert len(set(env.values())) == 3
    assert request["params"]["containerDefinitions"][0]["secrets"][0]["valueFrom"].startswith("arn:aws:ssm:")

    code, text = in_pty(sandbox, *args)  # auto on a terminal: the rich console
    assert code == 0, text
    assert "dry run: nothing was written" in text and re.search(r"\*\*\*[0-9a-f]{6}", text)
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
    assert MASK.match(env["API_TOKEN"]) and env["API_TOKEN"] != unkeyed("API_TOKEN", TOKEN)

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


PIN = "738215"


def test_a_mask_is_keyed_per_run_so_a_short_value_cannot_be_tried_back(sandbox: Any) -> None:
    """Issue 20: `***569613` was sha256("DB_PIN=738215")[:6]; all 10^6 PINs were tried in 1.1 s."""
    args = ["render", "--sandbox", "--image", image(sandbox), "--container-env", f"DB_PIN={PIN}"]
    runs = []
    for _ in range(2):
        res = sandbox.cli(*args)
        assert res.returncode == 0, res.stderr
        assert PIN not in res.stdout + res.stderr
        env = {e["name"]: e["value"] for e in json.loads(res.stdout)["containerDefinitions"][0]["environment"]}
        assert MASK.match(env["DB_PIN"]), env
        assert env["DB_PIN"] != unkeyed("DB_PIN", PIN)  # the unkeyed hash an attacker could recompute
        runs.append(env["DB_PIN"])
    assert runs[0] != runs[1]  # a key per run: nothing to compare against across runs either


def test_a_mask_within_one_run_tells_equal_values_from_changed_ones() -> None:
    from orchestrator.taskdef import redacted

    assert redacted("DB_PIN", PIN) == redacted("DB_PIN", PIN) != redacted("DB_PIN", "738216")
    assert MASK.match(redacted("DB_PIN", PIN)) and redacted("DB_PIN", PIN) != unkeyed("DB_PIN", PIN)


@pytest.mark.parametrize(
    "given",
    [PIN, "tok-PLANTED-4f1d9a77", "c2Vj+cmV0/K3BpbjczODIxNQ==", "p@ss word=1"],
    ids=["pin", "token", "base64-with-padding", "invalid-name-before-equals"],
)
def test_container_env_without_a_key_is_refused_without_echoing_it(sandbox: Any, given: str) -> None:
    res = sandbox.cli("release", "--sandbox", "--image", image(sandbox), "--container-env", given, "--output", "plain")
    assert res.returncode == 2, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert lines == [
        "error: --container-env: expected KEY=VALUE with KEY a variable name (letters, digits and _, not starting "
        "with a digit); what was given is not shown"
    ]
    for part in {given, *given.split("="), *given.split()} - {"", "1"}:
        assert part not in res.stdout + res.stderr
    assert sandbox.mutating_calls() == []

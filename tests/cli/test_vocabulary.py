"""One CLI vocabulary: -h everywhere, clean help, -o/--output is the format, old spellings still work.

In process (orchestrator.cli.run) for help and parsing; through `python -m orchestrator` where a
deprecated spelling must still do its job.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from clitree import options, walk, write_outputs

from orchestrator import cli
from orchestrator.commands.common import DEPRECATED, rewrite_deprecated

ORCH = [sys.executable, "-m", "orchestrator"]
PATHS = [path for path, _ in walk()]
# Typer's type labels: <bool>, <str>, <list[str]>, <path>, <float range>, <int>...
TYPE_LABEL = re.compile(r"<(bool|str|int|float|path|file|list\[[^\]]*\]|[a-z]+ range|[a-z-]+(\|[a-z-]+)+)>")


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "orchestrator")
def test_dash_h_is_help_on_every_command(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run([*path, "-h"]) == 0
    short = capsys.readouterr().out
    assert cli.run([*path, "--help"]) == 0
    assert short == capsys.readouterr().out
    assert short.startswith(f"Usage: orchestrator {' '.join(path)}".rstrip())
    assert "-h, --help" in short


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "orchestrator")
def test_help_shows_value_names_not_python_types(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run([*path, "--help"]) == 0
    text = capsys.readouterr().out
    assert TYPE_LABEL.search(text) is None, TYPE_LABEL.search(text)


def test_output_is_the_format_wherever_it_exists() -> None:
    """-o/--output takes auto|rich|plain|json on every command that has it; no command uses -o otherwise."""
    with_output = []
    for path, cmd in walk():
        opts = options(cmd)
        if "--output" in opts:
            with_output.append(" ".join(path))
            assert opts["--output"] is opts["-o"], path
            assert opts["--output"].metavar == "FORMAT"
        else:
            assert "-o" not in opts, f"{path}: -o is the output format everywhere"
        # --out-file is the one name for a file a command writes.
        assert "--output-file" not in opts and "--json" not in opts, path
    assert {"release", "deploy", "status", "history", "rollback", "stop", "approve", "doctor", "build"} <= set(
        with_output
    )
    assert "sandbox status" in with_output


@pytest.mark.parametrize("name", ["release", "deploy", "approve", "rollback", "stop"])
def test_commands_that_follow_a_deployment_share_wait_and_timeout(name: str) -> None:
    (cmd,) = [c for p, c in walk() if p == (name,)]
    opts = options(cmd)
    assert opts["--wait"] is opts["--no-wait"] and opts["--wait"].default is True
    timeout = opts["--timeout"]
    assert timeout.default is None, "computed from the group and config unless given"
    assert timeout.metavar == "SECONDS"
    assert "--env" in opts and "-e" not in opts


def test_env_is_the_environment_and_container_variables_have_their_own_name() -> None:
    for path, cmd in walk():
        opts = options(cmd)
        assert "-e" not in opts, f"{path}: -e next to --env misled; use --container-env"
        if "--container-env" in opts:
            assert opts["--container-env"].metavar == "KEY=VALUE"


def test_rewrite_keeps_option_values_and_everything_after_the_double_dash() -> None:
    aliases = DEPRECATED["render"]
    takes = {"--image", "--container-env", "--out-file", "-i"}
    args, used = rewrite_deprecated(
        ["-o", "out.json", "--image", "-e", "-eA=1", "--output-file=x.json", "--", "-e"], aliases, takes
    )
    expected = ["--out-file", "out.json", "--image", "-e", "--container-env", "A=1", "--out-file", "x.json"]
    assert args == [*expected, "--", "-e"]
    assert [old for old, _ in used] == ["-o", "-e", "--output-file"]


def test_deprecated_render_spellings_still_write_the_file(tmp_path: Path, repo_root: Path) -> None:
    outputs = write_outputs(tmp_path / "outputs.json")
    target = tmp_path / "taskdef-new.json"
    proc = subprocess.run(
        [*ORCH, "render", "--outputs-file", str(outputs), "--image", "repo/web:1", "-e", "A=1", "-o", str(target)],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "warning: -o is deprecated; use --out-file" in proc.stderr
    assert "warning: -e is deprecated; use --container-env" in proc.stderr
    rendered = json.loads(target.read_text())
    env = {e["name"]: e["value"] for c in rendered["containerDefinitions"] for e in c.get("environment", [])}
    assert env.get("A") == "1"
    assert proc.stdout == ""

    new = subprocess.run(
        [*ORCH, "render", "--outputs-file", str(outputs), "--image", "repo/web:1", "--out-file", str(target)],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert new.returncode == 0 and "warning:" not in new.stderr


def test_sandbox_status_json_alias_still_prints_json(tmp_path: Path) -> None:
    env = {"ORCHESTRATOR_SANDBOX_DIR": str(tmp_path / "none"), "PATH": "/usr/bin:/bin"}
    old = subprocess.run([*ORCH, "sandbox", "status", "--json"], env=env, capture_output=True, text=True, timeout=60)
    new = subprocess.run(
        [*ORCH, "sandbox", "status", "-o", "json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert old.returncode == new.returncode == 0, old.stderr + new.stderr
    assert json.loads(old.stdout) == json.loads(new.stdout)
    assert json.loads(new.stdout)["running"] is False
    assert old.stderr.strip() == "warning: --json is deprecated; use --output json"
    assert new.stderr == ""


def test_a_bad_output_format_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(["sandbox", "status", "--output", "yaml"]) == 2
    assert capsys.readouterr().err.strip() == "error: --output 'yaml' is not one of auto, rich, plain, json"

"""`release --build --dry-run` builds nothing and pushes nothing: a fake `buildah` on PATH records every
invocation, and the same command without --dry-run shows that it would have been called (and that the
release then carries the build context's commit)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

FAKE_DIGEST = "sha256:" + "5e" * 32
REPO = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo/web"

FAKE_BUILDER = r"""#!__PYTHON__
import json, os, sys
argv = sys.argv[1:]
stdin = sys.stdin.read() if argv and argv[0] == "login" else ""
with open(os.environ["FAKE_BUILDER_LOG"], "a") as log:
    log.write(json.dumps({"argv": sys.argv}) + "\n")
if argv[0] == "push":
    open(argv[argv.index("--digestfile") + 1], "w").write("__DIGEST__")
"""


def release_build(sandbox: Any, tmp_path: Path, *args: str) -> tuple[Any, Path]:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    exe = bindir / "buildah"
    exe.write_text(FAKE_BUILDER.replace("__PYTHON__", sys.executable).replace("__DIGEST__", FAKE_DIGEST))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "builder.log"
    ctx = tmp_path / "ctx"
    ctx.mkdir(exist_ok=True)
    if not (ctx / ".git").exists():  # the build tags the image with the context's commit
        (ctx / "Dockerfile").write_text("FROM scratch\n")
        git = ["git", "-C", str(ctx), "-c", "user.email=t@example.com", "-c", "user.name=t"]
        for cmd in (["init", "-q"], ["add", "Dockerfile"], ["commit", "-q", "-m", "app"]):
            subprocess.run([*git, *cmd], check=True, capture_output=True)
    doc = sandbox.outputs()
    doc["services"]["value"]["web"]["ecr_repository_url"] = REPO
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(doc))
    env = {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "FAKE_BUILDER_LOG": str(log), "GITHUB_ACTIONS": "false"}
    res = sandbox.cli(
        "release", "--build", "--builder", "buildah", "--build-context", str(ctx), "--outputs-file", str(outputs),
        "--output", "json", *args, env=env,
    )  # fmt: skip
    return res, log


def test_release_build_dry_run_neither_builds_nor_pushes(sandbox: Any, tmp_path: Path) -> None:
    res, log = release_build(sandbox, tmp_path, "--dry-run")
    assert res.returncode == 0, res.stderr
    assert not log.exists(), f"the builder ran during a dry run: {log.read_text()}"
    assert sandbox.mutating_calls() == []
    plan = next(json.loads(line) for line in res.stdout.splitlines() if '"event":"plan"' in line)
    assert plan["calls"][0]["summary"].endswith(f"image {REPO}:to-be-built")  # the stand-in, not a digest

    res, log = release_build(sandbox, tmp_path, "--no-wait")  # the same without --dry-run does build
    assert res.returncode == 0, res.stderr
    assert [json.loads(line)["argv"][1] for line in log.read_text().splitlines()] == ["build", "login", "push"]
    # The release carries the commit the image was built from (the build context's), not the checkout's.
    built = subprocess.run(["git", "-C", str(tmp_path / "ctx"), "rev-parse", "HEAD"], capture_output=True, text=True)
    dep = json.loads(res.stdout.splitlines()[-1])["deployment_id"]
    info = sandbox.client("codedeploy").get_deployment(deploymentId=dep)["deploymentInfo"]
    assert f"git={built.stdout.strip()}" in info["description"]

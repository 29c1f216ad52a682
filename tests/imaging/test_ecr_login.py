"""The ECR password goes to the builder through stdin only: never on argv, stdout, stderr or in events.

A fake `buildah` on PATH records every invocation (argv and stdin) and, like a careless builder,
echoes what it read; the real GetAuthorizationToken of the sandbox supplies the token.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
from pathlib import Path

import pytest

FAKE_DIGEST = "sha256:" + "5e" * 32
REPO = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo/web"

FAKE_BUILDER = r"""#!__PYTHON__
import json, os, sys
argv = sys.argv[1:]
stdin = sys.stdin.read() if argv and argv[0] == "login" else ""
with open(os.environ["FAKE_BUILDER_LOG"], "a") as log:
    log.write(json.dumps({"argv": sys.argv, "stdin": stdin}) + "\n")
if argv[0] == "login":
    print("read password: " + stdin)  # a careless builder
    print("Login Succeeded!")
elif argv[0] == "push":
    path = argv[argv.index("--digestfile") + 1]
    open(path, "w").write("__DIGEST__")
    print("Writing manifest to image destination")
elif argv[0] == "build":
    print("STEP 1/2: FROM scratch")
"""


@pytest.fixture
def fake_buildah(tmp_path: Path) -> tuple[Path, Path]:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "buildah"
    exe.write_text(FAKE_BUILDER.replace("__PYTHON__", sys.executable).replace("__DIGEST__", FAKE_DIGEST))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return bindir, tmp_path / "builder.log"


def outputs_file(sandbox, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    doc = sandbox.outputs()
    doc["services"]["value"]["web"]["ecr_repository_url"] = REPO
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(doc))
    return path


def run_build(sandbox, tmp_path: Path, fake: tuple[Path, Path], **env: str):  # type: ignore[no-untyped-def]
    bindir, log = fake
    ctx = tmp_path / "ctx"
    ctx.mkdir(exist_ok=True)
    (ctx / "Dockerfile").write_text("FROM scratch\n")
    extra = {
        "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_BUILDER_LOG": str(log),
        "GITHUB_ACTIONS": "false",
        **env,
    }
    return sandbox.cli(
        "build",
        "--builder",
        "buildah",
        "--context",
        str(ctx),
        "--tag",
        "t1",
        "--outputs-file",
        str(outputs_file(sandbox, tmp_path)),
        "--output",
        "json",
        env=extra,
    )


def password_of(sandbox) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    token = sandbox.client("ecr").get_authorization_token()["authorizationData"][0]["authorizationToken"]
    user, _, password = base64.b64decode(token).decode().partition(":")
    assert user == "AWS" and password
    return token, password


def test_password_only_on_stdin(sandbox, tmp_path: Path, fake_buildah: tuple[Path, Path]) -> None:  # type: ignore[no-untyped-def]
    token, password = password_of(sandbox)
    proc = run_build(sandbox, tmp_path, fake_buildah)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    calls = [json.loads(line) for line in fake_buildah[1].read_text().splitlines()]
    verbs = [c["argv"][1] for c in calls]
    assert verbs == ["build", "login", "push"]
    login = calls[1]
    assert login["stdin"] == password
    assert "--password-stdin" in login["argv"] and login["argv"][-1] == REPO.split("/")[0]
    for call in calls:
        assert not any(password in arg or token in arg for arg in call["argv"]), call["argv"]
    # ECR is TLS: no --tls-verify=false for it.
    assert all("--tls-verify=false" not in c["argv"] for c in calls)
    for text in (proc.stdout, proc.stderr):
        assert password not in text and token not in text
    # The careless builder's echo is redacted in the events.
    assert "read password: ***" in proc.stdout
    summary = json.loads(proc.stdout.splitlines()[-1])
    assert summary["event"] == "summary" and summary["ok"] is True
    assert summary["image"] == f"{REPO}@{FAKE_DIGEST}"
    assert summary["digest"] == FAKE_DIGEST
    assert "t1" in summary["tags"]
    # The commit tag comes first and the push is by that tag.
    assert calls[2]["argv"][-1] == f"docker://{REPO}:{summary['tags'][0]}"


def test_under_github_actions_the_password_is_masked_and_shown_nowhere_else(
    sandbox,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    fake_buildah: tuple[Path, Path],
) -> None:
    token, password = password_of(sandbox)
    out, summ = tmp_path / "out", tmp_path / "summary"
    proc = run_build(
        sandbox,
        tmp_path,
        fake_buildah,
        GITHUB_ACTIONS="true",
        ORCHESTRATOR_GITHUB="",
        GITHUB_OUTPUT=str(out),
        GITHUB_STEP_SUMMARY=str(summ),
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert password not in proc.stdout and token not in proc.stdout
    # The only place it appears is the runner's mask command, which the runner consumes.
    mentions = [line for line in proc.stderr.splitlines() if password in line]
    assert mentions == [f"::add-mask::{password}"]
    assert password not in out.read_text() and password not in summ.read_text()
    assert f"{REPO}@{FAKE_DIGEST}" in out.read_text()


def test_build_for_target_is_what_release_build_chains(
    sandbox,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    fake_buildah: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from orchestrator.build import build_for_target
    from orchestrator.target import resolve_target

    bindir, log = fake_buildah
    for key, value in sandbox.env(PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}", FAKE_BUILDER_LOG=str(log)).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("GITHUB_ACTIONS", "false")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM scratch\n")
    target = resolve_target(Path("terraform"), None, outputs_file(sandbox, tmp_path), False, None)
    events: list = []

    class Rep:
        def emit(self, e) -> None:  # type: ignore[no-untyped-def]
            events.append(e)

        def close(self) -> None:
            pass

    result = build_for_target(target, Rep(), mask=lambda _v: None, context=ctx, tags=["t2"], builder="buildah")
    assert result.image == f"{REPO}@{FAKE_DIGEST}"
    assert [json.loads(line)["argv"][1] for line in log.read_text().splitlines()] == ["build", "login", "push"]
    assert events[-1].kind == "image_pushed"

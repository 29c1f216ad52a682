"""Build inputs: tags from git, repository URIs, builder choice, reuse of an image already in ECR."""

from __future__ import annotations

import os
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.recorder import Recorder

from orchestrator.build import (
    BuildSpec,
    GitState,
    build_and_push,
    check_repository,
    decide_tags,
    git_state,
    select_builder,
)
from orchestrator.errors import InputError

SHA = "0123456789abcdef0123456789abcdef01234567"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "README.md").write_text("hi\n")
    (tmp_path / ".gitignore").write_text("app/bin/\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "init")
    return tmp_path


def test_clean_tree_is_tagged_with_the_full_sha(repo: Path) -> None:
    state = git_state(repo / "app")
    assert state is not None and not state.dirty
    assert state.sha == git(repo, "rev-parse", "HEAD") and len(state.sha) == 40
    assert decide_tags(state, ["latest"], require_clean=True) == [state.sha, "latest"]


def test_only_changes_inside_the_context_make_it_dirty(repo: Path) -> None:
    (repo / "README.md").write_text("changed\n")
    (repo / "app" / "bin").mkdir()
    (repo / "app" / "bin" / "app").write_text("ignored build product")
    state = git_state(repo / "app")
    assert state is not None and not state.dirty
    (repo / "app" / "new.txt").write_text("untracked source")
    state = git_state(repo / "app")
    assert state is not None and state.dirty and any("new.txt" in c for c in state.changes)


def test_dirty_tree_gets_a_unique_dirty_tag_or_is_refused() -> None:
    state = GitState(SHA, dirty=True, changes=(" M app/server.c",))
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert decide_tags(state, [], require_clean=False, now=now) == [f"{SHA}-dirty-20260102T030405Z"]
    with pytest.raises(InputError, match=r"uncommitted changes \( M app/server.c\)"):
        decide_tags(state, [], require_clean=True)


def test_no_git_needs_an_explicit_tag(tmp_path: Path) -> None:
    assert git_state(tmp_path) is None
    with pytest.raises(InputError, match="give --tag"):
        decide_tags(None, [], require_clean=False)
    assert decide_tags(None, ["v1.2.3"], require_clean=False) == ["v1.2.3"]
    with pytest.raises(InputError, match="not a valid image tag"):
        decide_tags(None, ["-bad"], require_clean=False)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo/web",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo/web",
        ),
        ("https://127.0.0.1:5000/demo/web", "127.0.0.1:5000/demo/web"),
    ],
)
def test_repository_uris(given: str, expected: str) -> None:
    assert check_repository(given) == expected


@pytest.mark.parametrize("bad", ["web", "/demo/web", "host/demo/web:tag", "host/demo/web@sha256:00", "host/Demo/Web"])
def test_bad_repository_uris(bad: str) -> None:
    with pytest.raises(InputError):
        check_repository(bad)


def test_only_local_registries_are_insecure() -> None:
    assert BuildSpec("127.0.0.1:5000/demo/web").insecure
    assert BuildSpec("localhost:5000/demo/web").insecure
    assert not BuildSpec("123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo/web").insecure
    assert not BuildSpec("127.0.0.1.example.com/demo/web").insecure


def fake_exe(bindir: Path, name: str, code: int, out: str = "") -> None:
    exe = bindir / name
    exe.write_text(f"#!/bin/sh\necho '{out}'\nexit {code}\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)


def test_auto_builder_skips_a_docker_without_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_exe(tmp_path, "docker", 1)  # client only: `docker version` fails to reach the engine
    fake_exe(tmp_path, "buildah", 0)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert select_builder("auto") == ("buildah", str(tmp_path / "buildah"))
    with pytest.raises(InputError, match="cannot reach a Docker engine"):
        select_builder("docker")
    with pytest.raises(InputError, match="'podman' is not on PATH"):
        select_builder("podman")
    fake_exe(tmp_path, "docker", 0, "28.2.2")
    assert select_builder("auto")[0] == "docker"
    with pytest.raises(InputError, match="--builder 'kaniko'"):
        select_builder("kaniko")


def test_no_builder_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(InputError, match="no image builder"):
        select_builder("auto")


def test_image_of_this_commit_already_in_ecr_is_reused(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A re-run for the same commit (ECR tags are immutable) reports the existing digest, builds nothing."""
    from botocore.stub import Stubber

    from orchestrator.aws import Aws

    bindir = repo / "fakebin"
    bindir.mkdir()
    fake_exe(bindir, "buildah", 97)  # would fail if it were called
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}/usr/bin:/bin")
    sha = git(repo, "rev-parse", "HEAD")
    digest = "sha256:" + "c0" * 32
    aws = Aws("eu-west-1", sandbox=True)
    ecr = aws.client("ecr")
    stub = Stubber(ecr)
    stub.add_response(
        "describe_images",
        {"imageDetails": [{"imageDigest": digest, "imageTags": [sha]}]},
        {"registryId": "123456789012", "repositoryName": "demo/web", "imageIds": [{"imageTag": sha}]},
    )
    repo_uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo/web"
    with stub:
        result = build_and_push(
            BuildSpec(repo_uri, context=repo / "app", builder="buildah"), Recorder(), aws, mask=lambda _v: None
        )
    assert result.reused and result.image == f"{repo_uri}@{digest}" and result.tags == (sha,)
    stub.assert_no_pending_responses()


DOCKER_FAKE = """#!/bin/sh
echo "$@" >> "$FAKE_LOG"
case "$1" in
  version) echo 28.2.2 ;;
  build) echo "Successfully built 0123" ;;
  push) echo "The push refers to repository [x]"; echo "$2: digest: sha256:__HEX__ size: 528" ;;
  *) exit 3 ;;
esac
"""


def test_docker_push_digest_is_read_from_its_output(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bindir = tmp_path / "dockerbin"
    bindir.mkdir()
    exe = bindir / "docker"
    exe.write_text(DOCKER_FAKE.replace("__HEX__", "d0" * 32))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "docker.log"
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}/usr/bin:/bin")
    monkeypatch.setenv("FAKE_LOG", str(log))
    events = Recorder()
    result = build_and_push(
        BuildSpec("127.0.0.1:5000/demo/web", context=repo / "app", tags=("stable",), login=False),
        events,
        None,
        mask=lambda _v: None,
    )
    sha = git(repo, "rev-parse", "HEAD")
    assert result.builder == "docker" and result.tags == (sha, "stable")
    assert result.image == "127.0.0.1:5000/demo/web@sha256:" + "d0" * 32
    calls = log.read_text().splitlines()
    assert [c.split()[0] for c in calls] == ["version", "build", "push", "push"]
    # docker trusts 127.0.0.1 itself; the flag is buildah's and podman's.
    assert not any("--tls-verify" in c for c in calls)
    assert (
        f"--tag 127.0.0.1:5000/demo/web:{sha}" in calls[1] and "--label org.opencontainers.image.revision=" in calls[1]
    )
    kinds = [type(e).__name__ for e in events.events]
    assert kinds[-1] == "ImagePushed" and "BuildOutput" in kinds

"""ImageRef: an image reference parsed once (registry, repository, tag, digest, and the commit a tag names)."""

from __future__ import annotations

import pytest

from orchestrator.images import ImageRef, image_commit

SHA = "0123456789abcdef0123456789abcdef01234567"
DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("uri", "registry", "repository", "tag", "digest"),
    [
        (
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo/web:v1",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            "demo/web",
            "v1",
            None,
        ),
        ("localhost:5000/web", "localhost:5000", "web", None, None),
        ("127.0.0.1:5000/demo/web:t@" + DIGEST, "127.0.0.1:5000", "demo/web", "t", DIGEST),
        ("nginx:1.27", None, "nginx", "1.27", None),
        ("library/nginx@" + DIGEST, None, "library/nginx", None, DIGEST),
        ("localhost/web:x", "localhost", "web", "x", None),
    ],
)
def test_the_parts_of_a_reference(
    uri: str, registry: str | None, repository: str, tag: str | None, digest: str | None
) -> None:
    assert ImageRef.parse(uri) == ImageRef(registry, repository, tag, digest)


def test_the_commit_comes_from_the_tags_orchestrator_build_writes() -> None:
    assert ImageRef.parse(f"registry:5000/web:{SHA}").commit == SHA
    assert ImageRef.parse(f"web:{SHA}-dirty-20260101T000000Z").commit == SHA
    assert ImageRef.parse(f"web:{SHA}@{DIGEST}").commit == SHA
    assert image_commit("web:v1") is None and image_commit(f"web@{DIGEST}") is None
    assert image_commit(f"registry:5000/{SHA}") is None  # a repository named like a SHA is not a tag


def test_only_ecr_registries_have_an_account() -> None:
    assert ImageRef.parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo/web:v1").ecr_account == "123456789012"
    assert ImageRef.parse("127.0.0.1:5000/demo/web:v1").ecr_account is None
    assert ImageRef.parse("nginx").ecr_account is None

"""Image references, parsed once: `ImageRef.parse(uri)` -> registry, repository, tag, digest, and the
commit a tag names (the tags `orchestrator build` writes). Also what a repository URI must look like
for the builders (`check_repository`) and which registries are ECR's (`ECR_HOST`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from orchestrator.errors import InputError

ECR_HOST = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")
# The tags `orchestrator build` writes: the full commit SHA, or `<sha>-dirty-<UTC timestamp>`.
SHA_TAG = re.compile(r"^([0-9a-f]{40})(?:-dirty-[0-9A-Za-z._-]+)?$")


@dataclass(frozen=True)
class ImageRef:
    """`[registry/]repository[:tag][@digest]`, as Docker reads a reference: the first path component
    is a registry when it holds a `.` or a `:` or is `localhost`."""

    registry: str | None
    repository: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, uri: str) -> ImageRef:
        name, at, digest = uri.partition("@")
        first, slash, rest = name.partition("/")
        registry = None
        if slash and ("." in first or ":" in first or first == "localhost"):
            registry, name = first, rest
        last = name.rsplit("/", 1)[-1]
        tag = None
        if ":" in last:
            name, _, tag = name.rpartition(":")
        return cls(registry, name, tag, digest if at else None)

    @property
    def commit(self) -> str | None:
        """The commit the image was built from, when its tag says so (the tag `orchestrator build` writes)."""
        m = SHA_TAG.match(self.tag) if self.tag else None
        return m.group(1) if m else None

    @property
    def ecr_account(self) -> str | None:
        """The AWS account of an ECR registry (None for another registry)."""
        m = ECR_HOST.match(self.registry or "")
        return m.group("account") if m else None


def image_commit(image: str) -> str | None:
    """The commit an image was built from, when its tag says so."""
    return ImageRef.parse(image).commit


def check_repository(repository: str) -> str:
    """A repository URI as the builders expect it: host/path, lower case path, no tag or digest."""
    repo = repository.strip()
    for scheme in ("https://", "http://", "docker://"):
        if repo.startswith(scheme):
            repo = repo[len(scheme) :]
    if "/" not in repo or repo.startswith("/") or "@" in repo or ":" in repo.split("/", 1)[1]:
        raise InputError(
            f"repository {repository!r} must be host/path without a tag or digest",
            hint="e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo/web",
        )
    path = repo.split("/", 1)[1]
    if not re.fullmatch(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*", path):
        raise InputError(f"repository path {path!r} is not a valid image name (lower case, digits, . _ - /)")
    return repo

"""The images the sandbox's ECR holds: only those pushed to it.

`push(image)` (control endpoint POST /_sandbox/ecr/images, `orchestrator sandbox push IMAGE`) registers
an image in the sandbox's ECR repository as a registry push ends: a manifest under the tag, its digest
the sha256 of the manifest's bytes (how ECR and the distribution spec name a manifest). No layer is
stored and no registry daemon runs; the manifest is made from the reference, so pushing the same
reference twice is the same image. A reference with only a digest is registered under that digest
(the sandbox's choice: it trusts the digest it is given). Pushing goes through the registry endpoint,
not the ECR API, so it is not counted among the AWS calls (as `docker push` is not an API call).

`missing(image, account, region)`: whether a task of the sandbox could not pull `image` — an image of
an ECR registry that the sandbox's ECR does not hold. Images of other registries (Docker Hub,
public.ecr.aws, a local registry) are taken as pullable: the sandbox has no internet to ask (the
sandbox's choice). ECS then stops the task with CannotPullContainerError (tasks.py).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from orchestrator.images import ECR_HOST, ImageRef

MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


class PushError(ValueError):
    """An image the sandbox cannot register (the control endpoint answers HTTP 400)."""


def _backend(account: str, region: str) -> Any:
    from moto.ecr.models import ecr_backends

    return ecr_backends[account][region]


def _manifest(ref: ImageRef) -> str:
    """A schema-2 manifest standing for `ref`: a config blob whose digest comes from the reference."""
    seed = hashlib.sha256(f"{ref.registry}/{ref.repository}:{ref.tag}".encode()).hexdigest()
    doc = {
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 0,
            "digest": f"sha256:{seed}",
        },
        "layers": [],
    }
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


def push(image: str) -> dict[str, Any]:
    """Register `image` (an ECR URI with a tag or a digest) in the sandbox's ECR; idempotent."""
    from moto.ecr.exceptions import ImageAlreadyExistsException

    ref = ImageRef.parse(image)
    match = ECR_HOST.match(ref.registry or "")
    if match is None:
        raise PushError(f"{image}: not an ECR image (<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>)")
    if not ref.tag and not ref.digest:
        raise PushError(f"{image}: give a tag (:<tag>) or a digest (@sha256:...)")
    backend = _backend(match.group("account"), match.group("region"))
    repository = backend.repositories.get(ref.repository)
    if repository is None:
        known = ", ".join(sorted(backend.repositories)) or "none"
        raise PushError(f"{image}: no ECR repository {ref.repository!r} in the sandbox (repositories: {known})")
    if ref.tag is None:
        return _push_digest(backend, repository, image, ref)
    manifest = _manifest(ref)
    digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    try:
        pushed = backend.put_image(ref.repository, manifest, ref.tag, MEDIA_TYPE, digest)
        digest = pushed.get_image_digest()
    except ImageAlreadyExistsException:
        held = _find(repository, tag=ref.tag)
        if held is None or held.get_image_digest() != digest:  # an immutable tag on another image
            raise PushError(f"{image}: the tag {ref.tag} is held by another image (tags are immutable)") from None
    return {"image": image, "repository": ref.repository, "tag": ref.tag, "digest": digest}


def _push_digest(backend: Any, repository: Any, image: str, ref: ImageRef) -> dict[str, Any]:
    from moto.ecr.models import Image

    if _find(repository, digest=ref.digest) is None:
        manifest = json.dumps({"schemaVersion": 2, "mediaType": MEDIA_TYPE, "config": {}, "layers": []})
        repository.images.append(
            Image(backend.account_id, None, manifest, ref.repository, MEDIA_TYPE, ref.digest)  # type: ignore[arg-type]
        )
    return {"image": image, "repository": ref.repository, "tag": None, "digest": ref.digest}


def _find(repository: Any, *, tag: str | None = None, digest: str | None = None) -> Any:
    for held in repository.images:
        if (tag is not None and tag in held.image_tags) or (digest is not None and held.get_image_digest() == digest):
            return held
    return None


def missing(image: str) -> bool:
    """Whether `image` names an ECR image the sandbox's ECR does not hold (a task could not pull it)."""
    ref = ImageRef.parse(image)
    match = ECR_HOST.match(ref.registry or "")
    if match is None:
        return False
    repository = _backend(match.group("account"), match.group("region")).repositories.get(ref.repository)
    if repository is None:
        return True
    if ref.digest:
        return _find(repository, digest=ref.digest) is None
    return _find(repository, tag=ref.tag or "latest") is None


def control(method: str, payload: dict[str, Any]) -> tuple[str, Any]:
    """/_sandbox/ecr/images: POST {"image": URI} registers it."""
    if method not in ("POST", "PUT"):
        return "405", {"error": f"{method} not allowed on /_sandbox/ecr/images"}
    image = payload.get("image")
    if not isinstance(image, str) or not image:
        raise PushError('the body needs "image": an ECR image URI')
    return "200", push(image)

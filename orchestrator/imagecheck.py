"""Is every image a task definition names really there? Checked before the first write of `release`,
`deploy` and `run`, so that a tag never pushed is refused (exit 2) instead of failing at Install.

- No tag and no digest: refused (ECS would pull `latest`, which is rarely what was meant); `:latest`
  named explicitly is accepted.
- ECR (`<account>.dkr.ecr.<region>.amazonaws.com/...`): `DescribeImages` with the tag or the digest.
  ImageNotFoundException / RepositoryNotFoundException refuse; any other error (AccessDenied, ...) is
  "cannot verify" (a warning).
- Another registry: its manifest endpoint (distribution spec, `HEAD /v2/<name>/manifests/<reference>`),
  anonymously or with the docker config's credentials, following a Bearer challenge once for a pull
  token. 404 refuses; anything else that is not 200 (no answer in `TIMEOUT_S`, 401, ...) is "cannot
  verify".
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.errors import InputError
from orchestrator.images import ECR_HOST, ImageRef

if TYPE_CHECKING:
    from orchestrator.aws import Aws

TIMEOUT_S = 3.0
# Docker Hub's short names (`nginx:1`, `repo/web:1`) live here (Docker's reference normalisation).
DOCKER_HUB = "registry-1.docker.io"
_MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
_ECR_MISSING = ("ImageNotFoundException", "RepositoryNotFoundException")


@dataclass(frozen=True)
class Verdict:
    """One image's check: present (True), absent (False, refused), or unknown (None, with why)."""

    image: str
    present: bool | None
    why: str = ""


def images_of(taskdef: dict[str, Any]) -> list[str]:
    """Every container's image, in order, once each."""
    seen: list[str] = []
    for c in taskdef.get("containerDefinitions") or []:
        image = str(c.get("image") or "") if isinstance(c, dict) else ""
        if image and image not in seen:
            seen.append(image)
    return seen


def check_reference(image: str, where: str) -> ImageRef:
    """The parsed reference; an image with neither tag nor digest is refused (exit 2)."""
    ref = ImageRef.parse(image)
    if not ref.tag and not ref.digest:
        raise InputError(
            f"{where}: image {image!r} has no tag or digest (ECS would pull whatever `latest` is then)",
            hint=f"name the tag you mean ({image}:<tag>, or {image}:latest explicitly) or a digest (@sha256:...)",
        )
    return ref


def verify_images(
    aws: Aws, images: Iterable[str], where: str, warn: Callable[[str], None], *, timeout: float = TIMEOUT_S
) -> list[Verdict]:
    """Check each image; refuse (InputError) the first that is not there, warn for those that cannot be
    checked. Reads only."""
    verdicts = []
    for image in images:
        ref = check_reference(image, where)
        verdict = _ecr(aws, image, ref) if ref.ecr_account else _registry(image, ref, timeout)
        if verdict.present is False:
            raise InputError(
                f"{where}: image {image} is not in its registry ({verdict.why})",
                hint="push it first (`orchestrator build`, or `orchestrator sandbox push IMAGE` in the sandbox), "
                "or fix the tag",
            )
        if verdict.present is None:
            warn(f"cannot verify {image}: {verdict.why}")
        verdicts.append(verdict)
    return verdicts


def _ecr(aws: Aws, image: str, ref: ImageRef) -> Verdict:
    from botocore.exceptions import BotoCoreError, ClientError

    image_id = {"imageDigest": ref.digest} if ref.digest else {"imageTag": str(ref.tag)}
    match = ECR_HOST.match(ref.registry or "")
    if match and match.group("region") != aws.region:  # an image in another region's registry
        aws = replace(aws, region=match.group("region"), _clients={}, cache={}, _session=None)
    try:
        aws.client("ecr").describe_images(
            registryId=ref.ecr_account, repositoryName=ref.repository, imageIds=[image_id]
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        text = exc.response.get("Error", {}).get("Message", "") or code
        return Verdict(image, False if code in _ECR_MISSING else None, f"ECR DescribeImages: {code}: {text}")
    except BotoCoreError as exc:
        return Verdict(image, None, f"ECR DescribeImages: {exc}")
    return Verdict(image, True)


def _registry(image: str, ref: ImageRef, timeout: float) -> Verdict:
    host = ref.registry or DOCKER_HUB
    if host in ("docker.io", "index.docker.io"):
        host = DOCKER_HUB
    name = ref.repository
    if host == DOCKER_HUB and "/" not in name:
        name = f"library/{name}"  # Docker Hub's official images
    # A registry on this machine speaks plain HTTP (as Docker treats localhost); others HTTPS.
    local = host.split(":", 1)[0] in ("localhost", "127.0.0.1", "::1")
    url = f"{'http' if local else 'https'}://{host}/v2/{name}/manifests/{ref.digest or ref.tag}"
    basic = _docker_auth(host)
    try:
        status, challenge = _head(url, f"Basic {basic}" if basic else None, timeout)
        if status == 401 and challenge.lower().startswith("bearer "):
            token = _bearer_token(challenge, name, basic, timeout)
            status, _ = _head(url, f"Bearer {token}", timeout)
    except (OSError, ValueError) as exc:  # no answer, DNS, TLS, a token endpoint that says nothing useful
        return Verdict(image, None, f"{host} did not answer ({_reason(exc)})")
    if status == 200:
        return Verdict(image, True)
    if status == 404:
        return Verdict(image, False, f"{host} has no manifest {ref.digest or ref.tag} for {name}")
    return Verdict(image, None, f"{host} answered HTTP {status}")


def _reason(exc: BaseException) -> str:
    inner = getattr(exc, "reason", None)
    return str(inner or exc) or type(exc).__name__


def _head(url: str, authorization: str | None, timeout: float) -> tuple[int, str]:
    headers = {"Accept": _MANIFEST_TYPES}
    if authorization:
        headers["Authorization"] = authorization
    request = urllib.request.Request(url, method="HEAD", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), ""
    except urllib.error.HTTPError as exc:
        return int(exc.code), str(exc.headers.get("WWW-Authenticate") or "")


def _bearer_token(challenge: str, name: str, basic: str | None, timeout: float) -> str:
    """A pull token from the challenge's realm (the registry token protocol); ValueError if none."""
    params = dict(_challenge_params(challenge[len("bearer ") :]))
    realm = params.pop("realm", "")
    if not realm.startswith(("https://", "http://")):
        raise ValueError(f"bearer challenge without a usable realm: {challenge}")
    query = {"service": params.get("service", ""), "scope": params.get("scope") or f"repository:{name}:pull"}
    request = urllib.request.Request(f"{realm}?{urllib.parse.urlencode(query)}")
    if basic:
        request.add_header("Authorization", f"Basic {basic}")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        doc = json.loads(response.read() or b"{}")
    token = doc.get("token") or doc.get("access_token") if isinstance(doc, dict) else None
    if not token:
        raise ValueError("the token endpoint returned no token")
    return str(token)


def _challenge_params(text: str) -> Iterable[tuple[str, str]]:
    for part in text.split(","):
        key, eq, value = part.strip().partition("=")
        if eq:
            yield key.strip().lower(), value.strip().strip('"')


def _docker_auth(host: str) -> str | None:
    """base64 user:password for `host` in the docker config ($DOCKER_CONFIG/config.json, else
    ~/.docker/config.json) `auths`; None when absent (credential helpers are not asked)."""
    base = os.environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
    try:
        doc = json.loads((Path(base) / "config.json").read_text())
    except (OSError, ValueError):
        return None
    auths = doc.get("auths") if isinstance(doc, dict) else None
    if not isinstance(auths, dict):
        return None
    names = {host, f"https://{host}", f"http://{host}"}
    if host == DOCKER_HUB:
        names |= {"https://index.docker.io/v1/", "docker.io", "index.docker.io"}
    for key, entry in auths.items():
        if key.rstrip("/") in names or key in names:
            auth = entry.get("auth") if isinstance(entry, dict) else None
            if isinstance(auth, str) and auth:
                try:
                    base64.b64decode(auth, validate=True)
                except ValueError:
                    return None
                return auth
    return None

"""Build the service image, tag it with the git commit, log in to ECR and push it.

The domain half of `orchestrator build` (and of `release --build`): `build_and_push(spec, ...)`
returns a BuildResult whose `image` is the immutable reference `repository@sha256:...`.

Decisions, documented in docs/build-and-ci.md:
- the tag is the full 40-character commit SHA (`git rev-parse HEAD`), as GitHub's `github.sha`;
- a build context with uncommitted changes gets `<sha>-dirty-<UTC timestamp>` instead (the SHA would
  lie about what is inside, and ECR repositories with immutable tags refuse a second push of one tag);
  `require_clean` refuses such a tree instead;
- the ECR password goes to the builder's `login --password-stdin` through a pipe, never on argv,
  never in an event; under GitHub Actions it is registered with `::add-mask::` first;
- the builder is docker when its engine answers, else buildah, else podman (or the one chosen).
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.aws import refusals
from orchestrator.errors import AwsRefused, DeploymentFailed, InputError
from orchestrator.events import BuildOutput, ImagePushed, Message, StepFinished, StepStarted
from orchestrator.images import ECR_HOST, ImageRef, check_repository, image_commit
from orchestrator.target import sandbox_repository

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.events import Reporter
    from orchestrator.target import Target

BUILDERS = ("docker", "buildah", "podman")
BUILDER_CHOICES = ("auto", *BUILDERS)
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# Docker's reference grammar for a tag.
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_OUTPUT_TAIL = 20


class BuildFailed(DeploymentFailed):
    """The builder failed (exit 1): the build, the login or the push."""


@dataclass(frozen=True)
class BuildSpec:
    """What to build and where to push it."""

    repository: str  # registry host[:port]/path, no tag, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo/web
    context: Path = Path(".")
    dockerfile: Path | None = None  # default: <context>/Dockerfile
    tags: tuple[str, ...] = ()  # extra tags beside the commit tag
    builder: str = "auto"
    build_args: tuple[str, ...] = ()  # KEY=VALUE
    platform: str | None = None
    push: bool = True
    login: bool = True  # ECR login first (off for registries the builder is already logged in to)
    require_clean: bool = False

    @property
    def registry(self) -> str:
        return self.repository.split("/", 1)[0]

    @property
    def insecure(self) -> bool:
        # Plain HTTP only for a registry on this machine (the sandbox's docker-registry).
        host = self.registry.rsplit(":", 1)[0] if not self.registry.startswith("[") else self.registry
        return host in {"127.0.0.1", "localhost", "[::1]"}


@dataclass(frozen=True)
class BuildResult:
    repository: str
    tags: tuple[str, ...]
    digest: str | None  # None when not pushed
    builder: str
    git_sha: str | None
    dirty: bool
    reused: bool = False  # the commit's image was already in ECR; nothing was built
    duration_s: float = 0.0

    @property
    def image(self) -> str:
        """The reference to deploy: by digest once pushed, by the first tag otherwise."""
        if self.digest:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{self.tags[0]}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "repository": self.repository,
            "digest": self.digest,
            "tags": list(self.tags),
            "builder": self.builder,
            "git_sha": self.git_sha,
            "dirty": self.dirty,
            "pushed": self.digest is not None,
            "reused": self.reused,
        }


@dataclass(frozen=True)
class GitState:
    sha: str
    dirty: bool
    changes: tuple[str, ...] = field(default=())


# --- inputs -------------------------------------------------------------------------------------


def git_state(context: Path, extra_paths: Sequence[Path] = ()) -> GitState | None:
    """The commit of the work tree holding `context`, and whether the build inputs differ from it."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(context), "rev-parse", "--verify", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    # Only the build inputs count: an edited README does not change the image. Ignored files
    # (app/bin/) are build products, not sources.
    paths = [str(context.resolve()), *(str(p.resolve()) for p in extra_paths)]
    status = subprocess.run(
        ["git", "-C", str(context), "status", "--porcelain", "--untracked-files=normal", "--", *paths],
        capture_output=True,
        text=True,
    )
    changes = tuple(line for line in status.stdout.splitlines() if line.strip())
    return GitState(sha=sha, dirty=bool(changes) or status.returncode != 0, changes=changes)


def decide_tags(
    git: GitState | None, extra: Sequence[str], require_clean: bool, now: datetime | None = None
) -> list[str]:
    tags: list[str] = []
    if git is not None:
        if git.dirty and require_clean:
            shown = "; ".join(git.changes[:5]) + (" ..." if len(git.changes) > 5 else "")
            raise InputError(
                f"the build context has uncommitted changes ({shown})",
                hint="commit them, or drop --require-clean to get a <sha>-dirty-<time> tag",
            )
        if git.dirty:
            stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
            tags.append(f"{git.sha}-dirty-{stamp}")
        else:
            tags.append(git.sha)
    for tag in extra:
        if not TAG.match(tag):
            raise InputError(f"--tag {tag!r} is not a valid image tag ([A-Za-z0-9_.-], at most 128, no leading . or -)")
        if tag not in tags:
            tags.append(tag)
    if not tags:
        raise InputError("not a git work tree, so there is no commit to tag the image with", hint="give --tag")
    return tags


# --- builders -----------------------------------------------------------------------------------


def _engine_answers(docker: str) -> bool:
    try:
        probe = subprocess.run(
            [docker, "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
            timeout=15,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0 and bool(probe.stdout.strip())


def select_builder(choice: str = "auto") -> tuple[str, str]:
    """(name, executable). auto: docker when its engine answers, else buildah, else podman."""
    if choice not in BUILDER_CHOICES:
        raise InputError(f"--builder {choice!r} is not one of {', '.join(BUILDER_CHOICES)}")
    if choice != "auto":
        exe = shutil.which(choice)
        if exe is None:
            raise InputError(f"--builder {choice}: {choice!r} is not on PATH")
        if choice == "docker" and not _engine_answers(exe):
            raise InputError("--builder docker: the docker client cannot reach a Docker engine", hint="start it")
        return choice, exe
    docker = shutil.which("docker")
    if docker and _engine_answers(docker):
        return "docker", docker
    for name in ("buildah", "podman"):
        exe = shutil.which(name)
        if exe:
            return name, exe
    raise InputError(
        "no image builder: docker (with a running engine), buildah or podman is needed",
        hint="install one, e.g. `apt-get install buildah`",
    )


@dataclass(frozen=True)
class Builder:
    name: str
    exe: str

    def _tls(self, spec: BuildSpec) -> list[str]:
        # docker trusts 127.0.0.0/8 over plain HTTP by itself; buildah and podman need telling.
        return ["--tls-verify=false"] if spec.insecure and self.name != "docker" else []

    def login_argv(self, spec: BuildSpec, username: str) -> list[str]:
        return [self.exe, "login", "--username", username, "--password-stdin", *self._tls(spec), spec.registry]

    def build_argv(self, spec: BuildSpec, refs: Sequence[str], labels: dict[str, str]) -> list[str]:
        dockerfile = spec.dockerfile or spec.context / "Dockerfile"
        argv = [self.exe, "build", "--file", str(dockerfile)]
        if self.name == "buildah":
            # chroot isolation: no user namespaces or runc needed (CI containers); Docker v2 manifests,
            # which keep HEALTHCHECK and which every registry and ECS accept.
            argv += ["--isolation", os.environ.get("BUILDAH_ISOLATION", "chroot"), "--format", "docker"]
        elif self.name == "podman":
            argv += ["--format", "docker"]
        if spec.platform:
            argv += ["--platform", spec.platform]
        for arg in spec.build_args:
            argv += ["--build-arg", arg]
        for key, value in labels.items():
            argv += ["--label", f"{key}={value}"]
        for ref in refs:
            argv += ["--tag", ref]
        argv.append(str(spec.context))
        return argv

    def push_argv(self, spec: BuildSpec, ref: str, digestfile: Path) -> list[str]:
        if self.name == "docker":
            return [self.exe, "push", ref]
        return [self.exe, "push", *self._tls(spec), "--digestfile", str(digestfile), ref, f"docker://{ref}"]


# --- ECR login ----------------------------------------------------------------------------------


def ecr_credentials(aws: Aws, registry: str) -> tuple[str, str]:
    """(username, password) from ECR GetAuthorizationToken. The password stays in memory only."""

    match = ECR_HOST.match(registry.split(":", 1)[0])
    kwargs: dict[str, Any] = {}
    if match:
        # The registry of the repository, which may be another account's than the caller's.
        kwargs["registryIds"] = [match.group("account")]
    with refusals():
        response = aws.client("ecr").get_authorization_token(**kwargs)
    data = response.get("authorizationData") or []
    if not data or "authorizationToken" not in data[0]:
        raise AwsRefused("ECR GetAuthorizationToken returned no authorization data")
    token = data[0]["authorizationToken"]
    try:
        decoded = base64.b64decode(token, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise AwsRefused("ECR GetAuthorizationToken returned a token that is not base64 user:password") from None
    username, sep, password = decoded.partition(":")
    if not sep or not username or not password:
        raise AwsRefused("ECR GetAuthorizationToken returned a token that is not base64 user:password")
    return username, password


def existing_ecr_digest(aws: Aws, repository: str, tag: str) -> str | None:
    """The digest ECR holds under repository:tag, or None (absent, not ECR, or not allowed to look)."""
    match = ECR_HOST.match(repository.split("/", 1)[0])
    if not match:
        return None
    name = repository.split("/", 1)[1]
    try:
        response = aws.client("ecr").describe_images(
            registryId=match.group("account"), repositoryName=name, imageIds=[{"imageTag": tag}]
        )
    except Exception:  # ImageNotFoundException, AccessDenied, ...: build and push as usual
        return None
    details = response.get("imageDetails") or []
    digest = details[0].get("imageDigest") if details else None
    return str(digest) if digest else None


def ecr_image_commit(aws: Aws, image: str) -> str | None:
    """The commit ECR says an image was built from: one of its tags is a commit SHA (what `build`
    writes) — for a digest reference, or a tag like `v1.2` on the same image. None when the image is
    not in ECR, has no such tag, or we may not look (DescribeImages: imageDetails[].imageTags)."""
    ref = ImageRef.parse(image)
    account = ref.ecr_account
    image_id = {"imageDigest": ref.digest} if ref.digest else {"imageTag": ref.tag} if ref.tag else None
    if account is None or image_id is None:
        return None
    try:
        response = aws.client("ecr").describe_images(
            registryId=account, repositoryName=ref.repository, imageIds=[image_id]
        )
    except Exception:  # ImageNotFoundException, AccessDenied, ...: the image says nothing
        return None
    for detail in response.get("imageDetails") or []:
        for other in detail.get("imageTags") or []:
            commit = image_commit(f"{ref.repository}:{other}")
            if commit:
                return commit
    return None


# --- running the builder ------------------------------------------------------------------------


def _run(
    argv: list[str],
    step: str,
    reporter: Reporter,
    *,
    stdin: str | None = None,
    secrets: Sequence[str] = (),
) -> tuple[int, list[str]]:
    """Run a builder command, streaming its output as events; return (exit code, output lines)."""
    lines: list[str] = []
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
        )
    except OSError as exc:
        raise InputError(f"cannot run {argv[0]}: {exc}") from None
    if stdin is not None:
        assert proc.stdin is not None
        try:
            proc.stdin.write(stdin)
            proc.stdin.close()
        except BrokenPipeError:
            pass
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = raw.rstrip("\n")
        for secret in secrets:  # belt and braces: a builder that echoes its input shows stars
            if secret:
                line = line.replace(secret, "***")
        lines.append(line)
        reporter.emit(BuildOutput(step=step, line=line))
    return proc.wait(), lines


def _tail(lines: list[str]) -> str:
    tail = [line for line in lines if line.strip()][-_OUTPUT_TAIL:]
    return ("\n" + "\n".join(tail)) if tail else ""


def _step(reporter: Reporter, step: str, detail: str) -> float:
    reporter.emit(StepStarted(step=step, detail=detail))
    return time.monotonic()


def _done(reporter: Reporter, step: str, started: float, detail: str = "") -> None:
    reporter.emit(StepFinished(step=step, detail=detail, duration_s=round(time.monotonic() - started, 3)))


def build_and_push(
    spec: BuildSpec,
    reporter: Reporter,
    aws: Aws | None = None,
    *,
    mask: Callable[[str], None],
) -> BuildResult:
    """Build spec.context, tag it with the commit, and (unless spec.push is False) log in and push.

    `aws` is needed for the ECR login (spec.login) and to find an image already pushed for this
    commit; `mask` registers the ECR password with the CI log masker (the CLI passes GitHub's
    `::add-mask::`, a no-op outside GitHub Actions).
    Raises InputError (2) before anything runs when the inputs are wrong, BuildFailed (1) when the
    builder fails, AwsRefused (4) when ECR refuses the token.
    """
    started_all = time.monotonic()
    repository = check_repository(spec.repository)
    spec = BuildSpec(**{**spec.__dict__, "repository": repository})
    if not spec.context.is_dir():
        raise InputError(f"build context {spec.context} is not a directory")
    dockerfile = spec.dockerfile or spec.context / "Dockerfile"
    if not dockerfile.is_file():
        raise InputError(f"no Dockerfile at {dockerfile}", hint="give --file, or --context a directory that has one")
    for arg in spec.build_args:
        if "=" not in arg or not arg.split("=", 1)[0]:
            raise InputError(f"--build-arg {arg!r} must be KEY=VALUE")
    if spec.login and spec.push and aws is None:
        raise InputError("an ECR login needs the AWS region and credentials")

    git = git_state(spec.context, [dockerfile] if spec.dockerfile else [])
    tags = decide_tags(git, spec.tags, spec.require_clean)
    if git is not None and git.dirty:
        reporter.emit(
            Message(f"build context has uncommitted changes: tagging {tags[0]} instead of the commit", "warning")
        )
    name, exe = select_builder(spec.builder)
    builder = Builder(name, exe)
    refs = [f"{repository}:{tag}" for tag in tags]

    # A clean commit whose image is already in ECR: reuse it (re-runs of a workflow, immutable tags).
    if spec.push and aws is not None and git is not None and not git.dirty and not spec.tags:
        existing = existing_ecr_digest(aws, repository, tags[0])
        if existing:
            reporter.emit(Message(f"{refs[0]} is already in ECR ({existing}): not building it again"))
            result = BuildResult(repository, tuple(tags), existing, name, git.sha, False, reused=True)
            reporter.emit(ImagePushed(image=result.image, repository=repository, digest=existing, tags=result.tags))
            return result

    labels = {"org.opencontainers.image.revision": git.sha} if git is not None else {}
    t = _step(reporter, "build", f"{name} building {spec.context} as {', '.join(refs)}")
    code, lines = _run(builder.build_argv(spec, refs, labels), "build", reporter)
    if code != 0:
        raise BuildFailed(f"{name} build failed (exit {code}){_tail(lines)}")
    _done(reporter, "build", t)

    if not spec.push:
        return BuildResult(
            repository, tuple(tags), None, name, git.sha if git else None, bool(git and git.dirty),
            duration_s=round(time.monotonic() - started_all, 3),
        )  # fmt: skip

    if spec.login:
        assert aws is not None
        t = _step(reporter, "login", f"{name} login to {spec.registry} with an ECR authorization token")
        username, password = ecr_credentials(aws, spec.registry)
        mask(password)
        code, lines = _run(builder.login_argv(spec, username), "login", reporter, stdin=password, secrets=[password])
        del password
        if code != 0:
            raise AwsRefused(f"{name} login to {spec.registry} failed (exit {code}){_tail(lines)}")
        _done(reporter, "login", t)

    digest: str | None = None
    with tempfile.TemporaryDirectory(prefix="orchestrator-push-") as tmp:
        for i, ref in enumerate(refs):
            digestfile = Path(tmp) / f"digest-{i}"
            t = _step(reporter, "push", f"{name} push {ref}")
            code, lines = _run(builder.push_argv(spec, ref, digestfile), "push", reporter)
            if code != 0:
                raise BuildFailed(f"{name} push of {ref} failed (exit {code}){_tail(lines)}")
            pushed = _pushed_digest(builder, ref, digestfile, lines)
            if pushed is None:
                raise BuildFailed(f"{name} pushed {ref} but its digest could not be read")
            digest = digest or pushed
            _done(reporter, "push", t, pushed)
    assert digest is not None
    result = BuildResult(
        repository, tuple(tags), digest, name, git.sha if git else None, bool(git and git.dirty),
        duration_s=round(time.monotonic() - started_all, 3),
    )  # fmt: skip
    reporter.emit(ImagePushed(image=result.image, repository=repository, digest=digest, tags=result.tags))
    return result


def _pushed_digest(builder: Builder, ref: str, digestfile: Path, lines: list[str]) -> str | None:
    if digestfile.is_file():
        found = DIGEST.search(digestfile.read_text())
        if found:
            return found.group(0)
    # docker push prints "<tag>: digest: sha256:... size: N".
    for line in reversed(lines):
        if "digest:" in line:
            found = DIGEST.search(line)
            if found:
                return found.group(0)
    if builder.name == "docker":
        inspect = subprocess.run(
            [builder.exe, "image", "inspect", "--format", "{{json .RepoDigests}}", ref],
            capture_output=True,
            text=True,
        )
        repo = ref.rsplit(":", 1)[0]
        for item in re.findall(r'"([^"]+)"', inspect.stdout):
            if item.startswith(repo + "@"):
                return item.split("@", 1)[1]
    return None


def default_context() -> Path:
    """The current directory when it has a Dockerfile, else the sample app's directory."""
    return Path(".") if Path("Dockerfile").is_file() or not Path("app/Dockerfile").is_file() else Path("app")


def build_for_target(
    target: Target,
    reporter: Reporter,
    *,
    mask: Callable[[str], None],
    context: Path | None = None,
    dockerfile: Path | None = None,
    tags: Sequence[str] = (),
    builder: str = "auto",
    build_args: Sequence[str] = (),
    platform: str | None = None,
    require_clean: bool = False,
) -> BuildResult:
    """Build and push the image of target's service to its ECR repository (the sandbox registry with
    sandbox target): what `release --build` chains before rendering with result.image."""
    repo = check_repository(target.service.ecr_repository_url)
    login = ECR_HOST.match(repo.split("/", 1)[0]) is not None
    if target.sandbox_registry:
        repo, login = sandbox_repository(repo)
    if context is None:
        context = default_context()
    spec = BuildSpec(
        repository=repo,
        context=context,
        dockerfile=dockerfile,
        tags=tuple(tags),
        builder=builder,
        build_args=tuple(build_args),
        platform=platform,
        login=login,
        require_clean=require_clean,
    )
    return build_and_push(spec, reporter, target.aws, mask=mask)

"""The deployment description the orchestrator writes and reads back: `<what> git=<sha> image=<uri>
[from=<family:rev>] release=<token>`.

`history` reads the build (`git=`) and the image (`image=`) from it; `writes.create_deployment` finds
a deployment whose CreateDeployment answer was lost by its `release=` token. CodeDeploy keeps at most
512 characters (botocore: CreateDeployment Description, max 512): the token always survives the cut.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

MAX_LENGTH = 512
_TOKEN = re.compile(r"(?P<key>[A-Za-z_][\w.-]*)=(?P<value>\S+)")
_SHA = re.compile(r"^[0-9a-f]{7,40}$")
# Older or other writers' spellings of the build's commit.
_GIT_KEYS = ("git", "sha", "git_sha", "commit")


def release_token() -> str:
    """A fresh `release=<token>`: finds the deployment again if CreateDeployment's answer is lost."""
    return f"release={uuid.uuid4().hex[:12]}"


def parse_tokens(text: str | None) -> dict[str, str]:
    """The `key=value` tokens of a description (other words are ignored)."""
    return {m["key"]: m["value"] for m in _TOKEN.finditer(text or "")}


@dataclass(frozen=True)
class DeploymentDescription:
    what: str  # `orchestrator release`, `orchestrator rollback to web:3`, ...
    git: str | None = None
    image: str | None = None
    origin: str | None = None  # `from=`: what ran before a rollback
    release: str | None = None  # the token

    def text(self, token: str | None = None) -> str:
        """The description to send, `token` (a release_token()) last, cut to CodeDeploy's 512 characters."""
        parts = [self.what]
        if self.git is not None:
            parts.append(f"git={self.git or 'unknown'}")
        if self.image is not None:
            parts.append(f"image={self.image or 'unknown'}")
        if self.origin:
            parts.append(f"from={self.origin}")
        return with_token(" ".join(parts), token) if token else " ".join(parts)

    @classmethod
    def parse(cls, text: str | None) -> DeploymentDescription:
        tokens = parse_tokens(text)
        sha = next((tokens[k].lower() for k in _GIT_KEYS if _SHA.match(tokens.get(k, "").lower())), None)
        what = " ".join(w for w in (text or "").split() if "=" not in w)
        return cls(what, sha, tokens.get("image"), tokens.get("from"), tokens.get("release"))


def with_token(description: str, token: str) -> str:
    """`description` cut so that ` <token>` still fits in 512 characters, then the token."""
    return f"{description[: MAX_LENGTH - 1 - len(token)]} {token}"

"""`--notify URL`: one JSON POST per command when it ends (success or failure), Slack-compatible.

The body is the summary's fields plus `text`, a one-line message that Slack's incoming webhooks (and
Mattermost, Rocket.Chat, Teams workflows) display. Standard library only (urllib); a short timeout; a
failed notification is a warning on stderr and never changes the command's exit code. URLs carry
secrets in their path or query (webhook tokens), so they are only ever printed as scheme://host/….
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

from orchestrator.errors import InputError
from orchestrator.events import Event, Summary

if TYPE_CHECKING:
    from orchestrator.events import Reporter

ENV_VAR = "ORCHESTRATOR_NOTIFY_URLS"
TIMEOUT_S = 5.0


def redact(url: str) -> str:
    """scheme://host[:port]/… : never the path, query or credentials."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


def notify_urls(given: Iterable[str] | None, environ: dict[str, str] | None = None) -> tuple[str, ...]:
    """--notify URLs then $ORCHESTRATOR_NOTIFY_URLS (whitespace or comma separated), each once, validated."""
    env = os.environ if environ is None else environ
    raw = [*(given or []), *re.split(r"[\s,]+", env.get(ENV_VAR, ""))]
    urls: list[str] = []
    for url in (u.strip() for u in raw):
        if not url or url in urls:
            continue
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            # The URL itself may hold a token: name it only by its redacted form.
            raise InputError(
                f"--notify / {ENV_VAR}: {redact(url) if parts else 'a URL'} is not an http(s) URL",
                hint="give the full webhook URL, e.g. https://hooks.slack.com/services/…",
            )
        urls.append(url)
    return tuple(urls)


def message_text(summary: Summary) -> str:
    r = summary.result
    service = r.get("service") or "?"
    outcome = "succeeded" if summary.ok else f"failed (exit {summary.exit_code})"
    text = f"orchestrator {summary.command} {service} {outcome}"
    details = [f"{key} {r[key]}" for key in ("deployment_id", "image", "status") if r.get(key)]
    if details:
        text += ": " + ", ".join(details)
    reason = r.get("reason") or r.get("error")
    if not summary.ok and reason:
        text += f" — {reason}"
    return text


def payload(summary: Summary) -> dict[str, Any]:
    return {"text": message_text(summary), **summary.fields()}


def post(url: str, body: dict[str, Any], timeout: float = TIMEOUT_S) -> None:
    data = json.dumps(body, default=str).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json", "User-Agent": "orchestrator"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read()


@dataclass
class NotifyingReporter:
    """Passes every event on; after the summary, POSTs it to each URL. Failures are warnings only."""

    inner: Reporter
    urls: tuple[str, ...]
    stderr: TextIO | None = None
    timeout: float = TIMEOUT_S

    def emit(self, event: Event) -> None:
        self.inner.emit(event)
        if isinstance(event, Summary):
            self.send(event)

    def send(self, summary: Summary) -> None:
        body = payload(summary)
        for url in self.urls:
            try:
                post(url, body, self.timeout)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                why = exc.reason if isinstance(exc, urllib.error.URLError) else exc
                if isinstance(exc, urllib.error.HTTPError):
                    why = f"HTTP {exc.code}"
                # str(why) of some errors repeats the URL: keep to its type and the redacted address.
                text = str(why) if url not in str(why) else type(why).__name__
                stream = self.stderr or sys.stderr
                stream.write(f"warning: notification to {redact(url)} failed: {text}\n")
                stream.flush()

    def close(self) -> None:
        self.inner.close()


def with_notify(reporter: Reporter, urls: tuple[str, ...]) -> Reporter:
    return NotifyingReporter(reporter, urls) if urls else reporter

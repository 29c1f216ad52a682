"""GitHub Actions integration: step outputs, a Markdown job summary, annotations, masks and log groups.

Active when GITHUB_ACTIONS=true (set by the runner) unless ORCHESTRATOR_GITHUB is 0/off/false/no.
make_reporter() puts a GithubReporter in front of the console/plain/JSON reporter:
- step outputs in $GITHUB_OUTPUT: `image`, `task_definition_arn`, `deployment_id` (as soon as known);
- a job summary in $GITHUB_STEP_SUMMARY: the result, steps and CodeDeploy lifecycle events with
  their durations, and the failure reason;
- `::error::` with the failure reason, `::warning::` for warnings;
- `::group::`/`::endgroup::` around each step, and `::stop-commands::` around builder output so that
  a line the build prints cannot act as a workflow command;
- `mask_secret()` registers a value with `::add-mask::` (the ECR password).
Workflow commands go to stdout, or to stderr when stdout carries JSON lines (the runner reads both),
so that `--output json` stays one JSON object per line.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from orchestrator.events import (
    BuildOutput,
    DeploymentCreated,
    DeploymentFinished,
    DeploymentProgress,
    Event,
    ImagePushed,
    LifecycleStatus,
    Message,
    StepFinished,
    StepStarted,
    Summary,
    TaskLogLine,
)

OUTPUT_KEYS = ("image", "task_definition_arn", "deployment_id")
_OFF = {"0", "off", "false", "no"}
# Set once an `::error::` annotation was written in this process, so cli.run() does not repeat it.
_annotated = False


def active(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return env.get("GITHUB_ACTIONS") == "true" and env.get("ORCHESTRATOR_GITHUB", "").strip().lower() not in _OFF


def escape_data(value: str) -> str:
    """Escape a workflow command's message (the runner's own rules)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def mask_secret(value: str, stream: TextIO | None = None) -> None:
    """Tell the runner to mask `value` in every later log line. A no-op outside GitHub Actions."""
    if not value or not active():
        return
    out = stream or sys.stderr  # never mixed into a JSON-lines stdout
    # The runner masks line by line: register each line of a multi-line value.
    for line in value.splitlines():
        if line.strip():
            out.write(f"::add-mask::{escape_data(line)}\n")
    out.flush()


def annotate_error(message: str, title: str = "orchestrator", stream: TextIO | None = None) -> None:
    """An `::error::` annotation, once per process (cli.run() calls this for errors no reporter showed)."""
    global _annotated
    if _annotated or not active():
        return
    _annotated = True
    out = stream or sys.stderr
    out.write(f"::error title={escape_property(title)}::{escape_data(message)}\n")
    out.flush()


def write_output(path: Path, name: str, value: str) -> None:
    """Append one step output in the heredoc form, which is safe for any value."""
    delimiter = f"ghadelimiter_{secrets.token_hex(8)}"
    with path.open("a", encoding="utf-8") as f:
        f.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def _md(value: Any) -> str:
    """A value for a Markdown table cell."""
    text = str(value).replace("\r", "").replace("|", "\\|").replace("\n", "<br>")
    return text


def _code(value: Any) -> str:
    return f"`{str(value).replace('`', chr(39))}`"


def _secs(value: float | None) -> str:
    return "" if value is None else f"{value:.1f} s"


class GithubReporter:
    """Renders the event stream for GitHub Actions; put it in front of the console reporter."""

    def __init__(
        self,
        stream: TextIO,
        output_path: Path | None = None,
        summary_path: Path | None = None,
    ) -> None:
        self.stream = stream
        self.output_path = output_path
        self.summary_path = summary_path
        self.outputs: dict[str, str] = {}
        self.steps: list[tuple[str, float, str]] = []
        self.lifecycle: tuple[LifecycleStatus, ...] = ()
        self.deployment: dict[str, Any] = {}
        self.warnings: list[str] = []
        self.summary: Summary | None = None
        self._group_open = False
        self._stop_token: str | None = None
        self._summary_written = False

    @classmethod
    def from_env(cls, stream: TextIO, env: Mapping[str, str] | None = None) -> GithubReporter:
        env = os.environ if env is None else env
        out = env.get("GITHUB_OUTPUT")
        summary = env.get("GITHUB_STEP_SUMMARY")
        return cls(stream, Path(out) if out else None, Path(summary) if summary else None)

    # -- workflow commands --
    def _command(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def _resume(self) -> None:
        if self._stop_token is not None:
            self._command(f"::{self._stop_token}::")
            self._stop_token = None

    def _end_group(self) -> None:
        self._resume()
        if self._group_open:
            self._command("::endgroup::")
            self._group_open = False

    def _set_output(self, name: str, value: str | None) -> None:
        if not value or self.outputs.get(name) == value:
            return
        self.outputs[name] = value
        if self.output_path is not None:
            write_output(self.output_path, name, value)

    def _error(self, message: str, title: str) -> None:
        global _annotated
        self._resume()
        self._command(f"::error title={escape_property(title)}::{escape_data(message)}")
        _annotated = True

    # -- events --
    def emit(self, event: Event) -> None:
        if isinstance(event, BuildOutput | TaskLogLine):
            # Builder and task output is someone else's text: no line of it may act as a workflow command.
            if self._stop_token is None:
                self._stop_token = secrets.token_hex(16)
                self._command(f"::stop-commands::{self._stop_token}")
            return
        self._resume()
        if isinstance(event, StepStarted):
            self._end_group()
            title = f"{event.step}: {event.detail}" if event.detail else event.step
            self._command(f"::group::{escape_data(title)}")
            self._group_open = True
        elif isinstance(event, StepFinished):
            self._end_group()
            self.steps.append((event.step, event.duration_s, event.detail))
        elif isinstance(event, ImagePushed):
            self._set_output("image", event.image)
        elif isinstance(event, DeploymentCreated):
            self._set_output("deployment_id", event.deployment_id)
            self.deployment.update(id=event.deployment_id, console_url=event.console_url)
        elif isinstance(event, DeploymentProgress):
            if event.lifecycle:
                self.lifecycle = event.lifecycle
            self.deployment.update(id=event.deployment_id, status=event.status, elapsed_s=event.elapsed_s)
            if event.green_weight is not None:
                self.deployment.update(blue=event.blue_weight, green=event.green_weight, traffic=event.traffic())
        elif isinstance(event, DeploymentFinished):
            self.deployment.update(id=event.deployment_id, status=event.status, reason=event.reason)
            if event.rollback_deployment_id:
                self.deployment["rollback"] = event.rollback_deployment_id
        elif isinstance(event, Message) and event.level == "warning":
            self.warnings.append(event.text)
            self._command(f"::warning::{escape_data(event.text)}")
        elif isinstance(event, Summary):
            self._end_group()
            self.summary = event
            for key in OUTPUT_KEYS:
                value = event.result.get(key)
                if isinstance(value, str):
                    self._set_output(key, value)
            if not event.ok:
                self._error(self._reason() or f"exit code {event.exit_code}", f"orchestrator {event.command} failed")
            self._write_summary()
        else:
            arn = getattr(event, "task_definition_arn", None)
            if event.kind == "task_definition_registered" and isinstance(arn, str):
                self._set_output("task_definition_arn", arn)

    def _reason(self) -> str:
        result = self.summary.result if self.summary else {}
        # Every command's summary says why it failed under `reason` (orchestrator.result.CommandResult).
        return str(result.get("reason") or self.deployment.get("reason") or "")

    def close(self) -> None:
        self._end_group()
        if not self._summary_written and (self.steps or self.deployment or self.outputs):
            self._write_summary()

    # -- the job summary --
    def render_summary(self) -> str:
        s = self.summary
        lines: list[str] = []
        if s is not None:
            icon, outcome = ("✅", "succeeded") if s.ok else ("❌", f"failed (exit {s.exit_code})")
            lines.append(f"### {icon} orchestrator {_md(s.command)} {outcome}")
        else:
            lines.append("### orchestrator")
        lines += ["", "| | |", "|---|---|"]
        result = s.result if s else {}
        rows: list[tuple[str, str]] = []
        if "image" in self.outputs:
            rows.append(("image", _code(self.outputs["image"])))
        if "task_definition_arn" in self.outputs:
            rows.append(("task definition", _code(self.outputs["task_definition_arn"])))
        if self.deployment.get("id"):
            dep = _code(self.deployment["id"])
            url = self.deployment.get("console_url")
            rows.append(("deployment", f"[{dep}]({url})" if url else dep))
        if self.deployment.get("status"):
            rows.append(("status", _md(self.deployment["status"])))
        if self.deployment.get("green") is not None:
            rows.append(("traffic", _md(self.deployment["traffic"])))
        if self.deployment.get("rollback"):
            rows.append(("rollback deployment", _code(self.deployment["rollback"])))
        for key in ("tags", "builder", "git_sha", "duration_s"):
            if result.get(key) not in (None, "", []):
                value = result[key]
                shown = ", ".join(map(str, value)) if isinstance(value, list) else value
                label = "duration" if key == "duration_s" else key.replace("_", " ")
                rows.append((label, _secs(value) if key == "duration_s" else _md(shown)))
        reason = self._reason()
        if reason and (s is None or not s.ok):
            rows.append(("reason", _md(reason)))
        lines += [f"| {k} | {v} |" for k, v in rows]
        if self.steps:
            lines += ["", "| step | duration | detail |", "|---|---:|---|"]
            lines += [f"| {_md(n)} | {_secs(d)} | {_md(detail)} |" for n, d, detail in self.steps]
        if self.lifecycle:
            lines += ["", "| lifecycle event | status | duration |", "|---|---|---:|"]
            lines += [f"| {_md(e.name)} | {_md(e.status)} | {_secs(e.duration_s)} |" for e in self.lifecycle]
        if self.warnings:
            lines += ["", *[f"> ⚠️ {_md(w)}" for w in self.warnings]]
        return "\n".join(lines) + "\n\n"

    def _write_summary(self) -> None:
        self._summary_written = True
        if self.summary_path is None:
            return
        with self.summary_path.open("a", encoding="utf-8") as f:
            f.write(self.render_summary())


def github_reporter_for(output: str, stream: TextIO) -> GithubReporter | None:
    """The GitHub reporter for make_reporter(), or None when not under GitHub Actions."""
    if not active():
        return None
    return GithubReporter.from_env(sys.stderr if output == "json" else stream)

"""GitHub Actions integration: step outputs, a Markdown job summary, annotations, masks and log groups.

Active when GITHUB_ACTIONS=true (set by the runner) unless ORCHESTRATOR_GITHUB is 0/off/false/no.
make_reporter() puts a GithubReporter in front of the console/plain/JSON reporter:
- step outputs in $GITHUB_OUTPUT: `image`, `task_definition_arn`, `deployment_id` (as soon as known);
  with several services (after `fleet_started`) each service's as `<key>_deployment_id`,
  `<key>_task_definition_arn`, `<key>_image` and `<key>_status` (the key made an output name), and
  `services`, the summary's per-service outcomes as JSON;
- a job summary in $GITHUB_STEP_SUMMARY: the result, steps and CodeDeploy lifecycle events with
  their durations, and the failure reason; with several services, a row per service;
- `::error::` with the failure reason (one per failed service), `::warning::` for warnings;
- `::group::`/`::endgroup::` around each step (not a service's step among several: groups cannot
  interleave), and `::stop-commands::` around builder output so that a line the build prints cannot
  act as a workflow command;
- `mask_secret()` registers a value with `::add-mask::` (the ECR password).
Workflow commands go to stdout, or to stderr when stdout carries JSON lines (the runner reads both),
so that `--output json` stays one JSON object per line.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from orchestrator.day2_events import LogLine
from orchestrator.events import (
    BuildOutput,
    DeploymentCreated,
    DeploymentFinished,
    DeploymentProgress,
    Event,
    FleetStarted,
    ImagePushed,
    LifecycleStatus,
    Message,
    ServiceState,
    StepFinished,
    StepStarted,
    Summary,
    TaskDefinitionRegistered,
    TaskLogLine,
)
from orchestrator.report.services import FAILED_STATUSES as _FAILED
from orchestrator.report.services import failed_services, output_name, services_of, short_arn

OUTPUT_KEYS = ("image", "task_definition_arn", "deployment_id")
# Each service's outputs with several services: `<key>_<name>`.
SERVICE_OUTPUT_KEYS = ("image", "task_definition_arn", "deployment_id", "status")
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


# A lifecycle event's status in the job summary: the one that failed stands out.
_EVENT_MARK = {"Failed": "❌ **Failed**", "InProgress": "⏳ InProgress"}


def lifecycle_table(lifecycle: tuple[LifecycleStatus, ...]) -> list[str]:
    rows = [
        f"| {_md(e.name)} | {_EVENT_MARK.get(e.status, _md(e.status))} | {_secs(e.duration_s)} |" for e in lifecycle
    ]
    return ["| lifecycle event | status | duration |", "|---|---|---:|", *rows]


def lifecycles_section(
    deployments: list[tuple[str, str, tuple[LifecycleStatus, ...]]], rollback_ids: set[str]
) -> list[str]:
    """Each followed deployment's lifecycle, in order: a failed release's own (its failed event marked),
    then its rollback's. One deployment that did not fail: the table alone, as before."""
    shown = [(d, s, lc) for d, s, lc in deployments if lc]
    if len(shown) == 1 and not any(e.status == "Failed" for e in shown[0][2]):
        return ["", *lifecycle_table(shown[0][2])]
    lines: list[str] = []
    for dep, status, lifecycle in shown:
        what = "rollback" if dep in rollback_ids else "deployment"
        lines += ["", f"**{what} {_code(dep)}: {_md(status)}**", "", *lifecycle_table(lifecycle)]
    return lines


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
        # Each deployment followed, in order: its last status and lifecycle (a release's, then its rollback's).
        self.lifecycles: dict[str, tuple[str, tuple[LifecycleStatus, ...]]] = {}
        self.rollback_ids: set[str] = set()
        self.deployment: dict[str, Any] = {}
        self.warnings: list[str] = []
        self.summary: Summary | None = None
        # Several services: FleetStarted, and per service key what its events said.
        self.fleet: FleetStarted | None = None
        self.services: dict[str, dict[str, Any]] = {}
        self.service_steps: list[tuple[str, str, float, str]] = []
        self._output_prefixes: dict[str, str] = {}
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
        if isinstance(event, BuildOutput | TaskLogLine | LogLine):
            # Builder and task output is someone else's text: no line of it may act as a workflow command.
            if self._stop_token is None:
                self._stop_token = secrets.token_hex(16)
                self._command(f"::stop-commands::{self._stop_token}")
            return
        self._resume()
        if isinstance(event, FleetStarted):
            self._end_group()  # a group opened before (the shared image's build) ends here
            self.fleet = event
            for key in event.services:
                self._service(key)
            return
        if event.service_key is not None and self._service_emit(event.service_key, event):
            return
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
                self.lifecycles[event.deployment_id] = (event.status, event.lifecycle)
            if self.deployment.get("id") not in (None, event.deployment_id):
                return  # the rollback's progress: its lifecycle only (the release's row stays)
            self.deployment.update(id=event.deployment_id, status=event.status, elapsed_s=event.elapsed_s)
            if event.green_weight is not None:
                self.deployment.update(blue=event.blue_weight, green=event.green_weight, traffic=event.traffic())
        elif isinstance(event, DeploymentFinished):
            if event.deployment_id in self.lifecycles:
                self.lifecycles[event.deployment_id] = (event.status, self.lifecycles[event.deployment_id][1])
            if event.rollback_deployment_id:
                self.rollback_ids.add(event.rollback_deployment_id)
            if self.deployment.get("id") not in (None, event.deployment_id):
                return
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
            services = services_of(event)
            for key, service in services.items():
                for name in SERVICE_OUTPUT_KEYS:
                    value = service.get(name)
                    if isinstance(value, str):
                        self._set_service_output(key, name, value)
            if services:
                self._set_output("services", json.dumps(services, default=str, separators=(",", ":")))
            failed = failed_services(event) if not event.ok else {}
            for key, service in failed.items():
                # One annotation per failed service, titled with its key, carrying its own reason.
                seen = self.services.get(key, {})
                why = str(
                    service.get("reason")
                    or seen.get("detail")
                    or seen.get("deployment_reason")
                    or f"deployment {service.get('status')}"
                )
                self._error(why, f"orchestrator {event.command}: {key} failed")
            if not event.ok and not failed:
                self._error(self._reason() or f"exit code {event.exit_code}", f"orchestrator {event.command} failed")
            self._write_summary()
        else:
            arn = getattr(event, "task_definition_arn", None)
            if event.kind == "task_definition_registered" and isinstance(arn, str):
                self._set_output("task_definition_arn", arn)

    # -- several services --
    def _service(self, key: str) -> dict[str, Any]:
        return self.services.setdefault(key, {})

    def _set_service_output(self, key: str, name: str, value: str | None) -> None:
        """`<key>_<name>`: the key as an output name; two keys that read the same get `_2`, `_3`, ..."""
        prefix = self._output_prefixes.get(key)
        if prefix is None:
            base = prefix = output_name(key)
            taken = set(self._output_prefixes.values())
            n = 1
            while prefix in taken:
                n += 1
                prefix = f"{base}_{n}"
            self._output_prefixes[key] = prefix
        self._set_output(f"{prefix}_{name}", value)

    def _service_emit(self, key: str, event: Event) -> bool:
        """A service's event (several services): its own outputs and row; True when handled here.
        Steps of several services interleave, so they get no `::group::` (groups cannot interleave)."""
        service = self._service(key)
        if isinstance(event, StepStarted):
            self._end_group()
        elif isinstance(event, Summary):
            # A service's own sub-result, not the command's: it neither ends nor annotates the run.
            service.update(deployment_status=event.result.get("status"), detail=event.result.get("reason") or "")
        elif isinstance(event, StepFinished):
            self.service_steps.append((key, event.step, event.duration_s, event.detail))
        elif isinstance(event, TaskDefinitionRegistered):
            service.update(task_definition_arn=event.task_definition_arn)
            self._set_service_output(key, "task_definition_arn", event.task_definition_arn)
            if event.image:
                service["image"] = event.image
                self._set_service_output(key, "image", event.image)
        elif isinstance(event, ImagePushed):
            service["image"] = event.image
            self._set_service_output(key, "image", event.image)
        elif isinstance(event, DeploymentCreated | DeploymentProgress | DeploymentFinished):
            self._service_deployment(key, service, event)
        elif isinstance(event, ServiceState):
            service.update(state=event.state, detail=event.detail)
            if event.deployment_id:
                service["deployment_id"] = event.deployment_id
                self._set_service_output(key, "deployment_id", event.deployment_id)
        elif isinstance(event, Message) and event.level == "warning":
            self.warnings.append(f"{key}: {event.text}")
            self._command(f"::warning title={escape_property(key)}::{escape_data(event.text)}")
        else:
            return False
        return True

    def _service_deployment(
        self, key: str, service: dict[str, Any], event: DeploymentCreated | DeploymentProgress | DeploymentFinished
    ) -> None:
        """The service's own deployment is the first one; a later one is its rollback (--atomic rolls
        a finished service back through a new deployment), which must not take over its outputs."""
        own = service.setdefault("deployment_id", event.deployment_id)
        if event.deployment_id != own:
            service["rollback_deployment_id"] = event.deployment_id
            if isinstance(event, DeploymentFinished):
                service["rollback_status"] = event.status
            elif isinstance(event, DeploymentProgress) and event.lifecycle:
                service["rollback_lifecycle"] = event.lifecycle
                service.setdefault("rollback_status", event.status)
            return
        if isinstance(event, DeploymentCreated):
            service["console_url"] = event.console_url
            self._set_service_output(key, "deployment_id", event.deployment_id)
        elif isinstance(event, DeploymentProgress):
            if event.lifecycle:
                service["lifecycle"] = event.lifecycle
            service["deployment_status"] = event.status
            if event.green_weight is not None:
                service["traffic"] = event.traffic()
        else:
            service["deployment_status"] = event.status
            if event.reason:
                service["deployment_reason"] = event.reason
            if event.rollback_deployment_id:
                service["rollback_deployment_id"] = event.rollback_deployment_id

    def _reason(self) -> str:
        result = self.summary.result if self.summary else {}
        # Every command's summary says why it failed under `reason` (orchestrator.result.CommandResult).
        return str(result.get("reason") or self.deployment.get("reason") or "")

    def close(self) -> None:
        self._end_group()
        if not self._summary_written and (self.steps or self.deployment or self.outputs or self.services):
            self._write_summary()

    # -- the job summary --
    def render_summary(self) -> str:
        if self.fleet is not None or self.services:
            return self.render_fleet_summary()
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
        deployments = [(d, status, lc) for d, (status, lc) in self.lifecycles.items()]
        lines += lifecycles_section(deployments, self.rollback_ids)
        if self.warnings:
            lines += ["", *[f"> ⚠️ {_md(w)}" for w in self.warnings]]
        return "\n".join(lines) + "\n\n"

    def render_fleet_summary(self) -> str:
        """Several services: the overall result, then a row per service, then each one's lifecycle."""
        s = self.summary
        result = s.result if s else {}
        outcomes = services_of(s) if s else {}
        keys = list(dict.fromkeys([*(self.fleet.services if self.fleet else ()), *self.services, *outcomes]))
        count = f" · {len(keys)} service{'' if len(keys) == 1 else 's'}"
        if s is not None:
            icon, outcome = ("✅", "succeeded") if s.ok else ("❌", f"failed (exit {s.exit_code})")
            lines = [f"### {icon} orchestrator {_md(s.command)} {outcome}{count}"]
        else:
            lines = [f"### orchestrator {_md(self.fleet.command) if self.fleet else ''}{count}"]
        rows: list[tuple[str, str]] = []
        if result.get("status"):
            rows.append(("status", _md(result["status"])))
        if "image" in self.outputs:
            rows.append(("image", _code(self.outputs["image"])))
        if self.fleet is not None and self.fleet.max_parallel:
            rows.append(("parallel", f"at most {self.fleet.max_parallel} at a time"))
        if self.fleet is not None and self.fleet.atomic:
            rows.append(("atomic", "all or nothing (`--atomic`)"))
        if result.get("duration_s") is not None:
            rows.append(("duration", _secs(result["duration_s"])))
        reason = self._reason()
        if reason and (s is None or not s.ok):
            rows.append(("reason", _md(reason)))
        if rows:
            lines += ["", "| | |", "|---|---|", *[f"| {k} | {v} |" for k, v in rows]]
        table = [self._service_cells(key, outcomes.get(key, {})) for key in keys]
        columns = ["service", "status", "deployment", "task definition", "traffic", "rollback", "serving", "reason"]
        # Columns no service has a value for are left out (a clean release has no `serving` or reason).
        shown = [i for i, _ in enumerate(columns) if i < 2 or any(row[i] for row in table)]
        lines += ["", "| " + " | ".join(columns[i] for i in shown) + " |", "|" + "---|" * len(shown)]
        lines += ["| " + " | ".join(row[i] for i in shown) + " |" for row in table]
        if self.steps or self.service_steps:
            lines += ["", "| service | step | duration | detail |", "|---|---|---:|---|"]
            lines += [f"| | {_md(n)} | {_secs(d)} | {_md(detail)} |" for n, d, detail in self.steps]
            lines += [f"| {_md(k)} | {_md(n)} | {_secs(d)} | {_md(detail)} |" for k, n, d, detail in self.service_steps]
        for key in keys:
            seen = self.services.get(key, {})
            deployments = [
                (str(seen.get("deployment_id")), str(seen.get("deployment_status") or ""), seen.get("lifecycle") or ()),
                (
                    str(seen.get("rollback_deployment_id")),
                    str(seen.get("rollback_status") or ""),
                    seen.get("rollback_lifecycle") or (),
                ),
            ]
            section = lifecycles_section(deployments, {str(seen.get("rollback_deployment_id"))})
            if section:
                lines += ["", f"<details><summary>{_md(key)}: lifecycle events</summary>", *section, "", "</details>"]
        if self.warnings:
            lines += ["", *[f"> ⚠️ {_md(w)}" for w in self.warnings]]
        return "\n".join(lines) + "\n\n"

    def _service_cells(self, key: str, outcome: dict[str, Any]) -> list[str]:
        """service, status, deployment, task definition, traffic, rollback, serving, reason: the summary's
        outcome first, what the service's events said otherwise."""
        seen = self.services.get(key, {})
        status = str(outcome.get("status") or seen.get("deployment_status") or seen.get("state") or "")
        icon = {"Succeeded": "✅ ", "RolledBack": "↩️ "}.get(status, "❌ " if status in _FAILED else "")
        dep_id = outcome.get("deployment_id") or seen.get("deployment_id")
        url = seen.get("console_url")
        deployment = (f"[{_code(dep_id)}]({url})" if url else _code(dep_id)) if dep_id else ""
        td = short_arn(outcome.get("task_definition_arn") or seen.get("task_definition_arn"))
        rollback = outcome.get("rollback_deployment_id") or seen.get("rollback_deployment_id")
        serving = short_arn(outcome.get("serving_task_definition"))
        failed = status in _FAILED or seen.get("state") in ("failed", "stopped")
        why = outcome.get("reason") or (seen.get("detail") or seen.get("deployment_reason") if failed else "")
        return [
            _md(key),
            f"{icon}{_md(status)}" if status else "",
            deployment,
            _code(td) if td else "",
            _md(seen.get("traffic") or ""),
            _code(rollback) if rollback else "",
            _code(serving) if serving else "",
            _md(why or ""),
        ]

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

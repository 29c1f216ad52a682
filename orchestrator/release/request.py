"""A release's typed request (the option groups of `release` and `deploy`) and its typed outcome."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from orchestrator.errors import InputError, OrchestratorError
from orchestrator.fleet import FleetOptions
from orchestrator.nextsteps import Next
from orchestrator.policy import ReleasePolicy

UNTIL_CHOICES = ("complete", "traffic-shifted")


@dataclass(frozen=True)
class Source:
    """What is released: a template rendered with images (release), or files rendered earlier (deploy)."""

    images: tuple[str, ...] = ()  # --image [KEY=]URI
    taskdef: Path | None = None
    appspec: Path | None = None
    container: str | None = None
    container_env: tuple[tuple[str, str], ...] = ()
    prerendered: Path | None = None  # deploy FILE (one service) or DIR (several: DIR/<key>.json)


@dataclass(frozen=True)
class BuildOptions:
    """--build: build and push the image once every check has passed, then release its digest."""

    context: Path | None = None
    builder: str = "auto"


@dataclass(frozen=True)
class WaitOptions:
    until: str = "complete"  # complete | traffic-shifted
    no_wait: bool = False
    timeout: float | None = None  # None: computed from the group and config (deployment.default_timeout)

    def validate(self) -> None:
        if self.until not in UNTIL_CHOICES:
            raise InputError(f"--wait-until {self.until!r} is not one of {', '.join(UNTIL_CHOICES)}")
        if self.no_wait and self.until != "complete":
            raise InputError("--no-wait and --wait-until exclude each other")


@dataclass(frozen=True)
class Gates:
    """--pre-task commands (text and argv) and how long each may run."""

    pre_tasks: tuple[tuple[str, tuple[str, ...]], ...] = ()
    pre_task_timeout: float = 3600.0


def _no_mask(taskdef: dict[str, Any] | None) -> None:
    return None


@dataclass(frozen=True)
class ReleaseRequest:
    command: str  # release | deploy
    source: Source
    several: bool  # --all or --service repeated: one row and one `services` entry per service
    deployment_config: str | None = None
    wait: WaitOptions = field(default_factory=WaitOptions)
    policy: ReleasePolicy = field(default_factory=ReleasePolicy)
    fleet: FleetOptions = field(default_factory=FleetOptions)
    gates: Gates = field(default_factory=Gates)
    build: BuildOptions | None = None
    dry_run: bool = False
    show_values: bool = False
    # Registers container environment values with the CI log masker before anything prints them (the
    # CLI passes GitHub's ::add-mask::; a no-op elsewhere).
    mask: Callable[[dict[str, Any] | None], None] = _no_mask
    # Registers one secret value (the registry password of --build's push) with the CI log masker.
    mask_value: Callable[[str], None] = lambda value: None

    def validate(self) -> None:
        """Option checks that need no file and no AWS call (exit 2, nothing written)."""
        if self.build is not None and self.source.images:
            raise InputError("--build and --image exclude each other", hint="--build releases the image it pushes")
        if self.several:
            if self.gates.pre_tasks:
                raise InputError(
                    "--pre-task runs with one service's task definition; with several services release that "
                    "service alone with --pre-task first",
                )
            if self.build is not None:
                raise InputError(
                    "--build builds one service's image; with several services build first (`orchestrator build "
                    "--service KEY`) and pass --image KEY=URI",
                )
            if self.source.container:
                raise InputError("--container names one service's container; with several services it cannot apply")
            if self.wait.no_wait and self.fleet.max_parallel:
                raise InputError("--max-parallel needs to follow the deployments; drop --no-wait or --max-parallel")
        self.wait.validate()
        self.policy.validate()


class OutcomeStatus(StrEnum):
    """How a release ended (the summary's `status`)."""

    SUCCEEDED = "Succeeded"
    TRAFFIC_SHIFTED = "traffic-shifted"
    CREATED = "Created"
    DRY_RUN = "DryRun"


@dataclass(frozen=True)
class NextStep:
    """What the user may do next; the CLI spells it as a command line."""

    kind: Next
    deployment_id: str | None = None
    all_services: bool = False


@dataclass
class ReleaseOutcome:
    """The release's result. `fields` is the summary's data (deployment id, image, services, ...), filled
    in as the release goes, so that a failure's summary still carries what was done."""

    command: str
    status: OutcomeStatus | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    next_steps: list[NextStep] = field(default_factory=list)
    # What a release that did only part of the work did (--no-wait, --dry-run, traffic-shifted).
    message: str | None = None
    # Set by the runner once it writes: adds what was written to `fields` for a failure's summary.
    on_failure: Callable[[OrchestratorError], None] | None = field(default=None, repr=False)
    # Whether anything was written yet (an interrupt's message says so).
    wrote: Callable[[], bool] = field(default=lambda: False, repr=False)

    def failed(self, exc: OrchestratorError) -> dict[str, Any]:
        """The summary's fields of a release that ends with `exc`."""
        if self.on_failure is not None:
            self.on_failure(exc)
        return self.fields

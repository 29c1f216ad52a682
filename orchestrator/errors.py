"""Errors that end a command, each carrying the exit code of the shared contract.

0 success · 1 deployment failed, stopped or rolled back · 2 bad input or configuration (nothing
written) · 3 timed out · 4 AWS refused (credentials, permissions, throttled past retries) · 130
interrupted.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    OK = 0
    DEPLOYMENT_FAILED = 1
    BAD_INPUT = 2
    TIMED_OUT = 3
    AWS_REFUSED = 4
    INTERRUPTED = 130


class OrchestratorError(Exception):
    """Base of every error the CLI turns into one line and an exit code."""

    exit_code: ExitCode = ExitCode.DEPLOYMENT_FAILED

    def __init__(self, message: str, *, hint: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        # What the command's JSON summary records beyond the one-line reason.
        self.details: dict[str, Any] = dict(details or {})

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InputError(OrchestratorError):
    """Bad input or configuration, found before anything was written to AWS."""

    exit_code = ExitCode.BAD_INPUT


class InputProblems(InputError):
    """Several problems found in one input (a task definition, an AppSpec, an outputs file): every one
    is reported, one line each, so that a file with two problems is fixed in one round."""

    def __init__(
        self, problems: list[str] | str, *, hint: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        # A str: the lines of a message rewritten by a caller (`type(exc)(f"web: {exc.message}", ...)`).
        lines = problems.splitlines() if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(lines), hint=hint, details={**(details or {}), "problems": lines})
        self.problems = lines


class DeploymentFailed(OrchestratorError):
    exit_code = ExitCode.DEPLOYMENT_FAILED


class TimedOut(OrchestratorError):
    exit_code = ExitCode.TIMED_OUT


class AwsRefused(OrchestratorError):
    exit_code = ExitCode.AWS_REFUSED


class Interrupted(OrchestratorError):
    exit_code = ExitCode.INTERRUPTED

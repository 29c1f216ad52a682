"""The domain names next steps (orchestrator.nextsteps.Next); only the CLI spells them, with the options
that name the target again (the lines messages and summaries show)."""

from __future__ import annotations

from pathlib import Path

from orchestrator.commands.common import CliLines
from orchestrator.nextsteps import Next, Unspelled

SANDBOX = (Path("terraform"), None, None, True)


def test_one_service_steps_carry_its_service_and_the_target_options() -> None:
    lines = CliLines(SANDBOX, "web")
    assert lines.line(Next.FOLLOW) == "orchestrator status --watch --sandbox --service web"
    assert lines.line(Next.STOP) == "orchestrator stop --sandbox --service web"
    assert lines.line(Next.HISTORY) == "orchestrator history --sandbox --service web"
    assert (
        lines.line(Next.APPROVE_TERMINATION_WAIT) == "orchestrator approve --termination-wait --sandbox --service web"
    )


def test_several_services_steps_name_all_or_one_of_them() -> None:
    lines = CliLines((Path("infra"), "prod", None, False))
    assert lines.line(Next.STATUS, all_services=True) == "orchestrator status --env prod --terraform-dir infra --all"
    assert (
        lines.line(Next.HISTORY, service="worker")
        == "orchestrator history --env prod --terraform-dir infra --service worker"
    )
    assert CliLines((Path("terraform"), None, None, False)).line(Next.FOLLOW) == "orchestrator status --watch"


def test_without_a_cli_the_step_is_named_not_spelled() -> None:
    assert Unspelled().line(Next.STOP, service="web") == "stop --service web"
    assert Unspelled().line(Next.STATUS, all_services=True) == "status --all"

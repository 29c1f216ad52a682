"""The deploy job's AWS session lasts the release's watch (issue 17, "Credentials that last the watch"):
it plans the release (`deploy --dry-run` says the wait budget), asks configure-aws-credentials for a
session covering the budget up to the role's maximum, hands the session's expiry to the deploy step
(AWS_CREDENTIAL_EXPIRATION), and when the budget cannot be covered releases with
`--wait-until traffic-shifted` and says so. The sizing script runs here as the job runs it, with a
stand-in `orchestrator` that answers the dry run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_workflows import REPO_ROOT, load

DEPLOY = REPO_ROOT / ".github" / "workflows" / "deploy.yml"


def _job() -> dict[str, Any]:
    return dict(load(DEPLOY)["jobs"]["deploy"])


def _step(key: str, value: str) -> dict[str, Any]:
    (step,) = [s for s in _job()["steps"] if s.get(key) == value]
    return dict(step)


def test_the_release_session_is_sized_by_the_plan_and_its_expiry_reaches_the_deploy_step() -> None:
    names = [s.get("id") or s.get("name") for s in _job()["steps"]]
    assert names.index("session") < names.index("creds") < names.index("deploy")
    creds = _step("id", "creds")
    assert creds["with"]["role-duration-seconds"] == "${{ steps.session.outputs.seconds }}"
    assert creds["with"]["output-credentials"] is True  # the only way the action publishes aws-expiration
    assert creds["with"]["unset-current-credentials"] is True  # not the short planning session
    deploy = _step("id", "deploy")
    assert deploy["env"]["SESSION_EXPIRATION"] == "${{ steps.creds.outputs.aws-expiration }}"
    assert deploy["env"]["WAIT_UNTIL"] == "${{ steps.session.outputs.wait-until }}"
    assert '--wait-until "$WAIT_UNTIL"' in deploy["run"]
    # The credential outputs other than the expiry are used nowhere.
    text = DEPLOY.read_text()
    for name in ("aws-access-key-id", "aws-secret-access-key", "aws-session-token"):
        assert f"outputs.{name}" not in text
    # The job outlives the longest session it asks for by default (7200 s, the role module's default).
    assert _job()["timeout-minutes"] * 60 >= 7200
    role = (REPO_ROOT / "modules" / "ci-deploy-role" / "variables.tf").read_text()
    assert 'variable "max_session_duration_seconds"' in role and "default     = 7200" in role


def _size(tmp_path: Path, budget_s: float, max_session: str | None) -> tuple[dict[str, str], str]:
    """Run the job's sizing step with an `orchestrator` whose dry run reports `budget_s`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "orchestrator"
    summary = {"event": "summary", "ok": True, "dry_run": True, "timeout_s": budget_s}
    fake.write_text(
        "#!/bin/sh\n"
        f'[ "$1 $2" = "deploy release/taskdef-new.json" ] || exit 9\n'
        'case " $* " in *" --dry-run "*) ;; *) exit 8 ;; esac\n'
        f"echo '{json.dumps({'event': 'message', 'text': 'plan'})}'\n"
        f"echo '{json.dumps(summary)}'\n"
    )
    fake.chmod(0o755)
    (bin_dir / "python").symlink_to(sys.executable)
    outputs = tmp_path / "github_output"
    outputs.write_text("")
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "GITHUB_OUTPUT": str(outputs)}
    if max_session is not None:
        env["MAX_SESSION_S"] = max_session
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", _step("id", "session")["run"]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return dict(line.split("=", 1) for line in outputs.read_text().splitlines()), proc.stdout


@pytest.mark.parametrize(
    ("budget", "seconds", "until"),
    [
        (900.0, "1800", "complete"),  # the base budget: 15 min, plus 15 min around the watch
        (4500.0, "5400", "complete"),  # one hook's hour
        (6300.0, "7200", "complete"),  # exactly the role's maximum
        (6301.0, "7200", "traffic-shifted"),
        (4 * 86400.0, "7200", "traffic-shifted"),  # a four-day ready wait
    ],
)
def test_the_session_covers_the_budget_or_the_watch_ends_at_the_traffic_shift(
    tmp_path: Path, budget: float, seconds: str, until: str
) -> None:
    out, stdout = _size(tmp_path, budget, "7200")
    assert out == {"seconds": seconds, "wait-until": until}
    if until == "traffic-shifted":
        assert stdout.startswith("::warning title=Release watched until traffic shifted::")
        assert "--wait-until traffic-shifted" in stdout and "7200s" in stdout
    else:
        assert "::warning" not in stdout


def test_a_role_with_a_longer_session_covers_a_longer_budget(tmp_path: Path) -> None:
    out, _ = _size(tmp_path, 30000.0, "43200")
    assert out == {"seconds": "30900", "wait-until": "complete"}


def _deploy_env(tmp_path: Path, expiration: str) -> dict[str, str]:
    """Run the job's deploy step with an `orchestrator` that records its environment."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "orchestrator"
    fake.write_text(f'#!/bin/sh\nenv > {tmp_path / "env.txt"}\necho "$*" > {tmp_path / "args.txt"}\n')
    fake.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "SESSION_EXPIRATION": expiration, "WAIT_UNTIL": "complete"}
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", _step("id", "deploy")["run"]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "args.txt").read_text().split()[-2:] == ["--wait-until", "complete"]
    return dict(line.split("=", 1) for line in (tmp_path / "env.txt").read_text().splitlines() if "=" in line)


@pytest.mark.parametrize(
    "output",
    [
        '"2099-12-06T04:00:00.000Z"',  # what @actions/core's setOutput writes for the action's Date
        "2099-12-06T04:00:00.000Z",  # a plain string, should a later release write one
    ],
)
def test_the_deploy_step_hands_botocore_an_expiry_it_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str
) -> None:
    import botocore.session

    env = _deploy_env(tmp_path, output)
    assert env["AWS_CREDENTIAL_EXPIRATION"] == "2099-12-06T04:00:00.000Z"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token")
    monkeypatch.setenv("AWS_CREDENTIAL_EXPIRATION", env["AWS_CREDENTIAL_EXPIRATION"])
    credentials = botocore.session.Session().get_credentials()
    assert type(credentials).__name__ == "RefreshableCredentials"  # botocore knows when they end
    assert credentials._expiry_time.year == 2099

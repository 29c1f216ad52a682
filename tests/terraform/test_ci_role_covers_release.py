"""The CI release role (modules/ci-deploy-role) allows every AWS action the orchestrator really makes
when CI releases, checks and rolls back: measured by the sandbox's request accounting, not listed by hand.
"""

from __future__ import annotations

import pytest
from support.jsonlines import summary
from tfhelpers import MODULES_DIR, load_hcl

# Calls that need no IAM permission (GetCallerIdentity) or only evaluate policies (doctor's simulation).
NEEDS_NO_GRANT = {"sts:GetCallerIdentity", "iam:SimulatePrincipalPolicy"}


def _granted_actions() -> set[str]:
    doc = load_hcl(MODULES_DIR / "ci-deploy-role")["data"]["aws_iam_policy_document"]["release"]
    return {action for stmt in doc["statement"] for action in stmt["actions"]}


@pytest.mark.e2e
def test_ci_role_grants_every_action_of_release_history_status_and_rollback(sandbox) -> None:  # type: ignore[no-untyped-def]
    for args in (
        ("release", "--image", sandbox.pushed("1111111")),
        ("release", "--image", sandbox.pushed("2222222"), "--force", "--pre-task", "migrate"),
        ("run", "--live", "--timeout", "1"),  # `-- sleep 1d`, stopped at its timeout: StopTask
        ("history",),
        ("status",),
        ("rollback",),
    ):
        command = ("--", "sleep", "1d") if args[0] == "run" else ()
        if command:
            sandbox.control.set_task_faults(run_seconds=86_400)
        r = sandbox.cli(*args, "--sandbox", "--output", "json", *command, timeout=180)
        if command:
            assert r.returncode == 3, f"{args}: {r.stderr}{r.stdout[-2000:]}"
            continue
        assert r.returncode == 0, f"{args}: {r.stderr}{r.stdout[-2000:]}"
        assert summary(r.stdout)["ok"] is True
    # A release whose writes' answers are lost looks for what they did (orchestrator/writes.py).
    sandbox.control.set_faults(error_after_rate=1.0, error_after_actions=["CreateDeployment", "RegisterTaskDefinition"])
    r = sandbox.cli(
        "release", "--image", sandbox.pushed("3333333"), "--force", "--sandbox", "--output", "json", timeout=180
    )
    sandbox.control.clear_faults()
    assert r.returncode == 0, r.stderr
    used = {f"{service}:{action}" for service, actions in sandbox.counts().items() for action in actions}
    assert "codedeploy:CreateDeployment" in used and "ecs:RegisterTaskDefinition" in used
    assert {"ecs:RunTask", "ecs:StopTask", "logs:GetLogEvents"} <= used
    missing = sorted(used - _granted_actions() - NEEDS_NO_GRANT)
    assert missing == [], f"the CI role lacks {missing}: add them to modules/ci-deploy-role/main.tf"

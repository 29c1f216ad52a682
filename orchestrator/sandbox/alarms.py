"""CloudWatch alarm monitoring of ECS deployments: the engine reads moto's alarm states while one runs.

AWS's behaviour, from the CodeDeploy user guide ("Monitoring deployments with CloudWatch alarms in
CodeDeploy"): "If any of the specified alarms are activated, the deployment stops, and the status is
updated to Stopped." The API reference's `AlarmConfiguration`: `enabled`; `ignorePollAlarmFailure` —
true: "The deployment proceeds even if alarm status information can't be retrieved from Amazon
CloudWatch", false (the default): "The deployment stops". `AutoRollbackConfiguration` events include
`DEPLOYMENT_STOP_ON_ALARM`. CreateDeployment's `overrideAlarmConfiguration` replaces the group's.

errorInformation `ALARM_ACTIVE` is in botocore's ErrorCode enum; its message is not in the API reference,
so the sandbox uses the text AWS answers (seen in `aws deploy get-deployment` output published by users):
"One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, and the
affected deployments have been stopped. Activated alarms: <name> <name>".

Not documented, so sandbox choices: an alarm that does not exist counts as a poll failure (stop unless
ignorePollAlarmFailure, with ALARM_ACTIVE and a message naming it); rollback deployments are not
monitored (the alarm that stopped the original is typically still in ALARM).
"""

from __future__ import annotations

from typing import Any

MONITORED_STATUSES = ("InProgress", "Ready")
ACTIVATED = (
    "One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, "
    "and the affected deployments have been stopped. Activated alarms: "
)
POLL_FAILED = (
    "The deployment was stopped because the state of alarms could not be retrieved from Amazon CloudWatch "
    "(ignorePollAlarmFailure is false). Alarms not found: "
)


def configuration(deployment: Any) -> dict[str, Any] | None:
    """The alarm configuration that applies: the deployment's override, else its group's."""
    override = getattr(deployment, "override_alarm_configuration", None)
    config = override if isinstance(override, dict) and override else deployment.deployment_group.alarm_configuration
    if not isinstance(config, dict) or not config.get("enabled"):
        return None
    names = [str(a.get("name")) for a in config.get("alarms") or [] if isinstance(a, dict) and a.get("name")]
    return {"alarms": names, "ignorePollAlarmFailure": bool(config.get("ignorePollAlarmFailure"))} if names else None


def check(run: Any) -> tuple[list[str], list[str]]:
    """(alarms in ALARM, alarms that cannot be read) for a run (engine_run.Run) being monitored."""
    config = configuration(run.deployment)
    if config is None:
        return [], []
    from moto.cloudwatch.models import cloudwatch_backends

    known = cloudwatch_backends[run.account_id][run.region].alarms
    active = [n for n in config["alarms"] if n in known and known[n].state_value == "ALARM"]
    missing = [] if config["ignorePollAlarmFailure"] else [n for n in config["alarms"] if n not in known]
    return active, missing


def poll(run: Any) -> bool:
    """Stop the run when one of its alarms is in ALARM (or unreadable); True when it stopped it."""
    d = run.deployment
    if run.done or run.rollback_of is not None or d.status not in MONITORED_STATUSES:
        return False
    active, missing = check(run)
    if not active and not missing:
        return False
    message = ACTIVATED + " ".join(f"<{n}>" for n in active) if active else POLL_FAILED + ", ".join(missing)
    stop(run, message)
    return True


def stop(run: Any, message: str) -> None:
    """End the run Stopped with ALARM_ACTIVE; roll back when DEPLOYMENT_STOP_ON_ALARM is configured
    (and only when a replacement exists: Run.roll_back decides, as for failures and manual stops)."""
    run.gen.close()  # ends a pending hook execution too
    rollback = run.engine.rollback_enabled(run.deployment, "DEPLOYMENT_STOP_ON_ALARM")
    run.stop(rollback, code="ALARM_ACTIVE", message=message)

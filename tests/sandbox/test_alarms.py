"""CloudWatch alarm monitoring of ECS deployments, over HTTP: users set alarm states as they would on AWS.

AWS sources (cited per test):
- CodeDeploy user guide, "Monitoring deployments with CloudWatch alarms in CodeDeploy": "If any of the
  specified alarms are activated, the deployment stops, and the status is updated to Stopped."
- API reference, AlarmConfiguration: `enabled`; `ignorePollAlarmFailure` true: "The deployment proceeds
  even if alarm status information can't be retrieved", false (default): "The deployment stops".
- API reference, AutoRollbackConfiguration: event DEPLOYMENT_STOP_ON_ALARM; ErrorInformation code
  ALARM_ACTIVE (botocore's ErrorCode enum). The message is not in the reference: AWS's text as users
  publish it ("One or more alarms have been activated ... Activated alarms: <name>").
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from support.clients import client
from support.stack import Stack, make_stack

TERMINAL = ("Succeeded", "Failed", "Stopped")
HOLD = {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 60}  # held in Ready: time to set an alarm


def make_alarm(endpoint: str) -> str:
    name = "errors-" + uuid.uuid4().hex[:8]
    client(endpoint, "cloudwatch").put_metric_alarm(
        AlarmName=name,
        MetricName="HTTPCode_Target_5XX_Count",
        Namespace="AWS/ApplicationELB",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    return name


def set_state(endpoint: str, name: str, state: str) -> None:
    client(endpoint, "cloudwatch").set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


def monitor(
    stack: Stack,
    alarms: list[str],
    *,
    enabled: bool = True,
    ignore_poll_failure: bool = False,
    rollback_on_alarm: bool = True,
) -> None:
    events = ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"] if rollback_on_alarm else ["DEPLOYMENT_FAILURE"]
    stack.c("codedeploy").update_deployment_group(
        applicationName=stack.app,
        currentDeploymentGroupName=stack.group,
        alarmConfiguration={
            "enabled": enabled,
            "ignorePollAlarmFailure": ignore_poll_failure,
            "alarms": [{"name": n} for n in alarms],
        },
        autoRollbackConfiguration={"enabled": True, "events": events},
    )


def wait_status(stack: Stack, dep: str, *statuses: str, timeout: float = 30.0) -> dict[str, Any]:
    return stack.wait(dep, statuses, timeout)


def test_an_alarm_in_alarm_stops_the_deployment_and_rolls_it_back(endpoint: str) -> None:
    # User guide (monitoring with alarms): an activated alarm stops the deployment (Stopped);
    # DEPLOYMENT_STOP_ON_ALARM rolls it back; errorInformation ALARM_ACTIVE names the alarm.
    stack = make_stack(endpoint, ready_option=HOLD)
    alarm = make_alarm(endpoint)
    monitor(stack, [alarm])
    dep = stack.deploy()
    wait_status(stack, dep, "Ready")
    assert stack.test_weights() == {stack.green_tg: 100, stack.blue_tg: 0}
    set_state(endpoint, alarm, "ALARM")
    info = wait_status(stack, dep, *TERMINAL)
    assert info["status"] == "Stopped"
    assert info["errorInformation"] == {
        "code": "ALARM_ACTIVE",
        "message": "One or more alarms have been activated according to the Amazon CloudWatch metrics you "
        f"selected, and the affected deployments have been stopped. Activated alarms: <{alarm}>",
    }
    rollback = info["rollbackInfo"]["rollbackDeploymentId"]
    assert stack.wait(rollback, TERMINAL)["status"] == "Succeeded"
    # Production never left the original target group; the rollback points the test listener back too.
    assert stack.prod_weights().get(stack.green_tg, 0) == 0
    assert stack.test_weights() == {stack.blue_tg: 100, stack.green_tg: 0}


def test_an_alarm_stop_without_stop_on_alarm_rollback_stays_stopped(endpoint: str) -> None:
    # API reference, AutoRollbackConfiguration: only the listed events roll back.
    stack = make_stack(endpoint, ready_option=HOLD)
    alarm = make_alarm(endpoint)
    monitor(stack, [alarm], rollback_on_alarm=False)
    dep = stack.deploy()
    wait_status(stack, dep, "Ready")
    set_state(endpoint, alarm, "ALARM")
    info = wait_status(stack, dep, *TERMINAL)
    assert info["status"] == "Stopped"
    assert info["errorInformation"]["code"] == "ALARM_ACTIVE"
    assert not (info.get("rollbackInfo") or {}).get("rollbackDeploymentId")


def test_alarms_in_ok_or_a_disabled_configuration_let_the_deployment_succeed(endpoint: str) -> None:
    # API reference, AlarmConfiguration.enabled: a disabled configuration is not monitored.
    stack = make_stack(endpoint)
    ok, firing = make_alarm(endpoint), make_alarm(endpoint)
    set_state(endpoint, firing, "ALARM")
    monitor(stack, [ok])
    assert stack.wait(stack.deploy(), TERMINAL)["status"] == "Succeeded"
    monitor(stack, [firing], enabled=False)
    assert stack.wait(stack.deploy(), TERMINAL)["status"] == "Succeeded"


def test_a_missing_alarm_stops_the_deployment_unless_poll_failures_are_ignored(endpoint: str) -> None:
    # API reference, AlarmConfiguration.ignorePollAlarmFailure (default false: "The deployment stops if
    # alarm status information can't be retrieved"); the code and message then are not documented.
    stack = make_stack(endpoint)
    monitor(stack, ["no-such-alarm"], ignore_poll_failure=True)
    assert stack.wait(stack.deploy(), TERMINAL)["status"] == "Succeeded"
    monitor(stack, ["no-such-alarm"], ignore_poll_failure=False, rollback_on_alarm=False)
    info = stack.wait(stack.deploy(), TERMINAL)
    assert info["status"] == "Stopped"
    assert info["errorInformation"]["code"] == "ALARM_ACTIVE"
    assert "no-such-alarm" in info["errorInformation"]["message"]


def test_an_override_alarm_configuration_replaces_the_groups(endpoint: str) -> None:
    # API reference, CreateDeployment.overrideAlarmConfiguration: replaces the group's configuration.
    stack = make_stack(endpoint, ready_option=HOLD)
    alarm = make_alarm(endpoint)
    dep = stack.deploy(overrideAlarmConfiguration={"enabled": True, "alarms": [{"name": alarm}]})
    wait_status(stack, dep, "Ready")
    set_state(endpoint, alarm, "ALARM")
    info = wait_status(stack, dep, *TERMINAL)
    assert info["status"] == "Stopped"
    assert alarm in info["errorInformation"]["message"]


def test_the_alarm_is_read_while_traffic_shifts(endpoint: str) -> None:
    # User guide: alarms are monitored throughout the deployment, not only at its start.
    stack = make_stack(endpoint, termination_wait=60)  # InProgress for a (scaled) hour after traffic moved
    alarm = make_alarm(endpoint)
    monitor(stack, [alarm])
    dep = stack.deploy()
    deadline = time.monotonic() + 30
    while stack.deployment(dep).get("instanceTerminationWaitTimeStarted") is not True:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert stack.prod_weights() == {stack.blue_tg: 0, stack.green_tg: 100}
    set_state(endpoint, alarm, "ALARM")
    info = wait_status(stack, dep, *TERMINAL)
    assert info["status"] == "Stopped"
    rollback = info["rollbackInfo"]["rollbackDeploymentId"]
    assert stack.wait(rollback, TERMINAL)["status"] == "Succeeded"
    assert stack.prod_weights() == {stack.blue_tg: 100, stack.green_tg: 0}

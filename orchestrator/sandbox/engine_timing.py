"""Simulated durations of the engine's steps and the hold a run yields to wait for ContinueDeployment."""

from __future__ import annotations

from dataclasses import dataclass


class Durations:
    """Simulated seconds per step (multiplied by the time scale to get wall-clock seconds)."""

    START = 3.0  # Created -> InProgress: CodeDeploy picks the deployment up
    HOOK = 8.0  # a lifecycle event whose AppSpec hook (a Lambda function) runs
    NO_HOOK = 1.0  # a lifecycle event without a hook
    INSTALL = 45.0  # replacement tasks start, register and pass the target group's health checks
    TEST_TRAFFIC = 5.0  # test listener re-pointed
    TRAFFIC_SHIFT = 5.0  # each production listener change
    READY_WAIT_MAX = 2880 * 60.0  # STOP_DEPLOYMENT without a wait time: AWS's two-day maximum
    # StopDeployment answers Pending and the stop completes later; AWS documents no time ("tens of
    # seconds" observed), so 30 simulated seconds.
    STOP = 30.0
    # A replaced task set stays DRAINING (scale 0) until its targets have drained (the target group's
    # deregistration delay, 300 s by default; not documented for task sets): 30 simulated seconds here.
    DRAIN = 30.0


@dataclass
class Hold:
    """Yielded by a run to wait for continue_deployment (or the simulated timeout)."""

    wait_type: str  # READY_WAIT | TERMINATION_WAIT
    timeout: float  # simulated seconds

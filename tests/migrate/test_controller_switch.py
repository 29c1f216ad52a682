"""The sandbox's in-place controller switch (orchestrator/sandbox/ecs_deployments/controller_switch.py)
over HTTP: AWS's documented refusals, and a switch after an odd number of CodeDeploy releases that keeps
production forwarded in full to the target groups of the pair throughout, ends with no task set, and
leaves a service the next release deploys through ECS."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from migrate_support import release, sandbox_target, tg_arn, wait, wait_for_task_sets, wiring

from orchestrator.contract import load_outputs_file
from orchestrator.migrate import build_plan, read_snapshot
from orchestrator.sandbox.ecs_deployments.controller_switch import MULTIPLE_TASK_SETS


def _newest_deployment(sandbox: Any, svc: Any, timeout: float = 60.0) -> dict[str, Any]:
    ecs = sandbox.client("ecs")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = ecs.list_service_deployments(cluster=svc.cluster_name, service=svc.service_name)["serviceDeployments"]
        arn = listed[0]["serviceDeploymentArn"]
        found = ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]
        if found["status"] in ("SUCCESSFUL", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED", "STOPPED"):
            return dict(found)
        time.sleep(0.05)
    raise AssertionError("the service deployment did not finish")


class _Watch(threading.Thread):
    """Reads, until stopped, the production rule's weights and which target groups hold running tasks
    (the task sets' under CodeDeploy, the current service revisions' under ECS); every reading is kept."""

    def __init__(self, sandbox: Any, rule: str, svc: Any) -> None:
        super().__init__(daemon=True)
        self.elb, self.ecs, self.rule, self.svc = sandbox.client("elbv2"), sandbox.client("ecs"), rule, svc
        self.readings: list[tuple[dict[str, int], dict[str, int]]] = []
        self.revision_tg: dict[str, str] = {}
        self.done = threading.Event()

    def _running(self) -> dict[str, int]:
        service = self.ecs.describe_services(cluster=self.svc.cluster_name, services=[self.svc.service_name])
        service = service["services"][0]
        running: dict[str, int] = {}
        for task_set in service.get("taskSets") or []:
            for lb in task_set.get("loadBalancers") or []:
                running[lb["targetGroupArn"]] = running.get(lb["targetGroupArn"], 0) + task_set["runningCount"]
        for current in service.get("currentServiceRevisions") or []:
            arn = current["arn"]
            if arn not in self.revision_tg:
                (rev,) = self.ecs.describe_service_revisions(serviceRevisionArns=[arn])["serviceRevisions"]
                lbs = (rev.get("resolvedConfiguration") or {}).get("loadBalancers") or [{}]
                self.revision_tg[arn] = lbs[0].get("targetGroupArn", "")
            tg = self.revision_tg[arn]
            running[tg] = running.get(tg, 0) + current["runningTaskCount"]
        return running

    def run(self) -> None:
        while not self.done.is_set():
            (rule,) = self.elb.describe_rules(RuleArns=[self.rule])["Rules"]
            groups = rule["Actions"][0]["ForwardConfig"]["TargetGroups"]
            weights = {g["TargetGroupArn"]: int(g["Weight"]) for g in groups}
            self.readings.append((weights, self._running()))
            time.sleep(0.01)


def _migrate(sandbox: Any) -> tuple[Any, Any, _Watch, dict[str, Any]]:
    svc = load_outputs_file(sandbox.outputs_path).services["web"]
    wait(sandbox, release(sandbox, svc), svc)  # one release: green is live
    green = tg_arn(sandbox, svc.green_target_group_name)
    settings = wiring(sandbox, svc, live=green)
    target = sandbox_target(sandbox)
    plan = build_plan("web", read_snapshot(target.aws, svc, settings), svc, settings)
    watch = _Watch(sandbox, settings.prod_listener_rule_arn, svc)
    watch.start()
    try:
        sandbox.client("ecs").update_service(**plan.update_service)
        finished = _newest_deployment(sandbox, svc)
    finally:
        watch.done.set()
        watch.join()
    return svc, settings, watch, finished


def test_the_switch_keeps_production_whole_and_the_next_release_goes_through_ecs(sandbox: Any) -> None:
    svc, _, watch, finished = _migrate(sandbox)
    assert finished["status"] == "SUCCESSFUL", finished
    pair = {tg_arn(sandbox, svc.blue_target_group_name), tg_arn(sandbox, svc.green_target_group_name)}
    assert watch.readings, "the production rule was never read"
    for weights, running in watch.readings:
        assert sum(weights.values()) == 100 and {a for a, w in weights.items() if w} <= pair, weights
        for tg, weight in weights.items():
            assert not weight or running.get(tg, 0) > 0, f"{weight}% to {tg}, which holds no running task: {running}"
    ecs = sandbox.client("ecs")
    service = ecs.describe_services(cluster=svc.cluster_name, services=[svc.service_name])["services"][0]
    assert service["deploymentController"] == {"type": "ECS"}
    assert service["taskSets"] == []
    # Production is on the target group of the revision that now serves.
    revision = ecs.describe_service_revisions(serviceRevisionArns=[finished["targetServiceRevision"]["arn"]])
    serving_tg = revision["serviceRevisions"][0]["resolvedConfiguration"]["loadBalancers"][0]["targetGroupArn"]
    assert watch.readings[-1][0][serving_tg] == 100
    # The next release is an ECS service deployment.
    taskdef = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    keep = ("family", "containerDefinitions", "cpu", "memory", "networkMode", "requiresCompatibilities")
    new = ecs.register_task_definition(**{k: taskdef[k] for k in keep if k in taskdef})["taskDefinition"]
    ecs.update_service(cluster=svc.cluster_name, service=svc.service_name, taskDefinition=new["taskDefinitionArn"])
    assert _newest_deployment(sandbox, svc)["status"] == "SUCCESSFUL"


def test_a_switch_with_two_task_sets_is_refused_in_aws_words(sandbox: Any) -> None:
    svc = load_outputs_file(sandbox.outputs_path).services["web"]
    settings = wiring(sandbox, svc, live=tg_arn(sandbox, svc.blue_target_group_name))
    target = sandbox_target(sandbox)
    plan = build_plan("web", read_snapshot(target.aws, svc, settings), svc, settings)
    release(sandbox, svc)
    wait_for_task_sets(sandbox, svc, 2)
    ecs = sandbox.client("ecs")
    with pytest.raises(ClientError) as refused:
        ecs.update_service(**plan.update_service)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    assert MULTIPLE_TASK_SETS in refused.value.response["Error"]["Message"]
    service = ecs.describe_services(cluster=svc.cluster_name, services=[svc.service_name])["services"][0]
    assert service["deploymentController"] == {"type": "CODE_DEPLOY"}, "a refused switch changes nothing"


def test_switching_back_to_code_deploy_in_place_is_refused(sandbox: Any) -> None:
    svc, _, _, finished = _migrate(sandbox)
    assert finished["status"] == "SUCCESSFUL"
    with pytest.raises(ClientError) as refused:
        sandbox.client("ecs").update_service(
            cluster=svc.cluster_name, service=svc.service_name, deploymentController={"type": "CODE_DEPLOY"}
        )
    assert "AWS documents no such update" in refused.value.response["Error"]["Message"]

"""Many deployments at once, read in batches: BatchGetDeployments (up to 25 ids) and
BatchGetDeploymentTargets as the API reference documents them, on a 20-service sandbox."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError

TERMINAL = ("Succeeded", "Failed", "Stopped")
KEYS = tuple(f"svc{i:02d}" for i in range(1, 21))


def _appspec(svc: dict[str, Any], taskdef_arn: str) -> str:
    import json

    props = {
        "TaskDefinition": taskdef_arn,
        "LoadBalancerInfo": {"ContainerName": svc["container_name"], "ContainerPort": svc["container_port"]},
    }
    return json.dumps(
        {"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": props}}]}
    )


def _deploy_all(sandbox, keys: tuple[str, ...]) -> dict[str, str]:
    """One deployment per service, all created at the same moment from threads (as a fleet release does)."""
    services = sandbox.outputs()["services"]["value"]
    ecs, codedeploy = sandbox.client("ecs"), sandbox.client("codedeploy")
    arns = {k: ecs.describe_services(cluster="demo", services=[k])["services"][0]["taskDefinition"] for k in keys}
    ids: dict[str, str] = {}
    barrier = threading.Barrier(len(keys))

    def create(key: str) -> None:
        svc = services[key]
        barrier.wait()
        ids[key] = codedeploy.create_deployment(
            applicationName=svc["codedeploy_app_name"],
            deploymentGroupName=svc["codedeploy_deployment_group_name"],
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": _appspec(svc, arns[key])}},
        )["deploymentId"]

    threads = [threading.Thread(target=create, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ids) == sorted(keys)
    return ids


def _wait_all(codedeploy: Any, ids: list[str], timeout: float = 120) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    done: dict[str, dict[str, Any]] = {}
    while len(done) < len(ids):
        assert time.monotonic() < deadline, f"still running: {sorted(set(ids) - set(done))}"
        infos = codedeploy.batch_get_deployments(deploymentIds=[i for i in ids if i not in done])["deploymentsInfo"]
        done |= {i["deploymentId"]: i for i in infos if i["status"] in TERMINAL}
        time.sleep(0.05)
    return done


def _duration(info: dict[str, Any]) -> float:
    return float((info["completeTime"] - info["createTime"]).total_seconds())


def test_twenty_deployments_at_once_take_as_long_as_one(sandbox) -> None:
    sandbox.reprovision(services=KEYS)
    codedeploy = sandbox.client("codedeploy")
    one = _wait_all(codedeploy, list(_deploy_all(sandbox, KEYS[:1]).values()))
    single = _duration(next(iter(one.values())))

    ids = _deploy_all(sandbox, KEYS)
    # One call reads all twenty in flight, in the order asked.
    batch = codedeploy.batch_get_deployments(deploymentIds=list(ids.values()))["deploymentsInfo"]
    assert [i["deploymentId"] for i in batch] == list(ids.values())
    assert {i["deploymentGroupName"] for i in batch} == {f"demo-{k}" for k in KEYS}
    done = _wait_all(codedeploy, list(ids.values()))
    assert {i["status"] for i in done.values()} == {"Succeeded"}
    # The engine runs them side by side on the simulated clock: none takes much longer than one alone.
    slowest = max(_duration(i) for i in done.values())
    assert slowest <= single * 1.3 + 0.5, (single, slowest)


def test_batch_get_deployments_limits_as_documented(sandbox) -> None:
    codedeploy = sandbox.client("codedeploy")
    services = sandbox.outputs()["services"]["value"]
    ids = list(_deploy_all(sandbox, ("web",)).values())
    unknown = [f"d-{n:09d}" for n in range(24)]

    # Up to 25 ids; ids that name no deployment are left out.
    found = codedeploy.batch_get_deployments(deploymentIds=[*unknown, ids[0]])["deploymentsInfo"]
    assert [i["deploymentId"] for i in found] == ids
    assert found[0]["applicationName"] == services["web"]["codedeploy_app_name"]
    with pytest.raises(ClientError) as too_many:
        codedeploy.batch_get_deployments(deploymentIds=[*unknown, ids[0], "d-AAAAAAAAA"])
    assert too_many.value.response["Error"]["Code"] == "BatchLimitExceededException"
    assert "25" in too_many.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as none:
        codedeploy.batch_get_deployments(deploymentIds=[])
    assert none.value.response["Error"]["Code"] == "DeploymentIdRequiredException"
    _wait_all(codedeploy, ids)


def test_batch_get_deployment_targets_gives_the_ecs_target(sandbox) -> None:
    codedeploy = sandbox.client("codedeploy")
    deployment_id = next(iter(_deploy_all(sandbox, ("web",)).values()))
    _wait_all(codedeploy, [deployment_id])
    targets = codedeploy.batch_get_deployment_targets(deploymentId=deployment_id, targetIds=["demo:web"])[
        "deploymentTargets"
    ]
    assert len(targets) == 1
    assert targets[0]["deploymentTargetType"] == "ECSTarget"
    ecs_target = targets[0]["ecsTarget"]
    assert (ecs_target["deploymentId"], ecs_target["targetId"], ecs_target["status"]) == (
        deployment_id,
        "demo:web",
        "Succeeded",
    )
    assert {e["status"] for e in ecs_target["lifecycleEvents"]} == {"Succeeded"}
    assert {ts["taskSetLabel"] for ts in ecs_target["taskSetsInfo"]} == {"Blue", "Green"}

    cases = [
        (["demo:web", "demo:web"], "DeploymentTargetListSizeExceededException"),  # an ECS target list has one item
        (["demo:api"], "DeploymentTargetDoesNotExistException"),
        ([], "DeploymentTargetIdRequiredException"),
    ]
    for target_ids, code in cases:
        try:
            codedeploy.batch_get_deployment_targets(deploymentId=deployment_id, targetIds=target_ids)
        except ParamValidationError:  # botocore refuses it before sending: also a refusal
            assert target_ids == [], target_ids
            continue
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == code, target_ids
            continue
        pytest.fail(f"targetIds={target_ids} was accepted")

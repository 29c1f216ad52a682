"""`orchestrator doctor` end to end: a healthy stack passes; each broken wiring it names is caught."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ops_support import of_kind, summary, write_outputs

pytestmark = pytest.mark.e2e


def doctor(sandbox: Any, *args: str) -> tuple[Any, dict[str, dict[str, Any]]]:
    res = sandbox.cli("doctor", "--output", "json", *args)
    checks = {e["check"]: e for e in of_kind(res.stdout, "doctor_check")}
    return res, checks


def failed(checks: dict[str, dict[str, Any]]) -> set[str]:
    return {name for name, c in checks.items() if c["status"] == "fail"}


def test_a_healthy_stack_passes_and_permissions_are_skipped_not_passed(sandbox) -> None:
    res, checks = doctor(sandbox, "--sandbox")
    assert res.returncode == 0, res.stderr
    assert failed(checks) == set()
    # moto has no IAM policy simulator: the check says so instead of pretending.
    assert checks["permissions"]["status"] == "skipped"
    assert "simulator" in checks["permissions"]["detail"]
    assert {c["status"] for n, c in checks.items() if n != "permissions"} == {"pass"}
    assert len(checks) == 16
    assert checks["revisions never deployed"]["detail"].startswith("none after ")
    s = summary(res.stdout)
    assert s["ok"] is True and s["failed"] == 0 and s["skipped"] == 1
    # Nothing written.
    assert sandbox.mutating_calls() == []
    plain = sandbox.cli("doctor", "--sandbox", "--output", "plain")
    assert "PASS    deployment group targets the service" in plain.stdout


def _network(sandbox: Any) -> dict[str, Any]:
    out = sandbox.service_outputs()
    svc = sandbox.client("ecs").describe_services(cluster=out["cluster_name"], services=[out["service_name"]])
    return dict(svc["services"][0]["networkConfiguration"])


def _rolling_service(sandbox: Any) -> str:
    """A second service of the cluster, deployed by ECS itself (not CodeDeploy)."""
    out = sandbox.service_outputs()
    ecs = sandbox.client("ecs")
    td = ecs.describe_services(cluster=out["cluster_name"], services=[out["service_name"]])["services"][0]
    ecs.create_service(
        cluster=out["cluster_name"],
        serviceName="web-rolling",
        taskDefinition=td["taskDefinition"],
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=_network(sandbox),
        deploymentController={"type": "ECS"},
    )
    return "web-rolling"


def wrong_controller(sandbox: Any, tmp: Path) -> tuple[str, ...]:
    name = _rolling_service(sandbox)
    return ("--outputs-file", str(write_outputs(sandbox, tmp / "o.json", service_name=name)))


def group_targets_another_service(sandbox: Any, tmp: Path) -> tuple[str, ...]:
    out = sandbox.service_outputs()
    other = _rolling_service(sandbox)
    cd = sandbox.client("codedeploy")
    group = cd.get_deployment_group(
        applicationName=out["codedeploy_app_name"], deploymentGroupName=out["codedeploy_deployment_group_name"]
    )["deploymentGroupInfo"]
    cd.create_deployment_group(
        applicationName=out["codedeploy_app_name"],
        deploymentGroupName="demo-web-elsewhere",
        serviceRoleArn=group["serviceRoleArn"],
        deploymentStyle=group["deploymentStyle"],
        blueGreenDeploymentConfiguration=group["blueGreenDeploymentConfiguration"],
        ecsServices=[{"clusterName": out["cluster_name"], "serviceName": other}],
        loadBalancerInfo=group["loadBalancerInfo"],
    )
    path = write_outputs(sandbox, tmp / "o.json", codedeploy_deployment_group_name="demo-web-elsewhere")
    return ("--outputs-file", str(path))


def missing_target_group(sandbox: Any, tmp: Path) -> tuple[str, ...]:
    elb = sandbox.client("elbv2")
    name = sandbox.service_outputs()["green_target_group_name"]
    arn = elb.describe_target_groups(Names=[name])["TargetGroups"][0]["TargetGroupArn"]
    elb.delete_target_group(TargetGroupArn=arn)
    return ("--sandbox",)


def listener_removed(sandbox: Any, tmp: Path) -> tuple[str, ...]:
    sandbox.client("elbv2").delete_listener(ListenerArn=sandbox.service_outputs()["test_listener_arn"])
    return ("--sandbox",)


def production_listener_elsewhere(sandbox: Any, tmp: Path) -> tuple[str, ...]:
    elb = sandbox.client("elbv2")
    out = sandbox.service_outputs()
    blue = elb.describe_target_groups(Names=[out["blue_target_group_name"]])["TargetGroups"][0]
    stray = elb.create_target_group(Name="stray", Protocol="HTTP", Port=8080, VpcId=blue["VpcId"], TargetType="ip")[
        "TargetGroups"
    ][0]["TargetGroupArn"]
    elb.modify_listener(
        ListenerArn=out["prod_listener_arn"], DefaultActions=[{"Type": "forward", "TargetGroupArn": stray}]
    )
    return ("--sandbox",)


def appspec_port_mismatch(sandbox: Any, tmp: Path) -> tuple[str, ...]:
    doc = json.loads((sandbox.repo_root / "appspec.json").read_text())
    next(iter(doc["Resources"][0].values()))["Properties"]["LoadBalancerInfo"]["ContainerPort"] = 9090
    (tmp / "appspec.json").write_text(json.dumps(doc))
    return ("--sandbox", "--appspec", str(tmp / "appspec.json"))


def unreadable_outputs(sandbox: Any, tmp: Path) -> tuple[str, ...]:
    (tmp / "o.json").write_text("{not json")
    return ("--outputs-file", str(tmp / "o.json"))


BROKEN: list[tuple[Callable[[Any, Path], tuple[str, ...]], set[str], str]] = [
    (
        wrong_controller,
        {
            "service uses the CODE_DEPLOY controller",
            "deployment group targets the service",
            "service load balancer",
        },
        "uses the ECS deployment controller",
    ),
    (group_targets_another_service, {"deployment group targets the service"}, "demo/web-rolling"),
    (missing_target_group, {"target groups exist"}, "missing target group demo-web-green"),
    (listener_removed, {"test listener"}, "does not exist"),
    (production_listener_elsewhere, {"production listener"}, "forwards to stray"),
    (appspec_port_mismatch, {"task definition and AppSpec agree"}, "9090"),
    (unreadable_outputs, {"outputs readable"}, "invalid JSON"),
]


@pytest.mark.parametrize(("breakage", "expected", "detail"), BROKEN, ids=[b[0].__name__ for b in BROKEN])
def test_doctor_catches_each_broken_wiring(sandbox, tmp_path: Path, breakage, expected, detail) -> None:
    args = breakage(sandbox, tmp_path)
    res, checks = doctor(sandbox, *args)
    assert res.returncode == 2, res.stdout
    assert failed(checks) == expected, {n: c["detail"] for n, c in checks.items() if c["status"] == "fail"}
    details = " ".join(checks[name]["detail"] for name in expected)
    assert detail in details
    s = summary(res.stdout)
    assert s["ok"] is False and s["failed"] == len(expected)
    assert "check(s) failed" in res.stderr


def test_a_revision_no_deployment_used_is_named(sandbox) -> None:
    """What a release killed between RegisterTaskDefinition and CreateDeployment leaves behind (issue 20.7):
    doctor names it, with the command that deregisters it."""
    svc = sandbox.service_outputs()
    ecs = sandbox.client("ecs")
    running = ecs.describe_services(cluster=svc["cluster_name"], services=[svc["service_name"]])["services"][0]
    td = ecs.describe_task_definition(taskDefinition=running["taskDefinition"])["taskDefinition"]
    keep = ("family", "networkMode", "requiresCompatibilities", "cpu", "memory", "containerDefinitions")
    left = ecs.register_task_definition(**{k: td[k] for k in keep if k in td})["taskDefinition"]["taskDefinitionArn"]
    res, checks = doctor(sandbox, "--sandbox")
    assert res.returncode == 0, res.stderr
    row = checks["revisions never deployed"]
    assert row["status"] == "pass"  # a leftover to tidy, not broken wiring
    short = left.rsplit("/", 1)[-1]
    assert f"used by no deployment: {short}" in row["detail"]
    assert f"aws ecs deregister-task-definition --task-definition {short}" in row["detail"]

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


# --- the permissions row: what it simulates, and what it says when it cannot -------------------


def _eval_module() -> Any:
    """tests/terraform/iam_eval.py: IAM's evaluation (tested on AWS's examples there)."""
    import importlib.util
    import sys

    path = Path(__file__).resolve().parents[1] / "terraform" / "iam_eval.py"
    spec = importlib.util.spec_from_file_location("doctor_iam_eval", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["doctor_iam_eval"] = module
    spec.loader.exec_module(module)
    return module


ROLE = "arn:aws:iam::123456789012:role/demo-ci-deploy"
GROUP = "arn:aws:codedeploy:eu-west-1:123456789012:deploymentgroup:demo-web/demo-web"
GROUP_ACTIONS = [
    f"codedeploy:{a}" for a in ("CreateDeployment", "GetDeployment", "GetDeploymentGroup", "ListDeployments")
]
PASSED = [
    {
        "ContextKeyName": "iam:PassedToService",
        "ContextKeyValues": ["ecs-tasks.amazonaws.com"],
        "ContextKeyType": "string",
    }
]


def _release_role(sandbox: Any, *, stop: bool = True) -> dict[str, Any]:
    """The release role's statements as modules/ci-deploy-role renders them for the sandbox's stack."""
    out = sandbox.service_outputs()
    cluster = f"arn:aws:ecs:eu-west-1:123456789012:cluster/{out['cluster_name']}"
    unscoped = ["codedeploy:ContinueDeployment", "codedeploy:GetDeploymentTarget", "codedeploy:ListDeploymentTargets"]
    return {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"],
                "Resource": "*",
            },
            {"Effect": "Allow", "Action": "ecs:DescribeClusters", "Resource": cluster},
            {
                "Effect": "Allow",
                "Action": "ecs:DescribeServices",
                "Resource": f"arn:aws:ecs:eu-west-1:123456789012:service/{out['cluster_name']}/{out['service_name']}",
            },
            {
                "Effect": "Allow",
                "Action": [
                    "codedeploy:CreateDeployment",
                    "codedeploy:GetDeployment",
                    "codedeploy:GetDeploymentGroup",
                    "codedeploy:ListDeployments",
                ],
                "Resource": GROUP,
            },
            {"Effect": "Allow", "Action": unscoped + (["codedeploy:StopDeployment"] if stop else []), "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": "codedeploy:GetApplicationRevision",
                "Resource": "arn:aws:codedeploy:eu-west-1:123456789012:application:demo-web",
            },
            {
                "Effect": "Allow",
                "Action": "codedeploy:GetDeploymentConfig",
                "Resource": "arn:aws:codedeploy:eu-west-1:123456789012:deploymentconfig:*",
            },
            {"Effect": "Allow", "Action": "elasticloadbalancing:Describe*", "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": [out["task_execution_role_arn"], out["task_role_arn"]],
                "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            },
        ]
    }


class _Simulator:
    """SimulatePrincipalPolicy for one principal's policy, decided as IAM does (or refused)."""

    def __init__(self, policy: dict[str, Any] | None, refuse: str | None = None) -> None:
        self.policy, self.refuse, self.requests = policy, refuse, []  # type: ignore[var-annotated]
        self.iam_eval = _eval_module()

    def get_paginator(self, name: str) -> Any:
        assert name == "simulate_principal_policy"
        return self

    def paginate(self, **request: Any) -> list[dict[str, Any]]:
        from botocore.exceptions import ClientError

        self.requests.append(request)
        if self.refuse:
            raise ClientError({"Error": {"Code": self.refuse, "Message": "not authorized"}}, "SimulatePrincipalPolicy")
        context = {e["ContextKeyName"]: e["ContextKeyValues"][0] for e in request.get("ContextEntries", [])}
        results = []
        for action in request["ActionNames"]:
            for resource in request["ResourceArns"]:
                decision = self.iam_eval.evaluate([self.policy], self.iam_eval.Request(action, resource, context))
                results.append(
                    {"EvalActionName": action, "EvalResourceName": resource, "EvalDecision": decision.result}
                )
        return [{"EvaluationResults": results}]


def _permissions_row(sandbox: Any, monkeypatch: pytest.MonkeyPatch, simulator: _Simulator) -> tuple[str, str]:
    from orchestrator import doctor
    from orchestrator.aws import Aws
    from orchestrator.target import resolve_target

    monkeypatch.setenv("ORCHESTRATOR_SANDBOX_DIR", str(sandbox.sandbox_dir))
    target = resolve_target(Path("terraform"), None, sandbox.outputs_path, False, None)
    monkeypatch.setattr(Aws, "client", lambda self, service, retries=True: simulator)
    caller = "arn:aws:sts::123456789012:assumed-role/demo-ci-deploy/deploy-42"
    return doctor._permissions(target, caller, "CodeDeployDefault.ECSAllAtOnce")


def test_permissions_are_simulated_on_the_real_resources_with_their_context(sandbox, monkeypatch) -> None:
    simulator = _Simulator(_release_role(sandbox))
    status, detail = _permissions_row(sandbox, monkeypatch, simulator)
    assert (status, detail.split(" may ")[0]) == ("pass", ROLE), detail
    on = {a: r for req in simulator.requests for a in req["ActionNames"] for r in req["ResourceArns"]}
    assert on["codedeploy:CreateDeployment"] == on["codedeploy:GetDeployment"] == GROUP
    assert on["codedeploy:StopDeployment"] == on["codedeploy:ContinueDeployment"] == "*"  # no resource type
    assert on["codedeploy:GetDeploymentConfig"].endswith(":deploymentconfig:CodeDeployDefault.ECSAllAtOnce")
    passes = [r for r in simulator.requests if r["ActionNames"] == ["iam:PassRole"]]
    assert {r["ResourceArns"][0] for r in passes} == {
        sandbox.service_outputs()["task_execution_role_arn"],
        sandbox.service_outputs()["task_role_arn"],
    }
    assert all(r["ContextEntries"] == PASSED for r in passes)
    (service,) = [r for r in simulator.requests if r["ActionNames"] == ["ecs:DescribeServices"]]
    assert service["ContextEntries"][0]["ContextKeyName"] == "ecs:cluster"


def test_a_role_that_cannot_stop_fails_the_permissions_row(sandbox, monkeypatch) -> None:
    status, detail = _permissions_row(sandbox, monkeypatch, _Simulator(_release_role(sandbox, stop=False)))
    assert status == "fail"
    assert detail == f"{ROLE} may not: codedeploy:StopDeployment on * (implicitDeny)"


def test_a_simulation_the_role_may_not_run_cannot_check_rather_than_fail(sandbox, monkeypatch) -> None:
    status, detail = _permissions_row(sandbox, monkeypatch, _Simulator(None, refuse="AccessDenied"))
    assert status == "skipped"
    assert detail.startswith(f"cannot check: {ROLE} may not run the IAM policy simulator (iam:SimulatePrincipalPolicy)")

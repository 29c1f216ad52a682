"""Provisioning: the sandbox holds the stack the Terraform root makes, wired the same way, and the
outputs it writes are the contract the orchestrator reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.contract import SERVICE_KEYS, load_outputs_file, parse_outputs
from orchestrator.errors import InputError

# The committed example of `terraform output -json` (tests/test_contract.py checks it against terraform/).
EXAMPLE = Path(__file__).resolve().parents[1] / "outputs.example.json"


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def test_network_matches_terraform(sandbox) -> None:
    ec2 = sandbox.client("ec2")
    vpcs = [v for v in ec2.describe_vpcs()["Vpcs"] if _tags(v).get("Name") == "demo"]
    assert len(vpcs) == 1
    vpc = vpcs[0]
    assert vpc["CidrBlock"] == "10.0.0.0/16"
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    by_tier: dict[str, list[dict[str, Any]]] = {}
    for subnet in subnets:
        by_tier.setdefault(_tags(subnet)["Tier"], []).append(subnet)
    assert {t: len(s) for t, s in by_tier.items()} == {"public": 2, "private": 2}
    for tier in ("public", "private"):
        assert len({s["AvailabilityZone"] for s in by_tier[tier]}) == 2, f"{tier} subnets span two AZs"
    public_ids = {s["SubnetId"] for s in by_tier["public"]}
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["RouteTables"]
    public_table = next(t for t in tables if _tags(t).get("Name") == "demo-public")
    assert {a["SubnetId"] for a in public_table["Associations"] if "SubnetId" in a} == public_ids
    assert any(r.get("GatewayId", "").startswith("igw-") for r in public_table["Routes"])
    private_tables = [t for t in tables if _tags(t).get("Name", "").startswith("demo-private-")]
    assert len(private_tables) == 2
    assert all(any(r.get("NatGatewayId") for r in t["Routes"]) for t in private_tables)


def test_security_groups_let_only_the_alb_reach_the_tasks(sandbox) -> None:
    ec2 = sandbox.client("ec2")
    groups = {
        g["GroupName"]: g
        for g in ec2.describe_security_groups(
            Filters=[{"Name": "group-name", "Values": ["demo-web-alb", "demo-web-service"]}]
        )["SecurityGroups"]
    }
    assert set(groups) == {"demo-web-alb", "demo-web-service"}
    alb, svc = groups["demo-web-alb"], groups["demo-web-service"]
    # As modules/alb's defaults: production open to all, the test listener to the VPC only.
    cidrs = {p["FromPort"]: [r["CidrIp"] for r in p["IpRanges"]] for p in alb["IpPermissions"]}
    assert cidrs == {80: ["0.0.0.0/0"], 8080: [ec2.describe_vpcs(VpcIds=[alb["VpcId"]])["Vpcs"][0]["CidrBlock"]]}
    (ingress,) = svc["IpPermissions"]
    assert (ingress["FromPort"], ingress["ToPort"]) == (8080, 8080)
    assert [p["GroupId"] for p in ingress["UserIdGroupPairs"]] == [alb["GroupId"]]
    assert not ingress.get("IpRanges")


def test_load_balancer_target_groups_and_listeners(sandbox) -> None:
    elbv2 = sandbox.client("elbv2")
    out = sandbox.service_outputs()
    (alb,) = elbv2.describe_load_balancers(Names=["demo-web"])["LoadBalancers"]
    assert alb["Scheme"] == "internet-facing"
    assert alb["Type"] == "application"
    assert alb["DNSName"] == out["alb_dns_name"]

    tgs = {
        t["TargetGroupName"]: t
        for t in elbv2.describe_target_groups(Names=["demo-web-blue", "demo-web-green"])["TargetGroups"]
    }
    for tg in tgs.values():
        assert (tg["TargetType"], tg["Protocol"], tg["Port"]) == ("ip", "HTTP", 8080)
        assert tg["HealthCheckPath"] == "/health"
        assert tg["VpcId"] == alb["VpcId"]
    blue_arn = tgs["demo-web-blue"]["TargetGroupArn"]

    listeners = {
        listener["Port"]: listener
        for listener in elbv2.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
    }
    assert set(listeners) == {80, 8080}
    assert listeners[80]["ListenerArn"] == out["prod_listener_arn"]
    assert listeners[8080]["ListenerArn"] == out["test_listener_arn"]
    for listener in listeners.values():
        assert listener["Protocol"] == "HTTP"
        (action,) = listener["DefaultActions"]
        assert action["Type"] == "forward"
        assert action["TargetGroupArn"] == blue_arn


def test_ecr_cluster_roles_and_log_group(sandbox) -> None:
    out = sandbox.service_outputs()
    (repo,) = sandbox.client("ecr").describe_repositories(repositoryNames=["demo/web"])["repositories"]
    assert repo["repositoryUri"] == out["ecr_repository_url"]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"]["scanOnPush"] is True

    (cluster,) = sandbox.client("ecs").describe_clusters(clusters=["demo"], include=["SETTINGS"])["clusters"]
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]

    iam = sandbox.client("iam")
    expected = {
        "demo-web-execution": ("ecs-tasks.amazonaws.com", ["AmazonECSTaskExecutionRolePolicy"]),
        "demo-web-task": ("ecs-tasks.amazonaws.com", []),
        "demo-web-codedeploy": ("codedeploy.amazonaws.com", ["AWSCodeDeployRoleForECS"]),
    }
    for name, (principal, policies) in expected.items():
        role = iam.get_role(RoleName=name)["Role"]
        trust = role["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        assert [s["Principal"]["Service"] for s in trust["Statement"]] == [principal]
        attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        assert sorted(p["PolicyName"] for p in attached) == policies
    assert out["task_execution_role_arn"] == iam.get_role(RoleName="demo-web-execution")["Role"]["Arn"]
    assert out["task_role_arn"] == iam.get_role(RoleName="demo-web-task")["Role"]["Arn"]

    groups = sandbox.client("logs").describe_log_groups(logGroupNamePrefix="/ecs/demo/web")["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/ecs/demo/web"] == [out["log_group_name"]]


def test_initial_task_definition_is_taskdef_json_rendered(sandbox, repo_root: Path) -> None:
    out = sandbox.service_outputs()
    ecs = sandbox.client("ecs")
    (service,) = ecs.describe_services(cluster="demo", services=["web"])["services"]
    td = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    assert td["family"] == "demo-web"
    assert td["executionRoleArn"] == out["task_execution_role_arn"]
    assert td["taskRoleArn"] == out["task_role_arn"]
    source = json.loads((repo_root / "taskdef.json").read_text())
    assert [c["name"] for c in td["containerDefinitions"]] == [c["name"] for c in source["containerDefinitions"]]
    (web,) = td["containerDefinitions"]
    assert web["image"] == "public.ecr.aws/nginx/nginx-unprivileged:stable-alpine"
    options = web["logConfiguration"]["options"]
    assert options["awslogs-group"] == out["log_group_name"]
    assert options["awslogs-region"] == sandbox.region
    assert "${" not in json.dumps(td)


def test_service_uses_codedeploy_and_only_the_blue_target_group(sandbox) -> None:
    ec2, elbv2 = sandbox.client("ec2"), sandbox.client("elbv2")
    (service,) = sandbox.client("ecs").describe_services(cluster="demo", services=["web"])["services"]
    assert service["launchType"] == "FARGATE"
    assert service["deploymentController"]["type"] == "CODE_DEPLOY"
    assert service["desiredCount"] == 2
    blue = elbv2.describe_target_groups(Names=["demo-web-blue"])["TargetGroups"][0]["TargetGroupArn"]
    assert service["loadBalancers"] == [{"targetGroupArn": blue, "containerName": "web", "containerPort": 8080}]
    vpc_conf = service["networkConfiguration"]["awsvpcConfiguration"]
    private = {
        s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "tag:Tier", "Values": ["private"]}])["Subnets"]
    }
    assert set(vpc_conf["subnets"]) == private
    svc_sg = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["demo-web-service"]}])[
        "SecurityGroups"
    ][0]["GroupId"]
    assert vpc_conf["securityGroups"] == [svc_sg]


def test_codedeploy_group_is_wired_to_the_pair_and_listeners(sandbox) -> None:
    out = sandbox.service_outputs()
    cd = sandbox.client("codedeploy")
    assert cd.get_application(applicationName="demo-web")["application"]["computePlatform"] == "ECS"
    group = cd.get_deployment_group(applicationName="demo-web", deploymentGroupName="demo-web")["deploymentGroupInfo"]
    assert group["serviceRoleArn"] == sandbox.client("iam").get_role(RoleName="demo-web-codedeploy")["Role"]["Arn"]
    assert group["deploymentConfigName"] == "CodeDeployDefault.ECSAllAtOnce"
    assert group["deploymentStyle"] == {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}
    bg = group["blueGreenDeploymentConfiguration"]
    assert bg["deploymentReadyOption"]["actionOnTimeout"] == "CONTINUE_DEPLOYMENT"
    assert bg["terminateBlueInstancesOnDeploymentSuccess"] == {"action": "TERMINATE", "terminationWaitTimeInMinutes": 5}
    assert group["autoRollbackConfiguration"]["enabled"] is True
    assert "DEPLOYMENT_FAILURE" in group["autoRollbackConfiguration"]["events"]
    assert group["ecsServices"] == [{"clusterName": "demo", "serviceName": "web"}]
    (pair,) = group["loadBalancerInfo"]["targetGroupPairInfoList"]
    assert [tg["name"] for tg in pair["targetGroups"]] == ["demo-web-blue", "demo-web-green"]
    assert pair["prodTrafficRoute"]["listenerArns"] == [out["prod_listener_arn"]]
    assert pair["testTrafficRoute"]["listenerArns"] == [out["test_listener_arn"]]


def test_outputs_file_is_terraform_output_json(sandbox) -> None:
    raw = json.loads(sandbox.outputs_path.read_text())
    assert set(raw) == {"aws_region", "services"}
    for output in raw.values():
        assert set(output) == {"sensitive", "type", "value"}
        assert output["sensitive"] is False
    assert raw["aws_region"]["value"] == sandbox.region
    assert set(raw["services"]["value"]["web"]) == set(SERVICE_KEYS)
    # As Terraform types the root's `{ for k, s in var.services : k => {...} }` output.
    assert raw["aws_region"]["type"] == "string"
    kind, members = raw["services"]["type"]
    assert (kind, list(members)) == ("object", ["web"])
    assert members["web"] == [
        "object",
        {k: "number" if k == "container_port" else "string" for k in sorted(SERVICE_KEYS)},
    ]
    # The example's outputs (the CI roles' ARNs are Terraform's only: the sandbox has no OIDC), same keys.
    example = json.loads(EXAMPLE.read_text())
    assert {"aws_region", "services"} <= set(raw) <= set(example)
    assert set(raw["services"]["value"]["web"]) == set(example["services"]["value"]["web"])
    outputs = load_outputs_file(sandbox.outputs_path)
    key, svc = outputs.service(None)
    assert (key, svc.cluster_name, svc.service_name, svc.container_name) == ("web", "demo", "web", "web")
    assert svc.codedeploy_app_name == svc.codedeploy_deployment_group_name == "demo-web"
    assert (svc.blue_target_group_name, svc.green_target_group_name) == ("demo-web-blue", "demo-web-green")
    assert svc.container_port == 8080


def test_each_test_starts_from_a_fresh_stack(sandbox) -> None:
    """The fixture resets: no deployments, faults or counted calls survive from an earlier test."""
    assert sandbox.counts() == {} or all(not actions for actions in sandbox.counts().values())
    assert sandbox.mutating_calls() == []
    faults = sandbox.control.faults()
    assert not faults.get("fail_at") and not faults.get("throttle") and not faults.get("unhealthy")
    ecs = sandbox.client("ecs")
    assert [s["serviceName"] for s in ecs.describe_services(cluster="demo", services=["web"])["services"]] == ["web"]
    # Leave something behind for the next test to not see.
    sandbox.control.set_faults(latency_ms=1)
    sandbox.control.time_scale(sandbox.time_scale * 3)
    sandbox.client("logs").create_log_group(logGroupName="/leftover")


def test_the_next_test_does_not_see_the_leftovers(sandbox) -> None:
    groups = sandbox.client("logs").describe_log_groups(logGroupNamePrefix="/leftover")["logGroups"]
    assert groups == []
    assert not sandbox.control.faults().get("latency_ms")
    assert sandbox.control.time_scale() == sandbox.time_scale


def test_two_services_share_network_and_cluster(sandbox) -> None:
    doc = sandbox.reprovision(services=("web", "api"))
    outputs = parse_outputs(doc, "test")
    assert sorted(outputs.services) == ["api", "web"]
    api = outputs.services["api"]
    assert (api.cluster_name, api.service_name, api.codedeploy_app_name) == ("demo", "api", "demo-api")
    assert load_outputs_file(sandbox.outputs_path).services["api"] == api
    services = sandbox.client("ecs").describe_services(cluster="demo", services=["web", "api"])["services"]
    assert sorted(s["serviceName"] for s in services) == ["api", "web"]
    vpcs = [v for v in sandbox.client("ec2").describe_vpcs()["Vpcs"] if _tags(v).get("Name") == "demo"]
    assert len(vpcs) == 1


def test_bad_taskdef_is_refused_before_any_aws_write(sandbox, tmp_path: Path) -> None:
    from orchestrator.sandbox.provision import provision

    sandbox.server.reset()
    (tmp_path / "taskdef.json").write_text('{"family": "${cluster_name}-${nope}", "containerDefinitions": []}')
    with pytest.raises(InputError, match=r"unknown placeholders \$\{nope\}"):
        provision(sandbox.endpoint, sandbox.region, tmp_path)
    assert sandbox.mutating_calls() == []
    with pytest.raises(InputError, match="no such file"):
        provision(sandbox.endpoint, sandbox.region, tmp_path / "missing")


def test_first_revision_renders_placeholders_as_orchestrator_render_does() -> None:
    """An escaped `$${HOME}` stays a literal `${HOME}` in the sandbox too, and read-only keys are dropped."""
    import json

    from orchestrator.sandbox.provision import render_taskdef

    text = json.dumps(
        {
            "family": "${cluster_name}-web",
            "revision": 7,
            "containerDefinitions": [{"name": "web", "image": "${image}", "command": ["echo $${HOME}"]}],
        }
    )
    out = render_taskdef(text, {"cluster_name": "demo", "image": "repo/web:1"})
    assert out["family"] == "demo-web" and "revision" not in out
    assert out["containerDefinitions"][0]["command"] == ["echo ${HOME}"]
    assert out["containerDefinitions"][0]["image"] == "repo/web:1"


def test_the_smoke_test_function_is_the_module_handler_and_its_listener_url_is_settable(sandbox) -> None:
    """Provisioning creates modules/smoke-test-hook's function from the same handler.py; the test
    listener URL (the sandbox's ALB answers nothing) is what `sandbox up --test-listener-url` gives."""
    import base64
    import hashlib

    from orchestrator import smoke_hook
    from orchestrator.sandbox.provision import provision

    name = sandbox.service_outputs()["smoke_test_function_name"]
    assert name == "demo-web-smoke-test"
    lam = sandbox.client("lambda")
    config = lam.get_function_configuration(FunctionName=name)
    assert config["Handler"] == "handler.handler" and config["Runtime"].startswith("python3")
    assert config["Environment"]["Variables"]["TEST_LISTENER_URL"].endswith(".elb.amazonaws.com:8080")
    # CodeSha256 is base64(sha256(zip)) (Lambda API reference, FunctionConfiguration): the module's package.
    handler = (sandbox.repo_root / smoke_hook.HANDLER).read_bytes()
    assert config["CodeSha256"] == base64.b64encode(hashlib.sha256(smoke_hook.package(handler)).digest()).decode()

    sandbox.server.reset()
    provision(sandbox.endpoint, sandbox.region, sandbox.repo_root, test_listener_url="http://127.0.0.1:8099")
    env = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    assert env["TEST_LISTENER_URL"] == "http://127.0.0.1:8099"
    with pytest.raises(InputError, match="expected an http"):
        provision(sandbox.endpoint, sandbox.region, sandbox.repo_root, test_listener_url="127.0.0.1:8099")

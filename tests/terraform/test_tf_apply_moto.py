"""Apply the root against moto, simulate a release, and check that Terraform would not undo it.

This is the claim the whole design rests on: after CodeDeploy has registered a new revision, moved the
service to it and switched the listeners to green (and someone scaled the service), `terraform plan`
proposes nothing for the listeners, the service's task definition / target group / count, or the
task definition. It runs by default (`make test`, CI): about 90 s on 2 busy cores, of which the AWS
provider's own wait for the new load balancer to become active is about 60 s of the 80 s apply
(measured with `terraform apply -json` and TF_LOG): its waiter (waitLoadBalancerActive) sleeps 30 s
before its first poll, once after CreateLoadBalancer and once after ModifyLoadBalancerAttributes
(drop_invalid_header_fields, which the module wants); no argument shortens either.
conftest.py starts the apply (tfapply.py) in the background as soon as collection ends, so that
wait overlaps the rest of the suite. ORCHESTRATOR_TF_APPLY_TESTS=0 skips it (a quick local loop).
"""

from __future__ import annotations

import json
import os
from typing import Any

import netpath
import pytest
import tfapply
import tftest
from support import clients

from orchestrator.contract import parse_outputs

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("ORCHESTRATOR_TF_APPLY_TESTS") == "0",
        reason="ORCHESTRATOR_TF_APPLY_TESTS=0: not applying the root against moto (about 90 s)",
    ),
]


def _boto(endpoint: str, service: str) -> Any:
    assert tfapply.REGION == clients.REGION
    return clients.client(endpoint, service, attempts=3)


def test_a_release_leaves_nothing_for_terraform_to_undo(applied: tfapply.MotoApply) -> None:
    run = applied
    outputs = parse_outputs(json.loads(run.outputs_json), "moto")
    svc = outputs.services["web"]
    assert (svc.cluster_name, svc.blue_target_group_name) == ("tfx", "tfx-web-blue")

    # The test listener's port admits the VPC's own CIDR block and, for the smoke test of this
    # internet-facing load balancer, each NAT gateway's address; nothing else.
    ec2 = _boto(run.endpoint, "ec2")
    (group,) = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["tfx-web-alb"]}])[
        "SecurityGroups"
    ]
    test_port = [p for p in group["IpPermissions"] if p.get("FromPort") == 8080]
    (vpc,) = ec2.describe_vpcs(VpcIds=[group["VpcId"]])["Vpcs"]
    nats = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["NatGateways"]
    assert len(nats) == 2
    expected = {vpc["CidrBlock"]} | {f"{n['NatGatewayAddresses'][0]['PublicIp']}/32" for n in nats}
    assert sorted(r["CidrIp"] for p in test_port for r in p["IpRanges"]) == sorted(expected)

    # What a release and an operator do, behind Terraform's back.
    ecs, elb = _boto(run.endpoint, "ecs"), _boto(run.endpoint, "elbv2")
    current = ecs.describe_task_definition(taskDefinition="tfx-web")["taskDefinition"]
    keys = ("family", "containerDefinitions", "networkMode", "requiresCompatibilities", "cpu", "memory")
    revision = {k: current[k] for k in keys}
    revision["containerDefinitions"][0]["image"] = "example.org/web:v2"
    revision.update(executionRoleArn=current["executionRoleArn"], taskRoleArn=current["taskRoleArn"])
    new_arn = ecs.register_task_definition(**revision)["taskDefinition"]["taskDefinitionArn"]
    assert new_arn.endswith(":2")
    green = elb.describe_target_groups(Names=[svc.green_target_group_name])["TargetGroups"][0]["TargetGroupArn"]
    for listener in (svc.prod_listener_arn, svc.test_listener_arn):
        elb.modify_listener(ListenerArn=listener, DefaultActions=[{"Type": "forward", "TargetGroupArn": green}])
    ecs.update_service(cluster=svc.cluster_name, service=svc.service_name, desiredCount=4)

    tf = tftest.TerraformTest(str(run.root), binary=run.terraform, env=run.env)
    plan = tf.plan(output=True, tf_var_file=tfapply.VAR_FILES)
    changes = {c["address"]: c for c in plan["resource_changes"] if c["change"]["actions"] != ["no-op"]}
    touched = [a for a in changes if "aws_lb_listener" in a or "aws_ecs_task_definition" in a]
    assert not touched, f"Terraform would undo the release: {touched}"
    assert not [a for a, c in changes.items() if c["change"]["actions"] != ["update"]], "replacement planned"
    service = changes.get('module.ecs_service["web"].aws_ecs_service.this')
    if service is not None:
        before, after = service["change"]["before"], service["change"]["after"]
        changed = {k for k in after if before.get(k) != after.get(k)}
        assert not changed & {"task_definition", "load_balancer", "desired_count"}, changed


def _network(run: tfapply.MotoApply) -> netpath.Network:
    functions = [f"{tfapply.PROJECT}-{k}-smoke-test" for k in ("web", "api")]
    return netpath.read_network(
        _boto(run.endpoint, "ec2"), _boto(run.endpoint, "elbv2"), _boto(run.endpoint, "lambda"), functions
    )


def test_the_smoke_test_reaches_its_listener_for_both_load_balancer_schemes(applied: tfapply.MotoApply) -> None:
    net = _network(applied)
    schemes = {lb["scheme"] for lb in net.load_balancers.values()}
    assert schemes == {"internet-facing", "internal"}
    for function in net.functions:
        assert netpath.smoke_path(net, function) == [], function


@pytest.mark.parametrize("service", ["web", "api"])
def test_without_the_egress_rule_the_smoke_test_is_dropped(applied: tfapply.MotoApply, service: str) -> None:
    net = _network(applied)
    function = f"{tfapply.PROJECT}-{service}-smoke-test"
    problems = netpath.smoke_path(netpath.without_egress(net, function, 8080), function)
    assert problems and all("has no egress to it" in p for p in problems), problems

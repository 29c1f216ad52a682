"""The example stack's network and load balancer, as the Terraform root's modules/network and modules/alb
make them (helpers of provision.py)."""

from __future__ import annotations

from typing import Any

CONTAINER_PORT = 8080
TEST_LISTENER_PORT = 8080
HEALTH_CHECK_PATH = "/health"

VPC_CIDR = "10.0.0.0/16"
PUBLIC_CIDRS = ("10.0.0.0/24", "10.0.1.0/24")
PRIVATE_CIDRS = ("10.0.10.0/24", "10.0.11.0/24")


def _tags(resource: str, name: str, project: str) -> list[dict[str, Any]]:
    return [{"ResourceType": resource, "Tags": [{"Key": "Name", "Value": name}, {"Key": "Project", "Value": project}]}]


class Network:
    def __init__(self, vpc_id: str, public: list[str], private: list[str]) -> None:
        self.vpc_id = vpc_id
        self.public = public
        self.private = private


def network(ec2: Any, region: str, project: str) -> Network:
    vpc_id = ec2.create_vpc(CidrBlock=VPC_CIDR, TagSpecifications=_tags("vpc", project, project))["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    # aws_default_security_group with no rules: the VPC's default group allows nothing.
    default_sg = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]
    _revoke_all(ec2, default_sg)
    ec2.create_tags(Resources=[default_sg["GroupId"]], Tags=[{"Key": "Name", "Value": f"{project}-default-closed"}])
    azs = [f"{region}a", f"{region}b"]
    public: list[str] = []
    private: list[str] = []
    for i, az in enumerate(azs):
        for cidr, kind, bucket in ((PUBLIC_CIDRS[i], "public", public), (PRIVATE_CIDRS[i], "private", private)):
            name = f"{project}-{kind}-{az}"
            tags = _tags("subnet", name, project)
            tags[0]["Tags"].append({"Key": "Tier", "Value": kind})
            subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=az, TagSpecifications=tags)[
                "Subnet"
            ]
            bucket.append(subnet["SubnetId"])
    igw = ec2.create_internet_gateway(TagSpecifications=_tags("internet-gateway", project, project))
    igw_id = igw["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    rt_id = ec2.create_route_table(VpcId=vpc_id, TagSpecifications=_tags("route-table", f"{project}-public", project))[
        "RouteTable"
    ]["RouteTableId"]
    ec2.create_route(RouteTableId=rt_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    for subnet_id in public:
        ec2.associate_route_table(RouteTableId=rt_id, SubnetId=subnet_id)
    # One NAT gateway (single_nat_gateway) for the tasks' outbound traffic; a private route table per AZ.
    eip = ec2.allocate_address(Domain="vpc", TagSpecifications=_tags("elastic-ip", f"{project}-nat-0", project))
    nat_id = ec2.create_nat_gateway(
        SubnetId=public[0],
        AllocationId=eip["AllocationId"],
        TagSpecifications=_tags("natgateway", f"{project}-nat-0", project),
    )["NatGateway"]["NatGatewayId"]
    for az, subnet_id in zip(azs, private, strict=True):
        private_rt = ec2.create_route_table(
            VpcId=vpc_id, TagSpecifications=_tags("route-table", f"{project}-private-{az}", project)
        )["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=private_rt, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat_id)
        ec2.associate_route_table(RouteTableId=private_rt, SubnetId=subnet_id)
    return Network(vpc_id, public, private)


def _revoke_all(ec2: Any, group: dict[str, Any]) -> None:
    """Drop a security group's rules (Terraform's aws_security_group keeps only the rules it declares)."""
    if group.get("IpPermissions"):
        ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=group["IpPermissions"])
    if group.get("IpPermissionsEgress"):
        ec2.revoke_security_group_egress(GroupId=group["GroupId"], IpPermissions=group["IpPermissionsEgress"])


def security_groups(ec2: Any, net: Network, project: str, key: str) -> tuple[str, str]:
    """The load balancer's and the tasks' security groups (modules/alb, modules/ecs-service)."""
    prefix = f"{project}-{key}"
    port = CONTAINER_PORT
    all_egress = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]  # AWS's default rule
    alb_sg = ec2.create_security_group(
        GroupName=f"{prefix}-alb",
        Description=f"Load balancer of {prefix}: production and test listeners",
        VpcId=net.vpc_id,
        TagSpecifications=_tags("security-group", f"{prefix}-alb", project),
    )["GroupId"]
    svc_sg = ec2.create_security_group(
        GroupName=f"{prefix}-service",
        Description=f"Tasks of {key}: traffic from the load balancer only",
        VpcId=net.vpc_id,
        TagSpecifications=_tags("security-group", f"{prefix}-service", project),
    )["GroupId"]
    for sg in (alb_sg, svc_sg):
        ec2.revoke_security_group_egress(GroupId=sg, IpPermissions=all_egress)
    ec2.authorize_security_group_ingress(
        GroupId=alb_sg,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": p,
                "ToPort": p,
                "IpRanges": [{"CidrIp": cidr, "Description": desc}],
            }
            # As modules/alb: production open, the test listener (green tasks, not live yet) the VPC's only.
            for p, cidr, desc in (
                (80, "0.0.0.0/0", "Production listener port 80"),
                (TEST_LISTENER_PORT, VPC_CIDR, "Test listener (CodeDeploy test traffic route)"),
            )
        ],
    )
    ec2.authorize_security_group_egress(
        GroupId=alb_sg,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "UserIdGroupPairs": [{"GroupId": svc_sg}]}
        ],
    )
    ec2.authorize_security_group_ingress(
        GroupId=svc_sg,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "UserIdGroupPairs": [{"GroupId": alb_sg}]}
        ],
    )
    ec2.authorize_security_group_egress(
        GroupId=svc_sg,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )

    return alb_sg, svc_sg


def load_balancer(
    elbv2: Any, net: Network, prefix: str, alb_sg: str
) -> tuple[dict[str, Any], dict[str, str], dict[int, str]]:
    """The ALB, its blue/green target groups and its production (80) and test listeners, both to blue."""
    port = CONTAINER_PORT
    alb = elbv2.create_load_balancer(
        Name=prefix, Subnets=net.public, SecurityGroups=[alb_sg], Scheme="internet-facing", Type="application"
    )["LoadBalancers"][0]
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=alb["LoadBalancerArn"],
        Attributes=[
            {"Key": "idle_timeout.timeout_seconds", "Value": "60"},
            {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"},
            {"Key": "deletion_protection.enabled", "Value": "false"},
        ],
    )
    tg_arns: dict[str, str] = {}
    for color in ("blue", "green"):
        tg_arns[color] = elbv2.create_target_group(
            Name=f"{prefix}-{color}",
            Protocol="HTTP",
            Port=port,
            VpcId=net.vpc_id,
            TargetType="ip",
            HealthCheckEnabled=True,
            HealthCheckProtocol="HTTP",
            HealthCheckPath=HEALTH_CHECK_PATH,
            HealthCheckPort="traffic-port",
            HealthCheckIntervalSeconds=10,
            HealthCheckTimeoutSeconds=5,
            HealthyThresholdCount=2,
            UnhealthyThresholdCount=3,
            Matcher={"HttpCode": "200"},
            Tags=[{"Key": "Name", "Value": f"{prefix}-{color}"}, {"Key": "Color", "Value": color}],
        )["TargetGroups"][0]["TargetGroupArn"]
        elbv2.modify_target_group_attributes(
            TargetGroupArn=tg_arns[color], Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}]
        )
    listeners = {
        listener_port: elbv2.create_listener(
            LoadBalancerArn=alb["LoadBalancerArn"],
            Protocol="HTTP",
            Port=listener_port,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arns["blue"]}],
        )["Listeners"][0]["ListenerArn"]
        for listener_port in (80, TEST_LISTENER_PORT)
    }

    return alb, tg_arns, listeners

"""Follow a smoke test's request through the applied network: from the hook Lambda's subnets and
security groups to the address its URL resolves to and into the load balancer's security group on the
test port, reporting each place a packet would be dropped.

What it models (VPC user guide: "Security group rules", "Route tables", "NAT gateways"; ELB guide:
"Internet-facing and internal load balancers"):
- an internet-facing ALB's DNS name resolves to public addresses (one per subnet; stood for here by
  TEST-NET-2 addresses, outside any VPC block); an internal one's to private addresses of its subnets;
- a Lambda ENI has no public address: a public destination is reached through the subnet's route to a
  NAT gateway, whose own subnet routes to an internet gateway, and arrives from the NAT gateway's
  Elastic IP; a security-group reference never matches such traffic, only a CIDR rule does;
- inside the VPC the local route carries it, and the source is the ENI's private address and its
  security groups;
- security groups are stateful (replies pass), network ACLs are the VPC's default (allow all: the
  root makes none).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

PUBLIC_STAND_IN = "198.51.100.{}"  # documentation range: "a public address of the load balancer"


@dataclass
class Network:
    """The facts of the applied stack the path depends on, read once from the (moto) API."""

    vpc_cidr: str
    subnets: dict[str, str]  # subnet id -> CIDR
    route_tables: dict[str, list[dict[str, Any]]]  # subnet id -> its table's routes
    nat_gateways: dict[str, tuple[str, str]]  # NAT id -> (subnet id, public IP)
    groups: dict[str, dict[str, list[dict[str, Any]]]]  # SG id -> {"ingress": perms, "egress": perms}
    load_balancers: dict[str, dict[str, Any]]  # DNS name -> {scheme, subnets, groups, ports}
    functions: dict[str, dict[str, Any]]  # name -> {subnets, groups, url}


def read_network(ec2: Any, elb: Any, lam: Any, functions: list[str]) -> Network:
    fns = {}
    for name in functions:
        cfg = lam.get_function_configuration(FunctionName=name)
        fns[name] = {
            "subnets": cfg["VpcConfig"]["SubnetIds"],
            "groups": cfg["VpcConfig"]["SecurityGroupIds"],
            "url": cfg["Environment"]["Variables"]["TEST_LISTENER_URL"],
        }
    vpc_id = ec2.describe_subnets(SubnetIds=fns[functions[0]]["subnets"][:1])["Subnets"][0]["VpcId"]
    in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    subnets = {s["SubnetId"]: s["CidrBlock"] for s in ec2.describe_subnets(Filters=in_vpc)["Subnets"]}
    tables = ec2.describe_route_tables(Filters=in_vpc)["RouteTables"]
    main = next((t for t in tables if any(a.get("Main") for a in t.get("Associations", []))), None)
    routes = {sid: main["Routes"] if main else [] for sid in subnets}
    for t in tables:
        for a in t.get("Associations", []):
            if a.get("SubnetId"):
                routes[a["SubnetId"]] = t["Routes"]
    nats = {
        n["NatGatewayId"]: (n["SubnetId"], n["NatGatewayAddresses"][0]["PublicIp"])
        for n in ec2.describe_nat_gateways(Filters=in_vpc)["NatGateways"]
    }
    groups = {
        g["GroupId"]: {"ingress": g.get("IpPermissions", []), "egress": g.get("IpPermissionsEgress", [])}
        for g in ec2.describe_security_groups(Filters=in_vpc)["SecurityGroups"]
    }
    lbs = {}
    for lb in elb.describe_load_balancers()["LoadBalancers"]:
        listeners = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
        lbs[lb["DNSName"]] = {
            # CreateLoadBalancer's documented default (moto leaves the key out for it).
            "scheme": lb.get("Scheme", "internet-facing"),
            "subnets": [z["SubnetId"] for z in lb["AvailabilityZones"]],
            "groups": lb.get("SecurityGroups", []),
            "ports": {int(x["Port"]) for x in listeners},
        }
    vpc_cidr = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["CidrBlock"]
    return Network(vpc_cidr, subnets, routes, nats, groups, lbs, fns)


def _allows(perm: dict[str, Any], port: int, address: str, source_groups: list[str]) -> bool:
    if perm["IpProtocol"] not in ("-1", "tcp", "6"):
        return False
    if perm["IpProtocol"] != "-1" and not perm.get("FromPort", 0) <= port <= perm.get("ToPort", 65535):
        return False
    ip = ipaddress.ip_address(address)
    if any(ip in ipaddress.ip_network(r["CidrIp"]) for r in perm.get("IpRanges", [])):
        return True
    return any(pair.get("GroupId") in source_groups for pair in perm.get("UserIdGroupPairs", []))


def _route(routes: list[dict[str, Any]], address: str) -> dict[str, Any] | None:
    ip = ipaddress.ip_address(address)
    hits = [
        r for r in routes if r.get("DestinationCidrBlock") and ip in ipaddress.ip_network(r["DestinationCidrBlock"])
    ]
    return max(hits, key=lambda r: ipaddress.ip_network(r["DestinationCidrBlock"]).prefixlen, default=None)


def _host(cidr: str, index: int) -> str:
    return str(ipaddress.ip_network(cidr)[index])


def smoke_path(net: Network, function: str) -> list[str]:
    """Where the function's requests to its test listener would be dropped ([] = they arrive)."""
    fn = net.functions[function]
    url = urlsplit(fn["url"])
    port = url.port or (443 if url.scheme == "https" else 80)
    lb = net.load_balancers.get(url.hostname or "")
    if lb is None:
        return [f"{function}: {url.hostname} is no load balancer's DNS name"]
    problems = []
    if port not in lb["ports"]:
        problems.append(f"{function}: the load balancer has no listener on {port}")
    ingress = [p for g in lb["groups"] for p in net.groups[g]["ingress"]]
    if any(_allows(p, port, "203.0.113.77", []) for p in ingress):
        problems.append(f"{function}: the test port {port} is open to the internet (0.0.0.0/0)")
    if lb["scheme"] == "internal":
        destinations = [_host(net.subnets[s], 10) for s in lb["subnets"]]
    else:
        destinations = [PUBLIC_STAND_IN.format(10 + i) for i, _ in enumerate(lb["subnets"])]
    vpc = ipaddress.ip_network(net.vpc_cidr)
    for subnet in fn["subnets"]:
        source = _host(net.subnets[subnet], 20)
        for dest in destinations:
            where = f"{function} in {subnet} -> {dest}:{port}"
            egress = [p for g in fn["groups"] for p in net.groups[g]["egress"]]
            if not any(_allows(p, port, dest, lb["groups"]) for p in egress):
                problems.append(f"{where}: the function's security group has no egress to it")
                continue
            if ipaddress.ip_address(dest) in vpc:
                arrives_from, as_groups = source, fn["groups"]  # the local route
            else:
                route = _route(net.route_tables[subnet], dest)
                nat = (route or {}).get("NatGatewayId")
                if nat not in net.nat_gateways:
                    problems.append(f"{where}: no route through a NAT gateway (a Lambda ENI has no public address)")
                    continue
                nat_subnet, arrives_from = net.nat_gateways[nat]
                as_groups = []
                onward = _route(net.route_tables[nat_subnet], dest)
                if not str((onward or {}).get("GatewayId", "")).startswith("igw-"):
                    problems.append(f"{where}: the NAT gateway's subnet has no route to an internet gateway")
                    continue
            if not any(_allows(p, port, arrives_from, as_groups) for p in ingress):
                problems.append(f"{where}: the load balancer's security group does not admit {arrives_from} on {port}")
    return problems


def without_egress(net: Network, function: str, port: int) -> Network:
    """`net` with the function's egress rules covering `port` removed (as if the rule were deleted)."""
    groups = dict(net.groups)
    for g in net.functions[function]["groups"]:
        kept = [p for p in groups[g]["egress"] if not (p.get("FromPort", -1) <= port <= p.get("ToPort", -1))]
        groups[g] = {**groups[g], "egress": [p for p in kept if p["IpProtocol"] != "-1"]}
    return Network(
        net.vpc_cidr, net.subnets, net.route_tables, net.nat_gateways, groups, net.load_balancers, net.functions
    )

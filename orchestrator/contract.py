"""The Terraform outputs contract: what `terraform output -json` of `terraform/` gives the orchestrator.

The same shape is written by the sandbox to `.sandbox/outputs.json`. Keys are listed once, in
SERVICE_KEYS, so that the loader, the sandbox and the contract tests agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from orchestrator.ecs_rules import ROLE_ARN
from orchestrator.errors import InputError, InputProblems


@dataclass(frozen=True)
class ServiceOutputs:
    cluster_name: str
    service_name: str
    container_name: str
    container_port: int
    codedeploy_app_name: str
    codedeploy_deployment_group_name: str
    ecr_repository_url: str
    task_execution_role_arn: str
    task_role_arn: str
    log_group_name: str
    prod_listener_arn: str
    test_listener_arn: str
    blue_target_group_name: str
    green_target_group_name: str
    alb_dns_name: str
    # The AfterAllowTestTraffic smoke-test function (modules/smoke-test-hook); "" when the service has none.
    smoke_test_function_name: str = ""
    # Which engine releases the service: "codedeploy" (its application and group above) or "ecs" (ECS's
    # own deployments: UpdateService with the service's deploymentConfiguration; the codedeploy_* keys
    # are then ""). For an "ecs" service behind a load balancer, blue_target_group_name and
    # green_target_group_name are the pair ECS alternates between (which one is primary now is read from
    # the service), and the two listener rules below are the ones ECS moves weights on.
    deployment_engine: str = "codedeploy"
    prod_listener_rule_arn: str = ""
    test_listener_rule_arn: str = ""
    # The infrastructure role ECS assumes to change the listener rules (trusted by ecs.amazonaws.com).
    ecs_infrastructure_role_arn: str = ""


SERVICE_KEYS: tuple[str, ...] = tuple(f.name for f in fields(ServiceOutputs))
# Keys added after the first release of the contract: an outputs file without them (an older stack's
# CI artifact) still loads, with these values.
OPTIONAL_KEYS: dict[str, str] = {
    "smoke_test_function_name": "",
    "deployment_engine": "codedeploy",
    "prod_listener_rule_arn": "",
    "test_listener_rule_arn": "",
    "ecs_infrastructure_role_arn": "",
}
ENGINES: tuple[str, ...] = ("codedeploy", "ecs")
# Keys an "ecs" service does not use; absent from its outputs they load as "".
CODEDEPLOY_ONLY_KEYS: tuple[str, ...] = ("codedeploy_app_name", "codedeploy_deployment_group_name")


@dataclass(frozen=True)
class Outputs:
    aws_region: str
    services: dict[str, ServiceOutputs]
    source: str = "terraform output"

    def service(self, name: str | None) -> tuple[str, ServiceOutputs]:
        """Pick a service by key; the only one when name is None."""
        names = sorted(self.services)
        if name is None:
            if len(names) == 1:
                return names[0], self.services[names[0]]
            raise InputError(
                f"{self.source}: {len(names)} services ({', '.join(names)})",
                hint="choose one with --service KEY (or several: --service repeated, --all)",
            )
        if name not in self.services:
            raise InputError(
                f"{self.source}: no service {name!r}; services are: {', '.join(names) or 'none'}",
            )
        return name, self.services[name]

    def select(self, names: list[str] | None, every: bool = False) -> list[str]:
        """The service keys a command acts on: `--all` (every service, sorted), the `--service` keys
        given (in order, each once), or the only one."""
        if every:
            if names:
                raise InputError(
                    "--all and --service exclude each other", hint="name services with --service, or use --all"
                )
            return sorted(self.services)
        if not names:
            return [self.service(None)[0]]
        chosen: list[str] = []
        for name in names:
            key, _ = self.service(name)
            if key not in chosen:
                chosen.append(key)
        return chosen


# eu-west-1, us-gov-west-1, cn-north-1, ap-southeast-4, us-isob-east-1.
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$")


def _value(raw: dict[str, Any], key: str) -> Any:
    # `terraform output -json` wraps each output as {"value": ..., "type": ..., "sensitive": ...};
    # a plain {"aws_region": "eu-west-1"} map is accepted too (hand-written files, CI artifacts).
    item = raw[key]
    if isinstance(item, dict) and "value" in item and ("type" in item or "sensitive" in item):
        return item["value"]
    return item


# The form of each value the orchestrator passes to AWS as it is (ARN formats: the ARNs section of the
# AWS General Reference and each service's resource types: IAM role, ELBv2 listener and listener rule).
_ARN = r"arn:aws[a-z-]*"
_LISTENER = re.compile(
    rf"^{_ARN}:elasticloadbalancing:[a-z0-9-]+:\d{{12}}:listener/(app|net|gwy)/[^/\s]+/[^/\s]+/[^/\s]+$"
)
_RULE = re.compile(
    rf"^{_ARN}:elasticloadbalancing:[a-z0-9-]+:\d{{12}}:listener-rule/(app|net)/[^/\s]+/[^/\s]+/[^/\s]+/[^/\s]+$"
)
ARN_FORMATS: dict[str, tuple[re.Pattern[str], str]] = {
    "task_execution_role_arn": (ROLE_ARN, "an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"),
    "task_role_arn": (ROLE_ARN, "an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"),
    "ecs_infrastructure_role_arn": (ROLE_ARN, "an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"),
    "prod_listener_arn": (_LISTENER, "a load balancer listener ARN (arn:aws:elasticloadbalancing:...:listener/...)"),
    "test_listener_arn": (_LISTENER, "a load balancer listener ARN (arn:aws:elasticloadbalancing:...:listener/...)"),
    "prod_listener_rule_arn": (_RULE, "a listener rule ARN (arn:aws:elasticloadbalancing:...:listener-rule/...)"),
    "test_listener_rule_arn": (_RULE, "a listener rule ARN (arn:aws:elasticloadbalancing:...:listener-rule/...)"),
}
# Names every service has (the others may be "" where the engine does not use them).
REQUIRED_NAMES: tuple[str, ...] = ("cluster_name", "service_name", "container_name")


def _port(value: Any) -> int | None:
    """A container port as Terraform writes it (a number; a string of digits from a hand-written file)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


# An "ecs" service may run behind no load balancer (a rolling service, adopted as it is): no listeners.
_ECS_MAY_LACK: tuple[str, ...] = ("prod_listener_arn", "test_listener_arn")


def _may_be_empty(svc: dict[str, Any], key: str) -> bool:
    return key in OPTIONAL_KEYS or (svc.get("deployment_engine") == "ecs" and key in _ECS_MAY_LACK)


def _service_problems(svc: dict[str, Any], where: str) -> list[str]:
    """Every problem with one service's values, by type and form."""
    found: list[str] = []
    port = _port(svc["container_port"])
    if port is None or not 1 <= port <= 65535:
        found.append(f"{where}.container_port: {svc['container_port']!r} is not a port number (1-65535)")
    for k in SERVICE_KEYS:
        v = svc[k]
        if k == "container_port":
            continue
        if not isinstance(v, str):
            found.append(f"{where}.{k} must be a string, got {type(v).__name__}")
        elif k in REQUIRED_NAMES and not v.strip():
            found.append(f"{where}.{k} must not be empty")
        elif k in ARN_FORMATS and (v or not _may_be_empty(svc, k)) and not ARN_FORMATS[k][0].match(v):
            found.append(f"{where}.{k}: {v!r} is not {ARN_FORMATS[k][1]}")
    return found


def parse_outputs(raw: Any, source: str) -> Outputs:
    """The outputs, or InputProblems listing every problem found (one line each)."""
    if not isinstance(raw, dict):
        raise InputError(f"{source}: expected a JSON object of Terraform outputs")
    for key in ("aws_region", "services"):
        if key not in raw:
            raise InputError(
                f"{source}: missing output {key!r}; outputs present: {', '.join(sorted(raw)) or 'none'}",
                hint="run `make infra` or check terraform/outputs.tf",
            )
    region = _value(raw, "aws_region")
    services_raw = _value(raw, "services")
    found: list[str] = []
    if not isinstance(region, str) or not region:
        found.append(f"{source}: output 'aws_region' must be a non-empty string")
    elif not _REGION.match(region):
        # botocore would build an endpoint from it and fail with a traceback at the first call.
        found.append(f"{source}: output 'aws_region' {region!r} is not an AWS region name (like eu-west-1)")
    if not isinstance(services_raw, dict) or not services_raw:
        raise InputProblems([*found, f"{source}: output 'services' must be a non-empty map of services"])
    services: dict[str, ServiceOutputs] = {}
    for name, svc in services_raw.items():
        where = f"{source}: services.{name}"
        if not isinstance(svc, dict):
            found.append(f"{where} must be an object")
            continue
        svc = {**OPTIONAL_KEYS, **svc}
        engine = svc["deployment_engine"]
        if engine not in ENGINES:
            found.append(f"{where}.deployment_engine is {engine!r}; expected one of: {', '.join(ENGINES)}")
            continue
        if engine == "ecs":
            svc = {**dict.fromkeys(CODEDEPLOY_ONLY_KEYS, ""), **svc}
        missing = [k for k in SERVICE_KEYS if k not in svc]
        if missing:
            found.append(f"{where} is missing {', '.join(missing)}; present: {', '.join(sorted(svc))}")
            continue
        problems = _service_problems(svc, where)
        found += problems
        if not problems:
            values = {k: svc[k] for k in SERVICE_KEYS}
            values["container_port"] = _port(values["container_port"])
            services[name] = ServiceOutputs(**values)
    if found:
        raise InputProblems(found)
    return Outputs(aws_region=str(region), services=services, source=source)


def merge_outputs(base: Outputs, ecs_native: Outputs) -> Outputs:
    """One contract from the CodeDeploy root's outputs and the ECS-native root's (terraform/ecs-native).

    A service key in both is the ECS-native root's: the CodeDeploy root keeps listing a service that
    moved (it still owns its load balancer and target groups), and ECS now releases it.
    """
    if base.aws_region != ecs_native.aws_region:
        raise InputError(
            f"{ecs_native.source}: aws_region {ecs_native.aws_region!r} differs from "
            f"{base.source}'s {base.aws_region!r}",
            hint="both roots must describe the same stack (check terraform/ecs-native/envs/<env>.tfvars)",
        )
    return Outputs(
        aws_region=base.aws_region,
        services={**base.services, **ecs_native.services},
        source=f"{base.source} + {ecs_native.source}",
    )


def load_outputs_file(path: Path) -> Outputs:
    from orchestrator.userfile import load_json, shown

    raw = load_json(path, "outputs file", expected="the JSON of `terraform output -json`")
    return parse_outputs(raw, shown(path))

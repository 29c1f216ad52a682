"""Create the example stack in the sandbox exactly as the Terraform root does, and return its outputs.

The names and wiring mirror `terraform/` (project "demo", service key "web"):

- one VPC per project (10.0.0.0/16, two public and two private subnets in two AZs, an internet
  gateway and a public route table) and one ECS cluster `<project>` with Container Insights;
- per service: security groups `<project>-<svc>-alb` / `<project>-<svc>-service`, an internet-facing
  ALB `<project>-<svc>`, target groups `<project>-<svc>-blue` / `-green` (ip, HTTP, container port,
  /health), a production listener :80 and a test listener :8080 both forwarding to blue, the ECR
  repository `<project>/<svc>`, the roles `<project>-<svc>-execution|task|codedeploy`, the log group
  `/ecs/<project>/<svc>`, the first task definition from `services/<svc>/taskdef.json` else the
  top-level `taskdef.json` (orchestrator.servicefiles, as the root's `taskdef_path`), the ECS service
  `<svc>` with the CODE_DEPLOY controller and the CodeDeploy application and deployment group `<project>-<svc>`;
- per service, when the project has modules/smoke-test-hook/src/handler.py: the smoke-test Lambda
  `<project>-<svc>-smoke-test` from that same handler (modules/smoke-test-hook with `smoke_test = {}`),
  its role, and the group's role allowed to invoke it. The ALB is not real, so its TEST_LISTENER_URL is
  `test_listener_url` when given (`sandbox up --test-listener-url`: a local server standing in for the
  test listener), else the ALB's URL, which answers nothing; `aws lambda update-function-configuration`
  changes it later, as on AWS.

The result has exactly the shape of `terraform output -json` of the root module. `GroupSettings`
holds the module variables a caller may vary (the Terraform defaults by default); the sandbox's own
tests build their stacks with it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.contract import SERVICE_KEYS, parse_outputs
from orchestrator.errors import InputError
from orchestrator.sandbox.provision_network import (
    CONTAINER_PORT,
    HEALTH_CHECK_PATH,
    TEST_LISTENER_PORT,
    Network,
    load_balancer,
    network,
    security_groups,
)
from orchestrator.sandbox.provision_unmanaged import unmanaged_service

# The image the Terraform root bootstraps the service with, before the first release.
BOOTSTRAP_IMAGE = "public.ecr.aws/nginx/nginx-unprivileged:stable-alpine"
LOG_RETENTION_DAYS = 365
DESIRED_COUNT = 2
TERMINATION_WAIT_MINUTES = 5
SMOKE_TIME_LIMIT_S = 120

EXECUTION_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
CODEDEPLOY_POLICY_ARN = "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS"

_ECR_LIFECYCLE = json.dumps(
    {
        "rules": [
            {
                "rulePriority": 1,
                "description": "Expire untagged images after 7 days",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": 7,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": "Keep the 30 most recent tagged images",
                "selection": {
                    "tagStatus": "tagged",
                    "tagPatternList": ["*"],
                    "countType": "imageCountMoreThan",
                    "countNumber": 30,
                },
                "action": {"type": "expire"},
            },
        ]
    }
)

# Terraform types a `{ for k, s in var.services : k => {...} }` output as an object (not a map), keyed
# by service, with attribute names sorted: `terraform output -json` says
# ["object", {"web": ["object", {"alb_dns_name": "string", ...}]}].
_SERVICE_TYPE: list[Any] = [
    "object",
    {k: ("number" if k == "container_port" else "string") for k in sorted(SERVICE_KEYS)},
]

# boto3 clients are slow to build (model loading) and provisioning runs before every test: keep one
# Aws per (endpoint, region) for the life of the process.
_AWS_CACHE: dict[tuple[str, str], Any] = {}
_AWS_LOCK = threading.Lock()


@dataclass(frozen=True)
class GroupSettings:
    """The service's and deployment group's settings (modules/ecs-service and modules/codedeploy
    variables); the defaults are the Terraform root's."""

    desired_count: int = DESIRED_COUNT
    deployment_config: str | None = "CodeDeployDefault.ECSAllAtOnce"  # None: the group names none
    ready_option: dict[str, Any] = field(
        default_factory=lambda: {"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 0}
    )
    termination_wait_minutes: int = TERMINATION_WAIT_MINUTES
    # The Terraform module drops DEPLOYMENT_STOP_ON_ALARM when the group has no alarms (the default).
    rollback_events: tuple[str, ...] = ("DEPLOYMENT_FAILURE",)  # empty: automatic rollback off
    test_traffic_route: bool = True


def _aws(endpoint: str, region: str) -> Any:
    from orchestrator.aws import Aws

    with _AWS_LOCK:
        key = (endpoint, region)
        if key not in _AWS_CACHE:
            # Few retries: the sandbox answers locally, and a failure here should surface quickly.
            _AWS_CACHE[key] = Aws(region, endpoint_url=endpoint, sandbox=True, max_attempts=3)
        return _AWS_CACHE[key]


def _trust(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def render_taskdef(text: str, values: dict[str, Any], source: str = "taskdef.json") -> dict[str, Any]:
    """Resolve `${name}` placeholders and return register_task_definition arguments.

    Placeholders resolve exactly as `orchestrator render` resolves them (orchestrator.taskdef), so the
    sandbox's first revision is what the product itself would register.
    """
    from orchestrator.taskdef import placeholder_names, resolve_placeholders, strip_read_only

    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    unknown = sorted(placeholder_names(doc) - set(values))
    if unknown:
        raise InputError(f"{source}: unknown placeholders {', '.join('${' + u + '}' for u in unknown)}")
    if not isinstance(doc, dict) or not doc.get("containerDefinitions"):
        raise InputError(f"{source}: expected a task definition with containerDefinitions")
    resolved = resolve_placeholders(strip_read_only(doc, source), {k: str(v) for k, v in values.items()}, source)
    return dict(resolved)


def _main_container(taskdef: dict[str, Any], port: int) -> str:
    """The container the load balancer targets: the one mapping the container port."""
    for container in taskdef["containerDefinitions"]:
        if any(pm.get("containerPort") == port for pm in container.get("portMappings", [])):
            return str(container["name"])
    return str(taskdef["containerDefinitions"][0]["name"])


def _role(iam: Any, name: str, principal: str, policy_arn: str | None) -> str:
    arn = str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(principal))["Role"]["Arn"])
    if policy_arn:
        iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    return arn


def _smoke_test(aws: Any, prefix: str, handler: bytes, url: str, codedeploy_role: str) -> str:
    """The smoke-test hook function as modules/smoke-test-hook makes it (its variables' defaults)."""
    from orchestrator import smoke_hook

    iam = aws.client("iam")
    name = f"{prefix}-smoke-test"
    role = _role(iam, name, "lambda.amazonaws.com", None)
    aws.client("lambda").create_function(
        FunctionName=name,
        Runtime=smoke_hook.RUNTIME,
        Role=role,
        Handler=smoke_hook.HANDLER_NAME,
        Code={"ZipFile": smoke_hook.package(handler)},
        Description=f"CodeDeploy AfterAllowTestTraffic smoke test of {prefix} through its test listener",
        Timeout=SMOKE_TIME_LIMIT_S + 30,
        MemorySize=128,
        Environment={
            "Variables": {
                "TEST_LISTENER_URL": url,
                "SMOKE_PATHS": HEALTH_CHECK_PATH,
                "EXPECTED_STATUS": "200",
                "RETRIES": "3",
                "RETRY_DELAY_S": "5",
                "TIME_LIMIT_S": str(SMOKE_TIME_LIMIT_S),
            }
        },
    )
    iam.put_role_policy(
        RoleName=codedeploy_role.rsplit("/", 1)[-1],
        PolicyName=f"{prefix}-hooks",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "InvokeHooks",
                        "Effect": "Allow",
                        "Action": "lambda:InvokeFunction",
                        "Resource": aws.client("lambda").get_function(FunctionName=name)["Configuration"][
                            "FunctionArn"
                        ],
                    }
                ],
            }
        ),
    )
    return name


def _service_args(
    project: str,
    key: str,
    taskdef_arn: str,
    settings: GroupSettings,
    net: Network,
    svc_sg: str,
    target: tuple[str, str],
) -> dict[str, Any]:
    """The CreateService request as modules/ecs-service makes it: Fargate, CODE_DEPLOY, behind the blue
    target group (the ECS-native variant starts from the same request)."""
    return dict(
        cluster=project,
        serviceName=key,
        taskDefinition=taskdef_arn,
        desiredCount=settings.desired_count,
        launchType="FARGATE",
        deploymentController={"type": "CODE_DEPLOY"},
        loadBalancers=[{"targetGroupArn": target[0], "containerName": target[1], "containerPort": CONTAINER_PORT}],
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": net.private,
                "securityGroups": [svc_sg],
                "assignPublicIp": "DISABLED",
            }
        },
        platformVersion="LATEST",
        healthCheckGracePeriodSeconds=30,
        enableECSManagedTags=True,
        propagateTags="SERVICE",
    )


def _deployment_group(
    codedeploy: Any, project: str, key: str, role_arn: str, listeners: dict[int, str], settings: GroupSettings
) -> None:
    """The CodeDeploy application and deployment group as modules/codedeploy makes them."""
    prefix = f"{project}-{key}"
    codedeploy.create_application(applicationName=prefix, computePlatform="ECS")
    route: dict[str, Any] = {
        "targetGroups": [{"name": f"{prefix}-blue"}, {"name": f"{prefix}-green"}],
        "prodTrafficRoute": {"listenerArns": [listeners[80]]},
    }
    if settings.test_traffic_route:
        route["testTrafficRoute"] = {"listenerArns": [listeners[TEST_LISTENER_PORT]]}
    group: dict[str, Any] = {
        "applicationName": prefix,
        "deploymentGroupName": prefix,
        "serviceRoleArn": role_arn,
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        "blueGreenDeploymentConfiguration": {
            "deploymentReadyOption": dict(settings.ready_option),
            "terminateBlueInstancesOnDeploymentSuccess": {
                "action": "TERMINATE",
                "terminationWaitTimeInMinutes": settings.termination_wait_minutes,
            },
        },
        "autoRollbackConfiguration": {
            "enabled": bool(settings.rollback_events),
            "events": list(settings.rollback_events),
        },
        "ecsServices": [{"clusterName": project, "serviceName": key}],
        "loadBalancerInfo": {"targetGroupPairInfoList": [route]},
    }
    if settings.deployment_config is not None:
        group["deploymentConfigName"] = settings.deployment_config
    codedeploy.create_deployment_group(**group)


def _service(
    aws: Any,
    region: str,
    project: str,
    key: str,
    net: Network,
    taskdef_text: str,
    taskdef_source: str,
    settings: GroupSettings,
    smoke_handler: bytes | None = None,
    test_listener_url: str | None = None,
    engine: str = "codedeploy",
) -> dict[str, Any]:
    ec2, elbv2, ecs = aws.client("ec2"), aws.client("elbv2"), aws.client("ecs")
    iam, logs, ecr, codedeploy = aws.client("iam"), aws.client("logs"), aws.client("ecr"), aws.client("codedeploy")
    prefix = f"{project}-{key}"
    port = CONTAINER_PORT

    alb_sg, svc_sg = security_groups(ec2, net, project, key)
    alb, tg_arns, listeners = load_balancer(elbv2, net, prefix, alb_sg)
    repo = ecr.create_repository(
        repositoryName=f"{project}/{key}",
        imageTagMutability="IMMUTABLE",
        imageScanningConfiguration={"scanOnPush": True},
        encryptionConfiguration={"encryptionType": "KMS"},
    )["repository"]
    ecr.put_lifecycle_policy(repositoryName=repo["repositoryName"], lifecyclePolicyText=_ECR_LIFECYCLE)

    execution_arn = _role(iam, f"{prefix}-execution", "ecs-tasks.amazonaws.com", EXECUTION_POLICY_ARN)
    task_arn = _role(iam, f"{prefix}-task", "ecs-tasks.amazonaws.com", None)
    codedeploy_arn = _role(iam, f"{prefix}-codedeploy", "codedeploy.amazonaws.com", CODEDEPLOY_POLICY_ARN)

    log_group = f"/ecs/{project}/{key}"
    logs.create_log_group(logGroupName=log_group)
    logs.put_retention_policy(logGroupName=log_group, retentionInDays=LOG_RETENTION_DAYS)

    values: dict[str, Any] = {
        "cluster_name": project,
        "service_name": key,
        "container_port": port,
        "codedeploy_app_name": prefix,
        "codedeploy_deployment_group_name": prefix,
        "ecr_repository_url": repo["repositoryUri"],
        "task_execution_role_arn": execution_arn,
        "task_role_arn": task_arn,
        "log_group_name": log_group,
        "prod_listener_arn": listeners[80],
        "test_listener_arn": listeners[TEST_LISTENER_PORT],
        "blue_target_group_name": f"{prefix}-blue",
        "green_target_group_name": f"{prefix}-green",
        "alb_dns_name": alb["DNSName"],
    }
    # The container name comes from the task definition itself; render once to learn it, then again
    # with it known (a taskdef may reference ${container_name}).
    first = render_taskdef(taskdef_text, {**values, "container_name": "", "aws_region": region, "image": ""})
    values["container_name"] = _main_container(first, port)
    taskdef = render_taskdef(
        taskdef_text, {**values, "aws_region": region, "image": BOOTSTRAP_IMAGE}, source=taskdef_source
    )
    taskdef_arn = ecs.register_task_definition(**taskdef)["taskDefinition"]["taskDefinitionArn"]

    service_args = _service_args(
        project, key, taskdef_arn, settings, net, svc_sg, (tg_arns["blue"], values["container_name"])
    )
    if engine == "ecs":  # ECS's own blue/green instead of CodeDeploy (ecs_deployments/provision.py)
        from orchestrator.sandbox.ecs_deployments.provision import ecs_native_service

        wiring = {"listeners": {"prod": listeners[80], "test": listeners[TEST_LISTENER_PORT]}, "target_groups": tg_arns}
        values.update(ecs_native_service(aws, prefix, service_args, wiring))
        return {k: values[k] for k in SERVICE_KEYS}
    ecs.create_service(**service_args)

    _deployment_group(codedeploy, project, key, codedeploy_arn, listeners, settings)
    values["smoke_test_function_name"] = ""
    if smoke_handler is not None:
        url = test_listener_url or f"http://{alb['DNSName']}:{TEST_LISTENER_PORT}"
        values["smoke_test_function_name"] = _smoke_test(aws, prefix, smoke_handler, url, codedeploy_arn)
    values.update(deployment_engine="codedeploy", prod_listener_rule_arn="", test_listener_rule_arn="")
    values["ecs_infrastructure_role_arn"] = ""
    return {k: values[k] for k in SERVICE_KEYS}


def outputs_document(region: str, services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Wrap plain values the way `terraform output -json` of terraform/ does (keys sorted, as it prints them).

    The root's third output, ci_deploy_role_arn, is null without a CI role and Terraform then leaves it
    out of `terraform output -json`; the sandbox has no CI role either.
    """
    keys = sorted(services)
    return {
        "aws_region": {"sensitive": False, "type": "string", "value": region},
        "services": {
            "sensitive": False,
            "type": ["object", {k: _SERVICE_TYPE for k in keys}],
            "value": {k: {attr: services[k][attr] for attr in sorted(services[k])} for k in keys},
        },
    }


def service_taskdefs(project_root: Path, services: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """Each service's first task definition template as (text, source): `services/<key>/taskdef.json`,
    else the top-level `taskdef.json` (orchestrator.servicefiles, as the Terraform root's `taskdef_path`
    defaults), every one read and checked before the first write."""
    from orchestrator.servicefiles import SERVICES_DIR, TASKDEF, service_files

    placeholders = {k: "x" for k in (*SERVICE_KEYS, "aws_region", "image")} | {"container_port": CONTAINER_PORT}
    found: dict[str, tuple[str, str]] = {}
    for key in services:
        path = service_files(key, Path(project_root)).taskdef
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise InputError(
                f"{path}: no such file",
                hint=f"provisioning registers each service's first task definition from {SERVICES_DIR}/{key}/{TASKDEF} "
                f"or the top-level {TASKDEF}",
            ) from None
        # A bad template is found before the first write, not half-way through the stack.
        render_taskdef(text, placeholders, source=str(path))
        found[key] = (text, str(path))
    return found


def provision(
    endpoint: str,
    region: str,
    project_root: Path,
    project: str = "demo",
    services: tuple[str, ...] = ("web",),
    settings: GroupSettings | None = None,
    test_listener_url: str | None = None,
    engines: dict[str, str] | None = None,
    unmanaged: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Create the stack for `services` on a fresh sandbox and return the outputs document; `engines`:
    service key -> "codedeploy" (default) or "ecs" (ECS's own blue/green, ecs_deployments/provision.py);
    `unmanaged` names rolling services made beside it that the outputs do not list (provision_unmanaged.py)."""
    if not services:
        raise InputError("provision: at least one service is needed")
    clash = sorted(set(unmanaged) & set(services))
    if clash:
        raise InputError(f"--unmanaged-service {clash[0]!r}: the stack's own service has that name; choose another")
    taskdefs = service_taskdefs(Path(project_root), services)

    from orchestrator import smoke_hook

    handler_path = Path(project_root) / smoke_hook.HANDLER
    smoke_handler = handler_path.read_bytes() if handler_path.is_file() else None
    if test_listener_url is not None and not test_listener_url.startswith(("http://", "https://")):
        raise InputError(f"--test-listener-url {test_listener_url!r}: expected an http(s):// URL")

    aws = _aws(endpoint, region)
    net = network(aws.client("ec2"), region, project)
    aws.client("ecs").create_cluster(clusterName=project, settings=[{"name": "containerInsights", "value": "enabled"}])
    settings = settings or GroupSettings()
    values = {
        key: _service(
            aws,
            region,
            project,
            key,
            net,
            *taskdefs[key],
            settings,
            smoke_handler,
            test_listener_url,
            engine=(engines or {}).get(key, "codedeploy"),
        )
        for key in services
    }
    for name in unmanaged:
        unmanaged_service(aws, region, project, name, net, BOOTSTRAP_IMAGE, EXECUTION_POLICY_ARN)
    doc = outputs_document(region, values)
    parse_outputs(doc, "sandbox outputs")  # the contract the orchestrator reads; fail here, not later
    return doc

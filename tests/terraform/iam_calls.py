"""What each AWS call asks IAM: the action, the resource it acts on and the request context, per the
Service Authorization Reference (parliament's copy, iam_definition.json).

Calls are recorded where they are made:
- the CLI's, by a recording proxy between `orchestrator` subprocesses and the sandbox (RecordingProxy);
- CodeDeploy's own (the engine acting with the deployment group's service role), by recording the
  moto backend methods the in-process sandbox engine calls on its thread (EngineCalls);
- the hook functions' reports, from the sandbox's request counts less what the proxy saw.

An action with no resource type in the reference is evaluated on "*"; one with a resource type must
name a resource whose ARN the reference's ARN format for that type accepts (checked here with
parliament's matcher), or the test fails asking for an extractor below.
"""

from __future__ import annotations

import http.client
import inspect
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import parliament
from iam_eval import Request

ACCOUNT, REGION, PARTITION = "123456789012", "eu-west-1", "aws"
# SigV4 signing names whose IAM prefix differs.
_PREFIX = {"elasticloadbalancing": "elasticloadbalancing", "monitoring": "cloudwatch", "email": "ses"}


@dataclass(frozen=True)
class Call:
    """One AWS API call: IAM action ("service:Action") and its parameters (JSON protocol; the query
    protocol's flattened form otherwise)."""

    action: str
    params: dict[str, Any] = field(default_factory=dict, compare=False)
    caller: str = "cli"


# --- the Service Authorization Reference -------------------------------------------------------

_SAR = {s["prefix"]: s for s in parliament.iam_definition}


def resource_types(action: str) -> list[tuple[str, str, bool]]:
    """(resource type, ARN format, required) of `action` per the reference; [] when it lists none."""
    service, name = action.split(":", 1)
    privileges = {p["privilege"].lower(): p for p in _SAR[service]["privileges"]}
    privilege = privileges.get(name.lower())
    if privilege is None:
        raise KeyError(f"{action} is not in the Service Authorization Reference copy (parliament)")
    arns = {r["resource"]: r["arn"] for r in _SAR[service]["resources"]}
    out = []
    for r in privilege["resource_types"]:
        kind = r["resource_type"]
        if kind:
            base = kind.rstrip("*")
            out.append((base, arns[base], kind.endswith("*")))
    return out


def matches_format(action: str, arn: str) -> bool:
    """Whether `arn` is of one of the action's resource types (the format's ${Variables} match anything)."""
    return any(
        parliament.is_arn_match(kind, re.sub(r"\$\{[^}]*\}", "*", fmt), arn) for kind, fmt, _ in resource_types(action)
    )


# --- resources and context from a call's parameters --------------------------------------------


class Names:
    """The sandbox's names of things mapped to the applied stack's (through the outputs contract), so
    that ARNs built from a sandbox call name the applied stack's resources."""

    def __init__(self, mapping: dict[str, str], deployments: Callable[[str], tuple[str, str]]) -> None:
        self.mapping = mapping
        self.deployments = deployments  # deployment id -> (application, group), from the sandbox

    def __call__(self, name: str) -> str:
        return self.mapping.get(name, name)

    def arn(self, service: str, resource: str, region: str = REGION) -> str:
        return f"arn:{PARTITION}:{service}:{region}:{ACCOUNT}:{resource}"

    def cluster(self, value: str | None) -> str:
        name = (value or "default").rsplit("/", 1)[-1]
        return self.arn("ecs", f"cluster/{self(name)}")

    def group(self, deployment_id: str) -> str:
        app, group = self.deployments(deployment_id)
        return self.arn("codedeploy", f"deploymentgroup:{self(app)}/{self(group)}")


def _task(names: Names, cluster_arn: str, task: str) -> str:
    task_id = task.rsplit("/", 1)[-1]
    return names.arn("ecs", f"task/{cluster_arn.rsplit('/', 1)[-1]}/{task_id}")


def _taskdef(names: Names, value: str) -> str:
    family_rev = value.rsplit("/", 1)[-1]
    family, _, rev = family_rev.partition(":")
    return names.arn("ecs", f"task-definition/{names(family)}:{rev or '*'}")


Extract = Callable[[dict[str, Any], Names], list[tuple[str, dict[str, Any]]]]


def _ecr(p: dict[str, Any], n: Names) -> list[tuple[str, dict[str, Any]]]:
    return [(n.arn("ecr", f"repository/{n(p['repositoryName'])}"), {})]


def _group_of_params(p: dict[str, Any], n: Names) -> list[tuple[str, dict[str, Any]]]:
    return [(n.arn("codedeploy", f"deploymentgroup:{n(p['applicationName'])}/{n(p['deploymentGroupName'])}"), {})]


def _ecs_cluster_scoped(p: dict[str, Any], n: Names) -> list[tuple[str, dict[str, Any]]]:
    cluster = n.cluster(p.get("cluster"))
    tasks = p.get("tasks") or ([p["task"]] if "task" in p else [])
    if tasks:
        return [(_task(n, cluster, t), {"ecs:cluster": cluster}) for t in tasks]
    return [("*", {"ecs:cluster": cluster})]  # ListTasks without a container instance


def _describe_services(p: dict[str, Any], n: Names) -> list[tuple[str, dict[str, Any]]]:
    cluster = n.cluster(p.get("cluster"))
    name = cluster.rsplit("/", 1)[-1]
    return [
        (n.arn("ecs", f"service/{name}/{n(s.rsplit('/', 1)[-1])}"), {"ecs:cluster": cluster}) for s in p["services"]
    ]


def _run_task(p: dict[str, Any], n: Names) -> list[tuple[str, dict[str, Any]]]:
    return [(_taskdef(n, p["taskDefinition"]), {"ecs:cluster": n.cluster(p.get("cluster"))})]


EXTRACTORS: dict[str, Extract] = {
    **{
        f"ecr:{a}": _ecr
        for a in (
            "DescribeImages",
            "BatchGetImage",
            "BatchCheckLayerAvailability",
            "PutImage",
            "InitiateLayerUpload",
            "UploadLayerPart",
            "CompleteLayerUpload",
            "GetDownloadUrlForLayer",
        )
    },
    "ecs:DescribeClusters": lambda p, n: [(n.cluster(c), {}) for c in p.get("clusters") or ["default"]],
    "ecs:DescribeServices": _describe_services,
    "ecs:DescribeTasks": _ecs_cluster_scoped,
    "ecs:ListTasks": _ecs_cluster_scoped,
    "ecs:StopTask": _ecs_cluster_scoped,
    "ecs:RunTask": _run_task,
    "ecs:RegisterTaskDefinition": lambda p, n: [(_taskdef(n, p["family"]), {})],
    "logs:GetLogEvents": lambda p, n: [
        (n.arn("logs", f"log-group:{n(p['logGroupName'])}:log-stream:{p['logStreamName']}"), {})
    ],
    "codedeploy:CreateDeployment": _group_of_params,
    "codedeploy:ListDeployments": _group_of_params,
    "codedeploy:GetDeploymentGroup": _group_of_params,
    "codedeploy:GetDeployment": lambda p, n: [(n.group(p["deploymentId"]), {})],
    "codedeploy:BatchGetDeployments": lambda p, n: [(n.group(d), {}) for d in p["deploymentIds"]],
    "codedeploy:GetApplication": lambda p, n: [(n.arn("codedeploy", f"application:{n(p['applicationName'])}"), {})],
    "codedeploy:GetApplicationRevision": lambda p, n: [
        (n.arn("codedeploy", f"application:{n(p['applicationName'])}"), {})
    ],
    "codedeploy:RegisterApplicationRevision": lambda p, n: [
        (n.arn("codedeploy", f"application:{n(p['applicationName'])}"), {})
    ],
    "codedeploy:GetDeploymentConfig": lambda p, n: [
        (n.arn("codedeploy", f"deploymentconfig:{p['deploymentConfigName']}"), {})
    ],
    # CodeDeploy's own calls (EngineCalls records these parameters).
    "ecs:UpdateServicePrimaryTaskSet": lambda p, n: [
        (n.arn("ecs", f"service/{n(p['cluster'])}/{n(p['service'])}"), {"ecs:cluster": n.cluster(p["cluster"])})
    ],
    "ecs:DeleteTaskSet": lambda p, n: [
        (
            n.arn("ecs", f"task-set/{n(p['cluster'])}/{n(p['service'])}/{p['taskSet'].rsplit('/', 1)[-1]}"),
            {
                "ecs:cluster": n.cluster(p["cluster"]),
                "ecs:service": n.arn("ecs", f"service/{n(p['cluster'])}/{n(p['service'])}"),
            },
        )
    ],
    "elasticloadbalancing:ModifyListener": lambda p, n: [(p["ListenerArn"], {})],
    "lambda:InvokeFunction": lambda p, n: [(n.arn("lambda", f"function:{n(p['FunctionName'])}"), {})],
}

# Context keys a call carries whatever its resource (the ones our policies' conditions test).
CONTEXT: dict[str, Callable[[dict[str, Any], Names], dict[str, Any]]] = {
    "ecs:CreateTaskSet": lambda p, n: {
        "ecs:cluster": n.cluster(p["cluster"]),
        "ecs:service": n.arn("ecs", f"service/{n(p['cluster'])}/{n(p['service'])}"),
    },
}

# Calls whose parameters name roles the service will use: each is an iam:PassRole by the caller.
PASSED_ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "ecs:RegisterTaskDefinition": ("ecs-tasks.amazonaws.com", ("executionRoleArn", "taskRoleArn")),
    "ecs:CreateTaskSet": ("ecs-tasks.amazonaws.com", ("executionRoleArn", "taskRoleArn")),
}


def requests_of(call: Call, names: Names) -> list[Request]:
    """What IAM evaluates for `call`: the action on each resource it acts on, plus the PassRoles."""
    kinds = resource_types(call.action)
    if not kinds:
        extra = CONTEXT.get(call.action, lambda p, n: {})(call.params, names)
        out = [Request(call.action, "*", extra)]
    else:
        extract = EXTRACTORS.get(call.action)
        if extract is None:
            raise KeyError(f"{call.action} acts on {[k for k, _, _ in kinds]}: add an extractor to iam_calls.py")
        out = []
        for arn, context in extract(call.params, names):
            if arn != "*" and not matches_format(call.action, arn):
                raise AssertionError(f"{call.action}: {arn} does not fit the reference's ARN formats {kinds}")
            out.append(Request(call.action, arn, context))
    service, (*keys,) = PASSED_ROLES.get(call.action, ("", ()))
    for key in keys:
        role = call.params.get(key)
        if role:
            out.append(Request("iam:PassRole", names(role), {"iam:PassedToService": service}))
    return out


# --- recording the CLI's calls: a proxy in front of the sandbox ---------------------------------


def _iam_action(headers: Any, path: str, query: str, body: bytes) -> tuple[str, dict[str, Any]] | None:
    auth = headers.get("Authorization", "")
    if "Credential=" not in auth:
        return None
    signing = auth.split("Credential=", 1)[1].split("/")[3]
    prefix = _PREFIX.get(signing, signing)
    target = headers.get("X-Amz-Target", "")
    if target:
        return f"{prefix}:{target.rsplit('.', 1)[-1]}", json.loads(body or b"{}")
    form = {k: v[0] for k, v in parse_qs(query).items()}
    if "x-www-form-urlencoded" in headers.get("Content-Type", ""):
        form.update({k: v[0] for k, v in parse_qs(body.decode()).items()})
    if "Action" in form:
        return f"{prefix}:{form['Action']}", form
    return f"{prefix}:REST {path}", {}


class RecordingProxy:
    """An HTTP proxy on 127.0.0.1 that forwards everything to `target` and records AWS calls."""

    def __init__(self, target: str) -> None:
        self.target = urlsplit(target)
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path, _, query = self.path.partition("?")
                if not path.startswith("/_sandbox"):
                    found = _iam_action(self.headers, path, query, body)
                    if found is not None:
                        with proxy._lock:
                            proxy.calls.append(Call(found[0], found[1]))
                conn = http.client.HTTPConnection(proxy.target.hostname or "127.0.0.1", proxy.target.port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                self.send_response(response.status, response.reason)
                for k, v in response.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="iam-proxy", daemon=True)

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- recording CodeDeploy's own calls: the engine's moto backend calls on its thread -------------


@contextmanager
def engine_calls(engine_thread: str = "sandbox-engine") -> Iterator[list[Call]]:
    """Calls the sandbox's CodeDeploy engine makes for a deployment (as CodeDeploy does with the
    group's service role), recorded from the moto backend methods it uses, on its own thread."""
    from moto.awslambda.models import LambdaBackend
    from moto.ecs.models import EC2ContainerServiceBackend
    from moto.elbv2.models import ELBv2Backend

    calls: list[Call] = []

    def on_engine() -> bool:
        return threading.current_thread().name == engine_thread

    def td_roles(backend: Any, task_definition: str) -> dict[str, Any]:
        td = backend.describe_task_definition(task_definition)
        return {"executionRoleArn": td.execution_role_arn, "taskRoleArn": td.task_role_arn}

    def wrap(cls: Any, method: str, record: Callable[[Any, dict[str, Any]], Call]) -> Callable[[], None]:
        original = getattr(cls, method)
        signature = inspect.signature(original)

        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if on_engine():
                calls.append(record(self, signature.bind(self, *args, **kwargs).arguments))
            return original(self, *args, **kwargs)

        setattr(cls, method, wrapper)
        return lambda: setattr(cls, method, original)

    def create_task_set(b: Any, a: dict[str, Any]) -> Call:
        td = a["task_definition"]
        params = {"cluster": a["cluster_str"], "service": a["service"], "taskDefinition": td, **td_roles(b, td)}
        return Call("ecs:CreateTaskSet", params, "codedeploy")

    def function_name(name: str) -> str:
        return name.split(":")[6] if name.startswith("arn:") else name

    ecs, elb, fn = EC2ContainerServiceBackend, ELBv2Backend, LambdaBackend
    undo = [
        wrap(ecs, "create_task_set", create_task_set),
        wrap(
            ecs,
            "update_service_primary_task_set",
            lambda b, a: Call(
                "ecs:UpdateServicePrimaryTaskSet", {"cluster": a["cluster"], "service": a["service"]}, "codedeploy"
            ),
        ),
        wrap(
            ecs,
            "delete_task_set",
            lambda b, a: Call(
                "ecs:DeleteTaskSet",
                {"cluster": a["cluster"], "service": a["service"], "taskSet": a["task_set"]},
                "codedeploy",
            ),
        ),
        wrap(
            elb,
            "modify_listener",
            lambda b, a: Call("elasticloadbalancing:ModifyListener", {"ListenerArn": a["arn"]}, "codedeploy"),
        ),
        # The engine looks the hook function up to invoke it (hooks.py): CodeDeploy's lambda:InvokeFunction.
        wrap(
            fn,
            "get_function",
            lambda b, a: Call(
                "lambda:InvokeFunction", {"FunctionName": function_name(a["function_name_or_arn"])}, "codedeploy"
            ),
        ),
    ]
    try:
        yield calls
    finally:
        for u in undo:
            u()

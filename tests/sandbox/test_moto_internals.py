"""Fails loudly when the moto internals the sandbox engine extends change (a moto upgrade).

Checked in a fresh interpreter, against moto as shipped (before our patches are installed).
"""

from __future__ import annotations

import json
import subprocess
import sys

CHECK = r"""
import importlib, inspect, json
import moto
from orchestrator.sandbox import moto_ext

problems = []
if moto.__version__ != moto_ext.MOTO_VERSION:
    problems.append(f"moto {moto.__version__} installed, the engine extends {moto_ext.MOTO_VERSION}")

def resolve(dotted):
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for name in parts[i:]:
            obj = inspect.getattr_static(obj, name) if inspect.isclass(obj) else getattr(obj, name)
        return obj
    raise ImportError(dotted)

for dotted, params in moto_ext.INTERNALS.items():
    try:
        obj = resolve(dotted)
    except (ImportError, AttributeError) as exc:
        problems.append(f"{dotted}: missing ({exc})")
        continue
    if params is None:
        continue
    func = obj.__func__ if isinstance(obj, (staticmethod, classmethod)) else obj
    try:
        found = tuple(inspect.signature(func).parameters)
    except (TypeError, ValueError) as exc:
        problems.append(f"{dotted}: no signature ({exc})")
        continue
    if found != tuple(params):
        problems.append(f"{dotted}: parameters {found}, the engine expects {tuple(params)}")

from moto.codedeploy.responses import CodeDeployResponse
for name in moto_ext.ADDED_ACTIONS:
    if hasattr(CodeDeployResponse, name):
        problems.append(f"moto now implements CodeDeployResponse.{name}: review our replacement")

# Model attributes, on real instances made by moto's own backends.
from moto.codedeploy.models import codedeploy_backends
from moto.ec2.models import ec2_backends
from moto.ecs.models import ecs_backends
from moto.elbv2.models import elbv2_backends
acct, region = "123456789012", "eu-west-1"
ec2 = ec2_backends[acct][region]
vpc = ec2.create_vpc("10.0.0.0/16")
subnet = ec2.create_subnet(vpc.id, "10.0.1.0/24", availability_zone="eu-west-1a")
elbv2 = elbv2_backends[acct][region]
lb = elbv2.create_load_balancer("lb", [], subnet_ids=[subnet.id])
tg = elbv2.create_target_group("tg", vpc_id=vpc.id, protocol="HTTP", port="80", target_type="ip")
listener = elbv2.create_listener(lb.arn, "HTTP", "80", None, None, [{"Type": "forward", "TargetGroupArn": tg.arn}])
ecs = ecs_backends[acct][region]
ecs.create_cluster("c")
td = ecs.register_task_definition("f", [{"name": "web", "image": "x", "cpu": 1, "memory": 1}], network_mode="awsvpc")
service = ecs.create_service("c", "s", 1, td.arn, deployment_controller={"type": "CODE_DEPLOY"})
task_set = ecs.create_task_set("s", "c", td.arn)
cd = codedeploy_backends[acct][region]
cd.create_application("a", "ECS", [])
cd.create_deployment_group("a", "g", None, None, None, None, "arn:aws:iam::123456789012:role/r")
deployment = cd.get_deployment(cd.create_deployment("a", "g", {"revisionType": "String"}))
objects = {
    "DeploymentInfo": deployment,
    "DeploymentGroup": deployment.deployment_group,
    "Service": service,
    "TaskSet": task_set,
    "FakeListener": listener,
    "FakeAction": listener.default_actions[0],
    "EC2ContainerServiceBackend": ecs,
    "CodeDeployBackend": cd,
}
for kind, names in moto_ext.MODEL_ATTRIBUTES.items():
    for name in names:
        if not hasattr(objects[kind], name):
            problems.append(f"{kind}.{name}: missing")
print(json.dumps(problems))
"""


def test_moto_internals_the_engine_extends_are_unchanged() -> None:
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    problems = json.loads(done.stdout.strip().splitlines()[-1])
    assert problems == [], "moto internals changed:\n" + "\n".join(problems)

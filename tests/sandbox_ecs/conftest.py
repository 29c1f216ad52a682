"""An ECS-native stack per test on the shared sandbox server (tests/conftest.py's `sandbox_server`):
the product's provisioning with `engines={"web": "ecs"}` under a unique project name, so tests share the
server without resetting it; and the calls the tests make on the stack."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from support.clients import REGION, client
from support.stack import REPO_ROOT, task_definition

from orchestrator.sandbox.control import SandboxControl

FINISHED = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")


@dataclass
class EcsStack:
    endpoint: str
    project: str
    outputs: dict[str, Any]
    blue_tg: str
    green_tg: str
    family: str
    clients: dict[str, Any] = field(default_factory=dict)

    @property
    def cluster(self) -> str:
        return str(self.outputs["cluster_name"])

    @property
    def service(self) -> str:
        return str(self.outputs["service_name"])

    @property
    def prod_rule(self) -> str:
        return str(self.outputs["prod_listener_rule_arn"])

    @property
    def test_rule(self) -> str:
        return str(self.outputs["test_listener_rule_arn"])

    def c(self, name: str) -> Any:
        if name not in self.clients:
            self.clients[name] = client(self.endpoint, name)
        return self.clients[name]

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return SandboxControl(self.endpoint)._call(method, path, body)

    def register(self, image: str = "nginx:2") -> str:
        td = self.c("ecs").register_task_definition(**task_definition(self.family, image))
        return str(td["taskDefinition"]["taskDefinitionArn"])

    def describe_service(self) -> dict[str, Any]:
        return dict(self.c("ecs").describe_services(cluster=self.cluster, services=[self.service])["services"][0])

    def configure(self, **config: Any) -> None:
        """UpdateService with this deploymentConfiguration (no new revision: no deployment)."""
        self.c("ecs").update_service(cluster=self.cluster, service=self.service, deploymentConfiguration=config)

    def deploy(self, image: str = "nginx:2", **config: Any) -> str:
        """UpdateService(taskDefinition=...) and the service deployment it started."""
        params: dict[str, Any] = {
            "cluster": self.cluster,
            "service": self.service,
            "taskDefinition": self.register(image),
        }
        if config:
            params["deploymentConfiguration"] = config
        service = self.c("ecs").update_service(**params)["service"]
        return str(service["currentServiceDeployment"])

    def deployment(self, arn: str) -> dict[str, Any]:
        found = self.c("ecs").describe_service_deployments(serviceDeploymentArns=[arn])
        return dict(found["serviceDeployments"][0])

    def wait(self, arn: str, until: Any = None, timeout: float = 30.0) -> dict[str, Any]:
        """Poll until `until(deployment)` (default: finished) holds."""
        check = until or (lambda d: d["status"] in FINISHED)
        deadline = time.monotonic() + timeout
        while True:
            dep = self.deployment(arn)
            if check(dep):
                return dep
            if time.monotonic() > deadline:
                raise AssertionError(f"deployment {arn}: {dep['status']} at {dep.get('lifecycleStage')}")
            time.sleep(0.02)

    def rule_weights(self, rule: str) -> dict[str, int]:
        actions = self.c("elbv2").describe_rules(RuleArns=[rule])["Rules"][0]["Actions"]
        groups = actions[0]["ForwardConfig"]["TargetGroups"]
        return {g["TargetGroupArn"]: int(g["Weight"]) for g in groups}

    def trail(self, arn: str) -> list[str]:
        return [s["stage"] for s in self.control("GET", "/ecs/deployments")[arn]["stages"]]


def make_ecs_stack(endpoint: str) -> EcsStack:
    from orchestrator.sandbox.provision import provision

    project = "e" + uuid.uuid4().hex[:7]
    outputs = provision(endpoint, REGION, REPO_ROOT, project=project, services=("web",), engines={"web": "ecs"})
    svc = outputs["services"]["value"]["web"]
    elbv2, ecs = client(endpoint, "elbv2"), client(endpoint, "ecs")
    blue, green = (
        elbv2.describe_target_groups(Names=[svc[k]])["TargetGroups"][0]["TargetGroupArn"]
        for k in ("blue_target_group_name", "green_target_group_name")
    )
    service = ecs.describe_services(cluster=svc["cluster_name"], services=[svc["service_name"]])["services"][0]
    family = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]["family"]
    return EcsStack(endpoint, project, svc, blue, green, family)


@pytest.fixture
def ecs_stack(sandbox_server: Any) -> Iterator[EcsStack]:
    stack = make_ecs_stack(str(sandbox_server.endpoint))
    yield stack
    # Each stack's service is named web: its faults and hook rules must not outlive the test.
    stack.control("DELETE", "/ecs/faults")


@pytest.fixture
def sandbox_ecs(sandbox_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """tests/conftest.py's `sandbox` with its service `web` provisioned ECS-native (deployment_engine ecs):
    for the real CLI (`sandbox_ecs.cli(...)`) against the sandbox."""
    return _env(sandbox_server, tmp_path_factory, ("web",), {"web": "ecs"})


@pytest.fixture
def sandbox_mixed(sandbox_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Two services: `web` through CodeDeploy, `api` ECS-native (a release may mix engines)."""
    return _env(sandbox_server, tmp_path_factory, ("web", "api"), {"api": "ecs"})


def _env(
    sandbox_server: Any, tmp_path_factory: pytest.TempPathFactory, services: tuple[str, ...], engines: dict[str, str]
) -> Any:
    import json
    import os
    from dataclasses import asdict

    from support.sandboxenv import REGION as SANDBOX_REGION
    from support.sandboxenv import SandboxEnv

    from orchestrator.sandbox.provision import provision
    from orchestrator.sandbox.state import SandboxInfo

    state_dir = tmp_path_factory.mktemp("sandbox-ecs")
    env = SandboxEnv(
        endpoint=sandbox_server.endpoint,
        region=SANDBOX_REGION,
        outputs_path=state_dir / "outputs.json",
        sandbox_dir=state_dir,
        control=SandboxControl(sandbox_server.endpoint),
        server=sandbox_server,
        time_scale=sandbox_server.time_scale,
    )
    sandbox_server.reset()
    env.control.clear_faults()
    env.control.time_scale(env.time_scale)
    outputs = provision(env.endpoint, env.region, env.repo_root, project="demo", services=services, engines=engines)
    env.outputs_path.write_text(json.dumps(outputs, indent=2) + "\n")
    info = SandboxInfo(
        pid=os.getpid(),
        port=int(sandbox_server.port),
        endpoint=sandbox_server.endpoint,
        region=SANDBOX_REGION,
        time_scale=float(sandbox_server.time_scale),
    )
    (state_dir / "server.json").write_text(json.dumps(asdict(info), indent=2) + "\n")
    env.control.reset_requests()
    return env

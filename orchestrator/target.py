"""The release target, resolved once from the CLI's options: the outputs, the service, AWS clients, and
whether (and which) embedded sandbox it is.

"Is this the sandbox?" is decided here and nowhere else: `--sandbox`, or an endpoint
(`AWS_ENDPOINT_URL`, as `orchestrator sandbox env` sets it) equal to the running sandbox's. The target
carries what the domain needs from the sandbox (its time scale, its local registry), so that the
domain never imports `orchestrator.sandbox`; this module is the one domain module that may.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.aws import Aws
from orchestrator.contract import load_outputs_file, merge_outputs, parse_outputs
from orchestrator.errors import InputError
from orchestrator.images import check_repository
from orchestrator.settings import choose_env
from orchestrator.terraform import ecs_native_output_json, output_json

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.contract import Outputs, ServiceOutputs
    from orchestrator.sandbox.state import SandboxInfo


@dataclass
class Target:
    """What a command acts on: the outputs, the chosen service, AWS clients for its region, and the
    sandbox when the endpoint is the embedded sandbox's (None on AWS or another endpoint)."""

    outputs: Outputs
    service_key: str
    service: ServiceOutputs
    aws: Aws
    sandbox: SandboxInfo | None = None

    @property
    def time_scale(self) -> float | None:
        """The endpoint's clock against AWS's: the sandbox's scale, 1.0 on AWS, None for some other
        endpoint (an emulator whose clock is unknown)."""
        return self.aws.time_scale

    @property
    def sandbox_registry(self) -> bool:
        """Images go to the sandbox's local registry: the outputs are the sandbox's own (--sandbox). With
        only its endpoint (AWS_ENDPOINT_URL), the outputs name the ECR repository to push to."""
        return self.aws.sandbox


def _endpoint_sandbox(endpoint: str | None) -> SandboxInfo | None:
    """The running sandbox when `endpoint` (or AWS_ENDPOINT_URL) is its endpoint."""
    from orchestrator.sandbox.state import load_info

    endpoint = endpoint or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        return None
    info = load_info()
    if info is None or endpoint.rstrip("/") != info.endpoint.rstrip("/"):
        return None
    return info


def load_outputs(
    terraform_dir: Path, env: str | None, outputs_file: Path | None, sandbox: bool
) -> tuple[Outputs, SandboxInfo | None]:
    """The outputs, and the sandbox when --sandbox names it (its outputs and endpoint)."""

    if sandbox and outputs_file is not None:
        # Before: the file was silently ignored and the release went to the sandbox's own stack.
        raise InputError(
            "--sandbox and --outputs-file exclude each other",
            hint="--sandbox uses the running sandbox's own outputs; drop one of them",
        )
    if sandbox:
        from orchestrator.sandbox.state import load_info

        info = load_info()
        if info is None:
            raise InputError("the sandbox is not running", hint="start it with `orchestrator sandbox up`")
        return load_outputs_file(info.outputs_path), info
    if outputs_file is not None:
        return load_outputs_file(outputs_file), None

    env = choose_env(terraform_dir, env)
    outputs = parse_outputs(output_json(terraform_dir, env), f"terraform output ({terraform_dir})")
    # The ECS-native root beside it (terraform/ecs-native), once in use: its services are released by ECS.
    ecs_native = ecs_native_output_json(terraform_dir, env)
    if ecs_native is not None:
        root, raw = ecs_native
        outputs = merge_outputs(outputs, parse_outputs(raw, f"terraform output ({root})"))
    return outputs, None


def resolve_target(
    terraform_dir: Path,
    env: str | None,
    outputs_file: Path | None,
    sandbox: bool,
    service: str | None,
) -> Target:
    """The target the options name, with the sandbox decided once (--sandbox, or its endpoint)."""
    outputs, info = load_outputs(terraform_dir, env, outputs_file, sandbox)
    return _target(outputs, outputs.service(service)[0], info, sandbox)


def _target(outputs: Outputs, key: str, info: SandboxInfo | None, sandbox: bool) -> Target:

    svc = outputs.services[key]
    endpoint = info.endpoint if info is not None else None
    if info is None:
        info = _endpoint_sandbox(None)
    if info is not None:
        scale: float | None = float(info.time_scale)
    else:
        scale = None if os.environ.get("AWS_ENDPOINT_URL") else 1.0
    aws = Aws(outputs.aws_region, endpoint_url=endpoint, sandbox=sandbox, time_scale=scale)
    return Target(outputs, key, svc, aws, info)


def resolve_targets(
    terraform_dir: Path,
    env: str | None,
    outputs_file: Path | None,
    sandbox: bool,
    services: list[str],
    every: bool,
) -> list[Target]:
    """One target per service (--service repeated, --all), sharing the outputs and the AWS clients."""
    if not every and len(services) == 1:
        return [resolve_target(terraform_dir, env, outputs_file, sandbox, services[0])]
    outputs, info = load_outputs(terraform_dir, env, outputs_file, sandbox)
    keys = outputs.select(services, every)
    first = _target(outputs, keys[0], info, sandbox)
    return [first, *(replace(first, service_key=k, service=outputs.services[k]) for k in keys[1:])]


def sandbox_repository(ecr_url: str) -> tuple[str, bool]:
    """(repository, login) for the sandbox: the ECR repository's path on the sandbox's local registry.

    Starts the registry when needed and records it in the sandbox state. The login still runs: its
    token comes from the sandbox's GetAuthorizationToken.
    """
    from orchestrator.sandbox.registry import ensure_registry, running_registry
    from orchestrator.sandbox.state import load_info, sandbox_dir, save_info

    home = sandbox_dir()
    addr = running_registry(home) or ensure_registry(home)
    if addr is None:
        raise InputError(
            "the sandbox has no local registry to push to: docker-registry is not installed",
            hint="apt-get install docker-registry, or build only with --no-push",
        )
    info = load_info()
    if info is not None and info.registry != addr:
        save_info(replace(info, registry=addr))
    return f"{addr}/{check_repository(ecr_url).split('/', 1)[1]}", True

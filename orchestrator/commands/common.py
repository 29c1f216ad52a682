"""Options and helpers every command shares: where the outputs come from, which service, which output."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from orchestrator.aws import Aws
    from orchestrator.contract import Outputs, ServiceOutputs
    from orchestrator.report import Reporter

TerraformDirOpt = Annotated[
    Path, typer.Option("--terraform-dir", help="Terraform root whose outputs describe the stack.")
]
EnvOpt = Annotated[
    str | None, typer.Option("--env", help="Environment name (terraform/envs/<env>.tfvars and backend).")
]
OutputsFileOpt = Annotated[
    Path | None,
    typer.Option("--outputs-file", help="Read the outputs from this `terraform output -json` file."),
]
SandboxOpt = Annotated[bool, typer.Option("--sandbox", help="Use the running embedded sandbox.")]
ServiceOpt = Annotated[
    str | None, typer.Option("--service", "-s", help="Service key in the outputs (optional if only one).")
]
OutputOpt = Annotated[
    str,
    typer.Option("--output", help="auto (rich on a terminal, plain lines otherwise), rich, plain or json."),
]


@dataclass
class Target:
    """What a command acts on: the outputs, the chosen service, and AWS clients for its region."""

    outputs: Outputs
    service_key: str
    service: ServiceOutputs
    aws: Aws


def load_outputs(
    terraform_dir: Path, env: str | None, outputs_file: Path | None, sandbox: bool
) -> tuple[Outputs, str | None, bool]:
    """Return the outputs, the endpoint to use (None: AWS's own) and whether it is the sandbox."""
    from orchestrator.contract import load_outputs_file, parse_outputs
    from orchestrator.errors import InputError

    if sandbox:
        from orchestrator.sandbox.state import load_info

        info = load_info()
        if info is None:
            raise InputError("the sandbox is not running", hint="start it with `orchestrator sandbox up`")
        return load_outputs_file(info.outputs_path), info.endpoint, True
    if outputs_file is not None:
        return load_outputs_file(outputs_file), None, False
    from orchestrator.terraform import output_json

    return parse_outputs(output_json(terraform_dir, env), f"terraform output ({terraform_dir})"), None, False


def resolve_target(
    terraform_dir: Path,
    env: str | None,
    outputs_file: Path | None,
    sandbox: bool,
    service: str | None,
) -> Target:
    from orchestrator.aws import Aws

    outputs, endpoint, is_sandbox = load_outputs(terraform_dir, env, outputs_file, sandbox)
    key, svc = outputs.service(service)
    return Target(outputs, key, svc, Aws(outputs.aws_region, endpoint_url=endpoint, sandbox=is_sandbox))


def reporter(output: str) -> Reporter:
    from orchestrator.report import make_cli_reporter

    return make_cli_reporter(output)

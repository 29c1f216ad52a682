"""`orchestrator render`, `release` and `deploy FILE`: the release pipeline's commands.

Only typer and the standard library at module level: boto3, rich and the domain modules are imported
inside the commands so that `orchestrator --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from orchestrator.commands.common import (
    EnvOpt,
    OutputOpt,
    OutputsFileOpt,
    SandboxOpt,
    ServiceOpt,
    TerraformDirOpt,
)

TaskdefOpt = Annotated[Path, typer.Option("--taskdef", help="Task definition template (JSON).")]
AppspecOpt = Annotated[Path, typer.Option("--appspec", help="AppSpec (JSON or YAML).")]
ImageOpt = Annotated[
    str | None, typer.Option("--image", "-i", help="Image of the service's container (sets ${image}).")
]
ContainerOpt = Annotated[
    str | None,
    typer.Option("--container", help="Container whose image --image sets (default: container_name from the outputs)."),
]
ContainerEnvOpt = Annotated[
    list[str] | None,
    typer.Option("--container-env", "-e", help="KEY=VALUE set in the container's environment (repeatable)."),
]
DeploymentConfigOpt = Annotated[
    str | None,
    typer.Option("--deployment-config", help="CodeDeploy deployment config (default: the deployment group's)."),
]
WaitUntilOpt = Annotated[
    str,
    typer.Option(
        "--wait-until",
        help="complete: until CodeDeploy reports the end (after the termination wait); "
        "traffic-shifted: until production traffic is all on green.",
    ),
]
NoWaitOpt = Annotated[bool, typer.Option("--no-wait", help="Return once the deployment is created.")]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=1,
        help="Seconds to wait (default: computed from the group's waits and the config's canary/linear intervals).",
    ),
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Print the plan (task definition diff, AppSpec, calls); write nothing.")
]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("render")(render)
    app.command("release")(release)
    app.command("deploy")(deploy)


def render(
    output_file: Annotated[
        Path | None,
        typer.Option("--output-file", "-o", help="Write the rendered task definition here (default: stdout)."),
    ] = None,
    taskdef: TaskdefOpt = Path("taskdef.json"),
    image: ImageOpt = None,
    container: ContainerOpt = None,
    container_env: ContainerEnvOpt = None,
    terraform_dir: TerraformDirOpt = Path("terraform"),
    env: EnvOpt = None,
    outputs_file: OutputsFileOpt = None,
    sandbox: SandboxOpt = False,
    service: ServiceOpt = None,
) -> None:
    """Render the task definition (placeholders, image, environment) and validate it. Calls no AWS API."""
    from orchestrator.commands.common import load_outputs
    from orchestrator.taskdef import load_and_render, parse_env_pairs

    env_pairs = parse_env_pairs(container_env)
    outputs, _, _ = load_outputs(terraform_dir, env, outputs_file, sandbox)
    _, svc = outputs.service(service)
    rendered = load_and_render(taskdef, outputs, svc, image=image, container=container, container_env=env_pairs)
    text = json.dumps(rendered.taskdef, indent=2) + "\n"
    if output_file is None:
        sys.stdout.write(text)
    else:
        output_file.write_text(text)
        typer.echo(f"wrote {output_file} (image {rendered.image})", err=True)


def release(
    image: ImageOpt = None,
    taskdef: TaskdefOpt = Path("taskdef.json"),
    appspec: AppspecOpt = Path("appspec.json"),
    container: ContainerOpt = None,
    container_env: ContainerEnvOpt = None,
    deployment_config: DeploymentConfigOpt = None,
    wait_until: WaitUntilOpt = "complete",
    no_wait: NoWaitOpt = False,
    timeout: TimeoutOpt = None,
    dry_run: DryRunOpt = False,
    terraform_dir: TerraformDirOpt = Path("terraform"),
    env: EnvOpt = None,
    outputs_file: OutputsFileOpt = None,
    sandbox: SandboxOpt = False,
    service: ServiceOpt = None,
    output: OutputOpt = "auto",
) -> None:
    """Render, validate, register the task definition, deploy it blue/green through CodeDeploy, and follow it."""
    raise NotImplementedError


def deploy(
    file: Annotated[Path, typer.Argument(help="A task definition rendered earlier (`orchestrator render -o`).")],
    appspec: AppspecOpt = Path("appspec.json"),
    deployment_config: DeploymentConfigOpt = None,
    wait_until: WaitUntilOpt = "complete",
    no_wait: NoWaitOpt = False,
    timeout: TimeoutOpt = None,
    dry_run: DryRunOpt = False,
    terraform_dir: TerraformDirOpt = Path("terraform"),
    env: EnvOpt = None,
    outputs_file: OutputsFileOpt = None,
    sandbox: SandboxOpt = False,
    service: ServiceOpt = None,
    output: OutputOpt = "auto",
) -> None:
    """Register exactly FILE and deploy it blue/green through CodeDeploy, then follow it (CI's deploy job)."""
    raise NotImplementedError

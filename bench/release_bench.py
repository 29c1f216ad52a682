"""`make bench`: the same sandbox deployments released by `orchestrator release` and by the AWS CLI.

One background sandbox (its own state dir, stopped at the end, whatever happens) with four services:
`web` (CodeDeploy: AllAtOnce, 5-minute termination wait), `native` (the ECS engine: BLUE_GREEN, 5-minute
bake), `hist1` and `hist500` (CodeDeploy, their histories seeded). Waits run at the sandbox's time scale.

For each engine, ours against an anchor run in the same sandbox right after it:
- CodeDeploy: `orchestrator release` against `aws ecs deploy` (its CodeDeploy waiter polls every 15 s);
- ECS: `orchestrator release` against `aws ecs register-task-definition` + `update-service` +
  `wait services-stable` (DescribeServices every 15 s);
- exit lag: wall time from the deployment's completion (CodeDeploy completeTime, the service
  deployment's finishedAt; the sandbox stamps them on this host's clock) to the command's exit;
- overhead: wall time minus the deployment's own span (created -> completed): render, checks,
  registration and the exit lag (issue 20's goal: ours at most 0.1x `aws ecs deploy`'s);
- total wall time, and API calls per release (the sandbox's request accounting).

Then the start-up time of `orchestrator --help` against `aws --version` (alternating, median of
--startup-runs each; goal: at most 0.5x; `--startup-only` measures just that, without the sandbox), and
the calls a `release --no-wait` makes before its first write at a group history of 1 and of 500
(history_bench.py). Printed as tables with ratios ours / theirs (below 1 is better for us).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import AWS, ORCH, ROOT, calls, overhead, ratio, sh

SERVICES = ("web", "native:ecs", "hist1", "hist500")
HISTORIES = {"hist1": 1, "hist500": 500}


def codedeploy(env: dict[str, str]) -> Any:
    import boto3

    return boto3.client(
        "codedeploy",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def cd_span(env: dict[str, str], deployment_id: str) -> tuple[float, float]:
    """(createTime, completeTime) of a Succeeded CodeDeploy deployment, epoch seconds."""
    info = codedeploy(env).get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    if info["status"] != "Succeeded":
        sys.exit(f"bench: deployment {deployment_id} ended {info['status']}")
    created: datetime = info["createTime"]
    done: datetime = info["completeTime"]
    return created.timestamp(), done.timestamp()


def latest_deployment(env: dict[str, str], app: str, group: str) -> str:
    cd = codedeploy(env)
    ids = cd.list_deployments(applicationName=app, deploymentGroupName=group)["deployments"]
    infos = cd.batch_get_deployments(deploymentIds=ids)["deploymentsInfo"]
    return str(max(infos, key=lambda d: d["createTime"])["deploymentId"])


def measured(wall: float, exited: float, span: tuple[float, float], n: int, detail: str) -> dict[str, Any]:
    return {"lag": exited - span[1], "wall": wall, "calls": n, "overhead": overhead(wall, *span), "detail": detail}


def startup(env: dict[str, str], runs: int) -> tuple[float, float]:
    """Median wall time of `orchestrator --help` and of `aws --version`, run alternately (one warm-up
    each first), so that both see the same machine load."""
    ours: list[float] = []
    theirs: list[float] = []
    for i in range(runs + 1):
        took_ours, _ = sh([*ORCH, "--help"], env)
        took_theirs, _ = sh([str(AWS), "--version"], env)
        if i:  # the first pair only warms the file cache
            ours.append(took_ours)
            theirs.append(took_theirs)
    return statistics.median(ours), statistics.median(theirs)


def codedeploy_pair(env: dict[str, str], state: Path, svc: dict[str, Any], control: Any) -> dict[str, dict]:
    # Ours: render, validate, register, deploy and follow, as a user runs it.
    repo = svc["ecr_repository_url"]
    # The sandbox's ECR holds only pushed images (a release refuses, a task fails to pull, any other).
    for tag in ("bench-ours", "bench-aws"):
        control.push_image(f"{repo}:{tag}")
    control.reset_requests()
    cmd = [*ORCH, "release", "--sandbox", "--service", "web", "--image", f"{repo}:bench-ours", "--output", "json"]
    wall, res = sh(cmd, env)
    exited = time.time()
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    ours = measured(wall, exited, cd_span(env, summary["deployment_id"]), *calls(control))

    # Theirs: the same task definition rendered to a file (as CI does), deployed by `aws ecs deploy`.
    rendered = state / "taskdef-new.json"
    sh(
        [*ORCH, "render", "--sandbox", "--service", "web", "--image", f"{repo}:bench-aws", "--out-file", str(rendered)],
        env,
    )
    control.reset_requests()
    wall, _ = sh(
        [
            str(AWS), "ecs", "deploy",
            "--cluster", svc["cluster_name"],
            "--service", svc["service_name"],
            "--task-definition", str(rendered),
            "--codedeploy-appspec", str(ROOT / "appspec.json"),
            "--codedeploy-application", svc["codedeploy_app_name"],
            "--codedeploy-deployment-group", svc["codedeploy_deployment_group_name"],
        ],
        env,
    )  # fmt: skip
    exited = time.time()
    n, detail = calls(control)
    dep = latest_deployment(env, svc["codedeploy_app_name"], svc["codedeploy_deployment_group_name"])
    return {"ours": ours, "theirs": measured(wall, exited, cd_span(env, dep), n, detail)}


def sandbox_env(state: Path) -> tuple[dict[str, str], dict[str, Any], str]:
    server = json.loads((state / "server.json").read_text())
    outputs = json.loads((state / "outputs.json").read_text())["services"]["value"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        ORCHESTRATOR_SANDBOX_DIR=str(state),
        NO_COLOR="1",
        AWS_ENDPOINT_URL=server["endpoint"],
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=server["region"],
        AWS_CONFIG_FILE=str(state / "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(state / "aws-credentials"),
    )
    return env, outputs, server["endpoint"]


def print_pairs(pairs: dict[str, dict[str, dict]], start: tuple[float, float], runs: int) -> None:
    print(f"{'engine':<11} {'metric':<48} {'ours':>8} {'anchor':>8} {'ours/anchor':>12}")
    metrics = [
        ("lag", "exit lag after completion (s)"),
        ("overhead", "overhead: wall - deployment span (s)"),
        ("wall", "total wall time (s)"),
        ("calls", "API calls per release"),
    ]
    for engine, pair in pairs.items():
        o, t = pair["ours"], pair["theirs"]
        for key, name in metrics:
            fmt = "{:>8.0f}" if key == "calls" else "{:>8.2f}"
            print(f"{engine:<11} {name:<48} {fmt.format(o[key])} {fmt.format(t[key])} {ratio(o[key], t[key]):>12.2f}")
    name = f"start-up: --help vs aws --version (s, median of {runs})"
    print(f"{'CLI':<11} {name:<48} {start[0]:>8.2f} {start[1]:>8.2f} {ratio(*start):>12.2f}")
    for engine, pair in pairs.items():
        print(f"calls, {engine}, ours:   {pair['ours']['detail']}")
        print(f"calls, {engine}, anchor: {pair['theirs']['detail']}")


def main() -> int:
    from ecs_pair import run_pair
    from history_bench import report, run_histories

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=0.05, help="sandbox wall seconds per simulated second")
    parser.add_argument("--startup-runs", type=int, default=11)
    parser.add_argument("--startup-only", action="store_true", help="measure only the CLI start-up")
    args = parser.parse_args()
    if not AWS.exists():
        sys.exit("bench: the AWS CLI is missing; run `make tools`")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {"NO_COLOR": "1"}
    start = startup(base_env, args.startup_runs)
    if args.startup_only:
        print(f"start-up: --help {start[0]:.3f} s, aws --version {start[1]:.3f} s, ratio {ratio(*start):.2f}")
        return 0

    from orchestrator.sandbox.control import SandboxControl

    state = Path(tempfile.mkdtemp(prefix="orchestrator-bench-"))
    up_env = base_env | {"ORCHESTRATOR_SANDBOX_DIR": str(state)}
    try:
        sh(
            [*ORCH, "sandbox", "up", "--time-scale", repr(args.time_scale), *(f"--service={s}" for s in SERVICES)],
            up_env,
        )
        env, services, endpoint = sandbox_env(state)
        control = SandboxControl(endpoint)
        pairs = {
            "CodeDeploy": codedeploy_pair(env, state, services["web"], control),
            "ECS": run_pair(env, state, services["native"], "native", control),
        }
        # Last: the --no-wait releases leave their deployments running until the sandbox stops.
        histories = run_histories(env, state, services, control, HISTORIES)
    finally:
        sh([*ORCH, "sandbox", "down"], up_env, check=False, timeout=60)

    scale = args.time_scale
    print(f"sandbox time scale {scale} (5 simulated minutes = {300 * scale:g} s); load average {os.getloadavg()}")
    print_pairs(pairs, start, args.startup_runs)
    print("\n".join(report(histories)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

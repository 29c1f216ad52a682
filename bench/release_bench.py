"""`make bench`: the same sandbox deployment released by `orchestrator release` and by `aws ecs deploy`.

One background sandbox (its own state dir, stopped at the end), the example stack, the default
deployment group (AllAtOnce, 5-minute termination wait, at the sandbox's time scale). For each tool:

- exit lag: wall time from the deployment's completion (CodeDeploy completeTime, observed through the
  sandbox on this host's clock) to the command's exit;
- total wall time of the command;
- API calls per release (the sandbox's request accounting: every AWS call the command made);

and the start-up time of `orchestrator --help` against `aws --version`: the two alternate, run after
run, in the same process and at the same moment (median of --startup-runs each; goal: ours at most
0.5x theirs). `--startup-only` measures just that, without the sandbox.
Printed as a table with ratios ours / theirs (below 1 is better for us).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ORCH = [sys.executable, "-m", "orchestrator"]
AWS = ROOT / ".venv-tools" / "awscli" / "bin" / "aws"


def sh(
    cmd: list[str], env: dict[str, str], check: bool = True, quiet: bool = True
) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.time()
    res = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=quiet, text=True)
    took = time.time() - t0
    if check and res.returncode != 0:
        sys.exit(f"bench: {' '.join(map(str, cmd))} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return took, res


def calls(control: Any) -> tuple[int, str]:
    """Total AWS calls counted by the sandbox, and a breakdown per action."""
    counts = control.request_counts()
    flat = sorted(((f"{svc}:{action}", n) for svc, actions in counts.items() for action, n in actions.items()))
    return sum(n for _, n in flat), ", ".join(f"{name} {n}" for name, n in flat)


def codedeploy(env: dict[str, str]) -> Any:
    import boto3

    return boto3.client(
        "codedeploy",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def complete_time(env: dict[str, str], deployment_id: str) -> float:
    cd = codedeploy(env)
    info = cd.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    assert info["status"] == "Succeeded", info["status"]
    done: datetime = info["completeTime"]
    return done.timestamp()


def latest_deployment(env: dict[str, str], app: str, group: str) -> str:
    cd = codedeploy(env)
    ids = cd.list_deployments(applicationName=app, deploymentGroupName=group)["deployments"]
    infos = cd.batch_get_deployments(deploymentIds=ids)["deploymentsInfo"]
    return str(max(infos, key=lambda d: d["createTime"])["deploymentId"])


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=0.05, help="sandbox wall seconds per simulated second")
    parser.add_argument("--startup-runs", type=int, default=11)
    parser.add_argument("--startup-only", action="store_true", help="measure only the CLI start-up")
    args = parser.parse_args()
    if not AWS.exists():
        sys.exit("bench: the AWS CLI is missing; run `make tools`")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {"NO_COLOR": "1"}
    ours_start, theirs_start = startup(base_env, args.startup_runs)
    if args.startup_only:
        print(f"{'start-up: --help vs aws --version (s)':<52} {ours_start:>10.3f} {theirs_start:>10.3f}", end=" ")
        print(f"{ours_start / theirs_start:>12.2f}")
        return 0

    from orchestrator.sandbox.control import SandboxControl

    state = Path(tempfile.mkdtemp(prefix="orchestrator-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(ORCHESTRATOR_SANDBOX_DIR=str(state), NO_COLOR="1")
    sh([*ORCH, "sandbox", "up", "--time-scale", repr(args.time_scale)], env)
    try:
        server = json.loads((state / "server.json").read_text())
        outputs = json.loads((state / "outputs.json").read_text())
        svc = outputs["services"]["value"]["web"]
        env.update(
            AWS_ENDPOINT_URL=server["endpoint"],
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION=server["region"],
            AWS_CONFIG_FILE=str(state / "aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(state / "aws-credentials"),
        )
        control = SandboxControl(server["endpoint"])
        repo = svc["ecr_repository_url"]
        results: dict[str, dict[str, float]] = {}

        # Ours: render, validate, register, deploy and follow, as a user runs it.
        control.reset_requests()
        wall, res = sh([*ORCH, "release", "--sandbox", "--image", f"{repo}:bench-ours", "--output", "json"], env)
        exited = time.time()
        summary = json.loads(res.stdout.strip().splitlines()[-1])
        n, ours_detail = calls(control)
        lag = exited - complete_time(env, summary["deployment_id"])
        results["orchestrator release"] = {"lag": lag, "wall": wall, "calls": n}

        # Theirs: the same task definition rendered to a file (as CI does), deployed by `aws ecs deploy`.
        rendered = state / "taskdef-new.json"
        sh([*ORCH, "render", "--sandbox", "--image", f"{repo}:bench-aws", "--out-file", str(rendered)], env)
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
        n, theirs_detail = calls(control)
        dep = latest_deployment(env, svc["codedeploy_app_name"], svc["codedeploy_deployment_group_name"])
        lag = exited - complete_time(env, dep)
        results["aws ecs deploy"] = {"lag": lag, "wall": wall, "calls": n}
    finally:
        sh([*ORCH, "sandbox", "down"], env, check=False)

    o, t = results["orchestrator release"], results["aws ecs deploy"]
    rows = [
        ("exit lag after completion (s)", o["lag"], t["lag"]),
        ("total wall time (s)", o["wall"], t["wall"]),
        ("API calls per release", o["calls"], t["calls"]),
        (f"start-up: --help vs aws --version (s, median of {args.startup_runs})", ours_start, theirs_start),
    ]
    print(f"sandbox time scale {args.time_scale} (5 simulated minutes = {300 * args.time_scale:g} s)")
    print(f"{'metric':<52} {'ours':>10} {'theirs':>10} {'ours/theirs':>12}")
    for name, ours, theirs in rows:
        fmt = "{:>10.0f}" if name.startswith("API") else "{:>10.2f}"
        ratio = ours / theirs if theirs else float("inf")
        print(f"{name:<52} {fmt.format(ours)} {fmt.format(theirs)} {ratio:>12.2f}")
    print(f"calls, ours:   {ours_detail}")
    print(f"calls, theirs: {theirs_detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

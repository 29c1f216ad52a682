"""`make bench`, the scale figure: 1, 5 and 20 services released at once on one sandbox.

One background sandbox with 20 services (svc01 … svc20: one ALB, target-group pair, ECS service and
CodeDeploy group each, as the Terraform root makes them), at the sandbox's time scale. Then
`orchestrator release --sandbox --service svc01 …` for the first 1, 5 and 20 services, one after the
other, each with a new image. For each run:

- wall time of the command, and its ratio to one service's (goal: 20 services at most 1.3x);
- API calls (the sandbox's request accounting: every AWS call the command made) in total and per
  minute of wall time, and the ratio of the calls per minute to one service's (goal: under 5x for 20);
- the polling calls alone (BatchGetDeployments and GetDeploymentTarget while following), per minute.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from benchlib import ORCH, sh  # noqa: E402

POLLING = {"codedeploy:BatchGetDeployments", "codedeploy:GetDeploymentTarget", "codedeploy:GetDeployment"}


def counted(control: Any) -> tuple[int, int, dict[str, int]]:
    counts = control.request_counts()
    flat = {f"{svc}:{action}": n for svc, actions in counts.items() for action, n in actions.items()}
    return sum(flat.values()), sum(n for k, n in flat.items() if k in POLLING), flat


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=0.05, help="sandbox wall seconds per simulated second")
    parser.add_argument("--sizes", default="1,5,20", help="how many services to release at once, comma-separated")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    keys = [f"svc{i:02d}" for i in range(1, max(sizes) + 1)]

    from orchestrator.sandbox.control import SandboxControl

    state = Path(tempfile.mkdtemp(prefix="orchestrator-scale-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(ORCHESTRATOR_SANDBOX_DIR=str(state), NO_COLOR="1")
    rows: list[dict[str, Any]] = []
    try:  # the sandbox stops whatever happens, a failed `sandbox up` included
        t0 = time.time()
        sh([*ORCH, "sandbox", "up", "--time-scale", repr(args.time_scale), "--services", str(len(keys))], env)
        provisioned = time.time() - t0
        server = json.loads((state / "server.json").read_text())
        outputs = json.loads((state / "outputs.json").read_text())["services"]["value"]
        control = SandboxControl(server["endpoint"])
        for run, n in enumerate(sizes, 1):
            chosen = keys[:n]
            cmd = [*ORCH, "release", "--sandbox", "--output", "json"]
            for key in chosen:
                image = f"{outputs[key]['ecr_repository_url']}:scale-{run}"
                control.push_image(image)  # the sandbox's ECR holds only pushed images
                cmd += ["--service", key, "--image", f"{key}={image}"]
            control.reset_requests()
            wall, res = sh(cmd, env)
            summary = json.loads(res.stdout.strip().splitlines()[-1])
            if summary.get("status") != "Succeeded":
                sys.exit(f"bench: {n} services: {summary.get('status')}: {summary.get('reason')}")
            total, polling, detail = counted(control)
            rows.append({"n": n, "wall": wall, "calls": total, "polling": polling, "detail": detail})
    finally:
        sh([*ORCH, "sandbox", "down"], env, check=False, timeout=60)

    one = rows[0]
    per_min = lambda r: 60.0 * r["calls"] / r["wall"]  # noqa: E731
    poll_min = lambda r: 60.0 * r["polling"] / r["wall"]  # noqa: E731
    print(f"sandbox time scale {args.time_scale}; {len(keys)} services provisioned in {provisioned:.1f} s")
    head = f"{'services':>8} {'wall s':>8} {'x one':>6} {'calls':>6} {'calls/min':>10} {'x one':>6}"
    print(f"{head} {'polling/min':>12} {'x one':>6}")
    for r in rows:
        print(
            f"{r['n']:>8} {r['wall']:>8.2f} {r['wall'] / one['wall']:>6.2f} {r['calls']:>6} {per_min(r):>10.1f} "
            f"{per_min(r) / per_min(one):>6.2f} {poll_min(r):>12.1f} {poll_min(r) / poll_min(one):>6.2f}"
        )
    last = rows[-1]
    print(f"calls, {last['n']} services: " + ", ".join(f"{k} {v}" for k, v in sorted(last["detail"].items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The history figure for bench/release_bench.py: AWS calls a `release --no-wait` makes before its first
write, with 1 and with N deployments in the deployment group's history (seeded at once by the sandbox),
from a request log kept in order by bench/calltrace.py. Goal (issue 20): the same count at 1 and at 500.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchlib import ROOT, before_first_write, grown, per_action, read_call_log, sh
from benchlib import calls as count_calls

TRACE = [sys.executable, str(ROOT / "bench" / "calltrace.py")]


def before_write(
    env: dict[str, str], state: Path, control: Any, key: str, svc: dict[str, Any], tag: str
) -> dict[str, Any]:
    log = state / f"calls-{key}.jsonl"
    image = f"{svc['ecr_repository_url']}:{tag}"
    control.push_image(image)  # the sandbox's ECR holds only pushed images
    control.reset_requests()
    _, res = sh([*TRACE, str(log), "release", "--sandbox", "--service", key, "--image", image, "--no-wait",
                 "--output", "json"], env)  # fmt: skip
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    if not summary.get("ok"):
        sys.exit(f"bench: release --no-wait of {key}: {summary.get('status')}: {summary.get('reason')}")
    calls = read_call_log(log)
    before, first = before_first_write(calls)
    counted, _ = count_calls(control)  # the sandbox saw each HTTP attempt: more than the log means retries
    return {
        "before": len(before),
        "first_write": str(first),
        "breakdown": per_action(before),
        "total": len(calls),
        "sandbox_total": counted,
    }


def run_histories(
    env: dict[str, str], state: Path, services: dict[str, Any], control: Any, sizes: dict[str, int]
) -> dict[int, dict[str, Any]]:
    """{history size: before_write(...)} for each service key -> history size in `sizes`."""
    out: dict[int, dict[str, Any]] = {}
    for key, size in sizes.items():
        control.seed_history(services[key]["codedeploy_deployment_group_name"], size)
    for key, size in sizes.items():
        out[size] = before_write(env, state, control, key, services[key], f"history-{size}")
    return out


def report(rows: dict[int, dict[str, Any]]) -> list[str]:
    sizes = sorted(rows)
    lines = ["calls before the first write of `release --no-wait`, by deployment-group history:"]
    for size in sizes:
        r = rows[size]
        whole = f"{r['total']} in all; the sandbox counted {r['sandbox_total']}"
        lines.append(f"  history {size:>5}: {r['before']:>4} calls before {r['first_write']} ({whole})")
    small, large = rows[sizes[0]], rows[sizes[-1]]
    lines.append(f"  history {sizes[-1]} / history {sizes[0]}: {large['before'] / max(small['before'], 1):.2f}x")
    growth = grown(small["breakdown"], large["breakdown"])
    if growth:
        lines.append("  grows with history: " + ", ".join(f"{k} {a} -> {b}" for k, (a, b) in growth.items()))
    lines.append(
        f"  before the first write at history {sizes[0]}: "
        + ", ".join(f"{k} {v}" for k, v in sorted(small["breakdown"].items()))
    )
    return lines

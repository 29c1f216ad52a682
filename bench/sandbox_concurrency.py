"""Does the sandbox's engine run many blue/green deployments at once as fast as one?

Against a running sandbox (`orchestrator sandbox up --services 20`, or `--endpoint` + `--outputs`):
creates one deployment on the first service and follows it to its end, then one on each of the first
N services at the same moment (boto3 CreateDeployment from N threads) and follows them all with
BatchGetDeployments (25 ids a call, AWS's limit). Each deployment's duration is CodeDeploy's
createTime -> completeTime as the sandbox reports it; the wall time is the first create to the last
completion seen. Prints one JSON object: durations for 1 and N, and their ratio.
`--smoke-hook`: each AppSpec names the service's smoke-test function at AfterAllowTestTraffic (the
sandbox runs its Python handler in a process of its own), pointed at a local /health server.

    .venv/bin/python bench/sandbox_concurrency.py --count 20 [--smoke-hook]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

TERMINAL = ("Succeeded", "Failed", "Stopped")
# BatchGetDeployments: "The maximum number of deployment IDs you can specify is 25" (API reference).
BATCH = 25


def _client(endpoint: str, region: str, service: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.session.Session(
        region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
    ).client(service, endpoint_url=endpoint, config=Config(retries={"mode": "standard", "max_attempts": 3}))


def _appspec(svc: dict[str, Any], taskdef_arn: str, hook: bool = False) -> str:
    hooks = [{"AfterAllowTestTraffic": svc["smoke_test_function_name"]}] if hook else []
    return json.dumps(
        {
            "version": 0.0,
            "Hooks": hooks,
            "Resources": [
                {
                    "TargetService": {
                        "Type": "AWS::ECS::Service",
                        "Properties": {
                            "TaskDefinition": taskdef_arn,
                            "LoadBalancerInfo": {
                                "ContainerName": svc["container_name"],
                                "ContainerPort": svc["container_port"],
                            },
                        },
                    }
                }
            ],
        }
    )


def health_server() -> str:
    """A local server answering 200 on /health: the test listener the smoke tests request."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/health" else 404)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def point_smoke_tests(endpoint: str, region: str, services: dict[str, dict[str, Any]], url: str) -> None:
    lam = _client(endpoint, region, "lambda")
    for svc in services.values():
        name = svc["smoke_test_function_name"]
        env = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
        lam.update_function_configuration(
            FunctionName=name, Environment={"Variables": env | {"TEST_LISTENER_URL": url}}
        )


def release_at_once(
    endpoint: str, region: str, services: dict[str, dict[str, Any]], hook: bool = False
) -> dict[str, Any]:
    """Create one deployment per service at the same moment and follow them all to their end."""
    ecs = _client(endpoint, region, "ecs")
    arns = {
        key: ecs.describe_services(cluster=svc["cluster_name"], services=[svc["service_name"]])["services"][0][
            "taskDefinition"
        ]
        for key, svc in services.items()
    }
    ids: dict[str, str] = {}
    errors: list[str] = []
    started: list[float] = []
    # The clock starts when every thread has its client (building one takes tens of milliseconds).
    barrier = threading.Barrier(len(services), action=lambda: started.append(time.monotonic()))

    def create(key: str) -> None:
        svc = services[key]
        client = _client(endpoint, region, "codedeploy")
        barrier.wait()
        try:
            ids[key] = client.create_deployment(
                applicationName=svc["codedeploy_app_name"],
                deploymentGroupName=svc["codedeploy_deployment_group_name"],
                revision={
                    "revisionType": "AppSpecContent",
                    "appSpecContent": {"content": _appspec(svc, arns[key], hook)},
                },
            )["deploymentId"]
        except Exception as exc:  # reported below; the bench must not hang on a refused create
            errors.append(f"{key}: {exc}")

    threads = [threading.Thread(target=create, args=(key,)) for key in services]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    start = started[0]
    if errors:
        raise SystemExit("bench: CreateDeployment failed: " + "; ".join(errors))
    created = time.monotonic() - start
    codedeploy = _client(endpoint, region, "codedeploy")
    infos: dict[str, dict[str, Any]] = {}
    polls = 0
    while len(infos) < len(ids):
        pending = [i for i in ids.values() if i not in infos]
        for chunk in range(0, len(pending), BATCH):
            polls += 1
            for info in codedeploy.batch_get_deployments(deploymentIds=pending[chunk : chunk + BATCH])[
                "deploymentsInfo"
            ]:
                if info["status"] in TERMINAL:
                    infos[info["deploymentId"]] = info
        if len(infos) < len(ids):
            time.sleep(0.1)
    wall = time.monotonic() - start
    durations = [(i["completeTime"] - i["createTime"]).total_seconds() for i in infos.values()]
    return {
        "services": len(services),
        "statuses": sorted({i["status"] for i in infos.values()}),
        "create_s": round(created, 3),
        "wall_s": round(wall, 3),
        "duration_median_s": round(statistics.median(durations), 3),
        "duration_max_s": round(max(durations), 3),
        "batch_get_calls": polls,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20, help="deployments at once (the first N services)")
    parser.add_argument("--endpoint", help="sandbox endpoint (default: the running `sandbox up`'s)")
    parser.add_argument("--outputs", type=Path, help="outputs.json (default: the running sandbox's)")
    parser.add_argument(
        "--smoke-hook", action="store_true", help="run each service's smoke test at AfterAllowTestTraffic"
    )
    args = parser.parse_args(argv)

    from orchestrator.sandbox import state

    info = state.load_info()
    endpoint = args.endpoint or (info.endpoint if info else None)
    if not endpoint:
        parser.error("no running sandbox: start one with `orchestrator sandbox up --services 20` or give --endpoint")
    region = info.region if info else state.DEFAULT_REGION
    doc = json.loads((args.outputs or state.sandbox_dir() / "outputs.json").read_text())
    every = doc["services"]["value"]
    keys = sorted(every)[: args.count]
    if len(keys) < args.count:
        parser.error(f"the sandbox has {len(every)} services, fewer than --count {args.count}")
    if args.smoke_hook:
        point_smoke_tests(endpoint, region, {k: every[k] for k in keys}, health_server())
    one = release_at_once(endpoint, region, {keys[0]: every[keys[0]]}, args.smoke_hook)
    many = release_at_once(endpoint, region, {k: every[k] for k in keys}, args.smoke_hook)
    result = {
        "one": one,
        "many": many,
        "ratio_wall": round(many["wall_s"] / one["wall_s"], 3),
        "ratio_duration_max": round(many["duration_max_s"] / one["duration_max_s"], 3),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# `make demo`: start the embedded sandbox, release a new image of the example service with live
# progress, show where production traffic goes and which task definition serves it, stop the sandbox.
# The sandbox keeps its state in its own directory, so a sandbox you run yourself is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

ORCH=${ORCH:-.venv/bin/orchestrator}
PY=${PY:-.venv/bin/python}
export ORCHESTRATOR_SANDBOX_DIR=${DEMO_SANDBOX_DIR:-.sandbox-demo}
TIME_SCALE=${DEMO_TIME_SCALE:-0.05}

stop() { "$ORCH" sandbox down >/dev/null 2>&1 || true; }
trap stop EXIT
trap 'exit 130' INT TERM

echo "==> starting the sandbox (time scale $TIME_SCALE: a 5-minute wait takes $("$PY" -c "print(300*$TIME_SCALE)") s)"
"$ORCH" sandbox up --time-scale "$TIME_SCALE"

repo=$("$PY" -c 'import json,os,sys; d=json.load(open(os.environ["ORCHESTRATOR_SANDBOX_DIR"]+"/outputs.json")); print(d["services"]["value"]["web"]["ecr_repository_url"])')
tag=$(git rev-parse --short=12 HEAD 2>/dev/null || echo "demo-$(date +%s)")
image="$repo:$tag"

echo "==> releasing $image"
"$ORCH" release --sandbox --image "$image"

echo "==> what serves production now"
"$PY" - <<'PY'
import json, os
from orchestrator.aws import Aws
from orchestrator.sandbox.state import load_info

info = load_info()
svc = json.load(open(os.path.join(os.environ["ORCHESTRATOR_SANDBOX_DIR"], "outputs.json")))["services"]["value"]["web"]
aws = Aws(info.region, endpoint_url=info.endpoint, sandbox=True)
listener = aws.client("elbv2").describe_listeners(ListenerArns=[svc["prod_listener_arn"]])["Listeners"][0]
action = listener["DefaultActions"][0]
groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or [{"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}]
total = sum(g.get("Weight", 1) for g in groups) or 1
for g in groups:
    name = g["TargetGroupArn"].split(":targetgroup/")[1].split("/")[0]
    print(f"  production traffic (:{listener['Port']}): {100 * g.get('Weight', 1) / total:.0f}% -> target group {name}")
service = aws.client("ecs").describe_services(cluster=svc["cluster_name"], services=[svc["service_name"]])["services"][0]
primary = next(ts for ts in service.get("taskSets", []) if ts["status"] == "PRIMARY")
td = aws.client("ecs").describe_task_definition(taskDefinition=primary["taskDefinition"])["taskDefinition"]
image = next(c["image"] for c in td["containerDefinitions"] if c["name"] == svc["container_name"])
print(f"  served by task definition {primary['taskDefinition']}")
print(f"  image {image}, {primary['runningCount']}/{primary['computedDesiredCount']} tasks running")
PY
echo "==> stopping the sandbox"

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
"$ORCH" status --sandbox --output plain
echo "==> stopping the sandbox"

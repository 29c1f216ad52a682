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

listener_pid=""
stop() {
  "$ORCH" sandbox down >/dev/null 2>&1 || true
  if [ -n "$listener_pid" ]; then kill "$listener_pid" 2>/dev/null || true; fi
  rm -f "${appspec:-}"
}
trap stop EXIT
trap 'exit 130' INT TERM

# The sandbox's load balancer is not real: this tiny server stands in for the new tasks behind the test
# listener, and the smoke-test hook (modules/smoke-test-hook) requests its /health at AfterAllowTestTraffic.
listener_port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$PY" - "$listener_port" <<'PY' &
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == "/health"
        self.send_response(200 if ok else 404)
        self.end_headers()
        self.wfile.write(b"ok\n" if ok else b"not found\n")

    def log_message(self, fmt, *args):
        print(f"    test listener: GET {self.path} -> {args[1]}", file=sys.stderr)

HTTPServer(("127.0.0.1", int(sys.argv[1])), Health).serve_forever()
PY
listener_pid=$!

echo "==> starting the sandbox (time scale $TIME_SCALE: a 5-minute wait takes $("$PY" -c "print(300*$TIME_SCALE)") s)"
"$ORCH" sandbox up --time-scale "$TIME_SCALE" --test-listener-url "http://127.0.0.1:$listener_port"

# appspec.json plus the smoke test at AfterAllowTestTraffic, named through the outputs contract.
appspec=$(mktemp "${TMPDIR:-/tmp}/demo-appspec.XXXXXX")
"$PY" -c 'import json,sys; d=json.load(open("appspec.json")); d["Hooks"]=[{"AfterAllowTestTraffic": "${smoke_test_function_name}"}]; json.dump(d, open(sys.argv[1], "w"), indent=2)' "$appspec"

repo=$("$PY" -c 'import json,os,sys; d=json.load(open(os.environ["ORCHESTRATOR_SANDBOX_DIR"]+"/outputs.json")); print(d["services"]["value"]["web"]["ecr_repository_url"])')
tag=$(git rev-parse --short=12 HEAD 2>/dev/null || echo "demo-$(date +%s)")
image="$repo:$tag"

echo "==> releasing $image (smoke test on the test listener at AfterAllowTestTraffic)"
"$ORCH" release --sandbox --image "$image" --appspec "$appspec"

echo "==> what serves production now"
"$ORCH" status --sandbox --output plain
echo "==> stopping the sandbox"

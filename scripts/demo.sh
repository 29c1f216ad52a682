#!/usr/bin/env bash
# `make demo`: start the embedded sandbox with two services (web and worker), release a new image of both
# at once with live progress (one row per service), show where production traffic goes and which task
# definition serves each service, stop the sandbox.
# The sandbox keeps its state in its own directory, so a sandbox you run yourself is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

ORCH=${ORCH:-$root/.venv/bin/orchestrator}
PY=${PY:-$root/.venv/bin/python}
sandbox_dir=${DEMO_SANDBOX_DIR:-.sandbox-demo}
case "$sandbox_dir" in /*) ;; *) sandbox_dir="$root/$sandbox_dir" ;; esac
export ORCHESTRATOR_SANDBOX_DIR=$sandbox_dir
TIME_SCALE=${DEMO_TIME_SCALE:-0.05}
SERVICES=(web worker)

listener_pid=""
stop() {
  "$ORCH" sandbox down >/dev/null 2>&1 || true
  if [ -n "$listener_pid" ]; then kill "$listener_pid" 2>/dev/null || true; fi
  if [ -n "${project:-}" ]; then rm -rf "$project"; fi
}
trap stop EXIT
trap 'exit 130' INT TERM

# The sandbox's load balancer is not real: this tiny server stands in for the new tasks behind the test
# listener, and the smoke-test hook (modules/smoke-test-hook) requests its /health at AfterAllowTestTraffic.
# It logs the requests to a file, shown after the release: written to the terminal, they would cut
# through the live panel.
project=$(mktemp -d "${TMPDIR:-/tmp}/demo-project.XXXXXX")
listener_log="$project/test-listener.log"
listener_port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$PY" - "$listener_port" "$listener_log" <<'PY' &
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == "/health"
        self.send_response(200 if ok else 404)
        self.end_headers()
        self.wfile.write(b"ok\n" if ok else b"not found\n")

    def log_message(self, fmt, *args):
        with open(sys.argv[2], "a") as log:
            print(f"    test listener: GET {self.path} -> {args[1]}", file=log)

HTTPServer(("127.0.0.1", int(sys.argv[1])), Health).serve_forever()
PY
listener_pid=$!

echo "==> starting the sandbox with ${SERVICES[*]} (time scale $TIME_SCALE: a 5-minute wait takes $("$PY" -c "print(300*$TIME_SCALE)") s)"
service_args=()
for key in "${SERVICES[@]}"; do service_args+=(--service "$key"); done
"$ORCH" sandbox up --time-scale "$TIME_SCALE" --test-listener-url "http://127.0.0.1:$listener_port" "${service_args[@]}"

# Both services use the top-level templates (services/<key>/ would override them per service); the demo's
# copy of appspec.json adds the smoke test at AfterAllowTestTraffic, named per service through the outputs
# contract (${smoke_test_function_name}), and leaves the repository's files alone.
cp taskdef.json "$project/taskdef.json"
"$PY" -c 'import json,sys; d=json.load(open("appspec.json")); d["Hooks"]=[{"AfterAllowTestTraffic": "${smoke_test_function_name}"}]; json.dump(d, open(sys.argv[1], "w"), indent=2)' "$project/appspec.json"

# The full commit SHA, the tag `orchestrator build` writes: the release reads the build's commit from it
# (for the older-build check and `history`), as it would from a built image.
tag=$(git rev-parse HEAD 2>/dev/null || echo "demo-$(date +%s)")
images=()
for key in "${SERVICES[@]}"; do
  repo=$("$PY" -c 'import json,os,sys; d=json.load(open(os.environ["ORCHESTRATOR_SANDBOX_DIR"]+"/outputs.json")); print(d["services"]["value"][sys.argv[1]]["ecr_repository_url"])' "$key")
  images+=(--image "$key=$repo:$tag")
done

echo "==> releasing ${SERVICES[*]} at $tag together (smoke test on the test listener at AfterAllowTestTraffic)"
(cd "$project" && "$ORCH" release --sandbox --all "${images[@]}")
if [ -s "$listener_log" ]; then
  echo "==> what the smoke tests requested on the test listener"
  cat "$listener_log"
fi

echo "==> what serves production now"
"$ORCH" status --sandbox --all --output plain
echo "==> stopping the sandbox"

#!/usr/bin/env bash
# N parallel `orchestrator release --sandbox --service svcNN` processes against the running sandbox
# (`orchestrator sandbox up --services N`), timed against one alone, with the API calls they made.
# Usage: bench/parallel_releases.sh N [TAG]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
tag=${2:-p$(date +%s)}
ORCH=${ORCH:-.venv/bin/orchestrator}
PY=${PY:-.venv/bin/python}
outputs=${ORCHESTRATOR_SANDBOX_DIR:-.sandbox}/outputs.json
repo() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["services"]["value"][sys.argv[2]]["ecr_repository_url"])' "$outputs" "$1"; }

run() {  # run KEY... : one release process per key, all at once; prints the wall seconds
  local start end pids=() rc=0
  start=$(date +%s.%N)
  for key in "$@"; do
    "$ORCH" release --sandbox --service "$key" --image "$(repo "$key"):$tag-$#" --output json >"/tmp/parallel-$key.jsonl" 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || rc=$?; done
  end=$(date +%s.%N)
  [ "$rc" = 0 ] || { echo "a release failed (exit $rc): see /tmp/parallel-*.jsonl" >&2; exit 1; }
  "$PY" -c "print(round($end - $start, 2))"
}

keys=()
for i in $(seq 1 "$n"); do keys+=("$(printf 'svc%02d' "$i")"); done
one=$(run svc01)
all=$(run "${keys[@]}")
echo "{\"one_s\": $one, \"parallel\": $n, \"parallel_s\": $all, \"ratio\": $("$PY" -c "print(round($all / $one, 3))")}"

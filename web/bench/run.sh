#!/usr/bin/env bash
# make bench's web step: starts the local stack with its demo data on 127.0.0.1, runs
# budgets.mjs against it, and stops it, whatever happens. Usage: run.sh <out.json> [port]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$1"
port="${2:-8181}"
log="$(mktemp)"
export AWS_REGION="${AWS_REGION:-us-east-1}" AWS_EC2_METADATA_DISABLED=true

"$root/target/debug/steward-local" run --port "$port" --stack steward-bench-web >"$log" 2>&1 &
stack=$!
trap 'kill "$stack" 2>/dev/null; wait "$stack" 2>/dev/null; rm -f "$log"' EXIT

# The stack is up once it says where it runs (the demo data loaded): three minutes at most.
for _ in $(seq 180); do
  if grep -q "Steward is running at" "$log"; then break; fi
  if ! kill -0 "$stack" 2>/dev/null; then cat "$log" >&2; exit 1; fi
  sleep 1
done
grep -q "Steward is running at" "$log" || { cat "$log" >&2; echo "run.sh: the stack did not start" >&2; exit 1; }

cd "$here"
node budgets.mjs "http://127.0.0.1:$port" "$out"

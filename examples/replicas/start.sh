#!/usr/bin/env bash
# Starts N Switchyard replicas (default 2) on one Redis, behind a round-robin balancer on :12000.
#   REDIS_URL=redis://127.0.0.1:6379 OPENAI_API_KEY=… ANTHROPIC_API_KEY=… examples/replicas/start.sh [N]
# Ctrl-C stops everything. Reload all replicas: kill -HUP the PIDs printed below, or POST
# /admin/v1/config/reload to each replica's own port (the balancer would pick one at random).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
replicas="${1:-2}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export SWITCHYARD_ADMIN_KEY="${SWITCHYARD_ADMIN_KEY:-change-me}"

[ -f "$root/dist/main.js" ] || (cd "$root" && npm run build --silent)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait' EXIT INT TERM

ports=()
for i in $(seq 1 "$replicas"); do
  port=$((12000 + i))
  ports+=("$port")
  node "$root/dist/main.js" --config "$here/config.yaml" --port "$port" &
  pids+=("$!")
  echo "replica $i: http://127.0.0.1:$port (pid $!)"
done
node "$here/balancer.mjs" 12000 "${ports[@]}" &
pids+=("$!")
wait

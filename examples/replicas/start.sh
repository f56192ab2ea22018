#!/usr/bin/env bash
# Starts N Switchyard replicas (default 2) on one Redis, behind a round-robin balancer on :12000.
#   [REDIS_URL=redis://host:6379] OPENAI_API_KEY=… ANTHROPIC_API_KEY=… examples/replicas/start.sh [N]
# Ctrl-C stops everything. Reload all replicas: kill -HUP the PIDs printed below, or POST
# /admin/v1/config/reload to each replica's own port (the balancer would pick one at random). With REDIS_URL set
# the replicas read a copy of config.yaml in a temporary directory: reload by editing that copy (path printed).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
replicas="${1:-2}"
config="$here/config.yaml"

[ -f "$root/dist/main.js" ] || (cd "$root" && npm run build --silent)
pids=()
workdir="$(mktemp -d)"
trap 'kill "${pids[@]}" 2>/dev/null || true; wait; rm -rf "$workdir"' EXIT INT TERM

# Every replica reads the same file, so they share its config generation (its modification time).
if [ -n "${REDIS_URL:-}" ]; then
  sed "s#url: redis://127.0.0.1:6379#url: ${REDIS_URL}#" "$here/config.yaml" > "$workdir/config.yaml"
  config="$workdir/config.yaml"
fi

echo "config: $config"
ports=()
for i in $(seq 1 "$replicas"); do
  port=$((12000 + i))
  ports+=("$port")
  node "$root/dist/main.js" --config "$config" --port "$port" &
  pids+=("$!")
  echo "replica $i: http://127.0.0.1:$port (pid $!)"
done
node "$here/balancer.mjs" 12000 "${ports[@]}" &
pids+=("$!")
wait

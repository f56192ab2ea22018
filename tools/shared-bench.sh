#!/usr/bin/env bash
# Runs the shared gateway-overhead bench (/work/shared/bench/bench.sh) with this checkout's gateway as the `custom`
# target, next to direct, the floor-json proxy and Portkey (pinned), then prints the summary tables.
#
# usage: bash tools/shared-bench.sh [OUTDIR]        (default bench-out/shared-YYYYmmdd-HHMMSS)
# needs: npm run build; once: bash /work/shared/bench/peers/install.sh (Portkey, wrk, nginx)
# env:   SHARED_BENCH_DIR (/work/shared/bench); TARGETS MODES CONCS DUR GW_CPU HARNESS_CPU as bench.sh documents;
#        GATEWAY_CMD (node $ROOT/dist/main.js) gets `--config FILE --port 3000` appended
#
# bench.sh runs everything inside `unshare -n` (a private network namespace with only loopback), so it needs
# root or unprivileged user namespaces.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${SHARED_BENCH_DIR:-/work/shared/bench}"
OUT="${1:-$ROOT/bench-out/shared-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

GATEWAY_CMD="${GATEWAY_CMD:-node $ROOT/dist/main.js}"
if [[ "$GATEWAY_CMD" == "node $ROOT/dist/main.js" && ! -f "$ROOT/dist/main.js" ]]; then
  echo "$ROOT/dist/main.js is missing: run \`npm run build\` first" >&2
  exit 1
fi
if ! command -v wrk >/dev/null; then
  echo "wrk is missing: run \`bash $SHARED/peers/install.sh\` first" >&2
  exit 1
fi

# The shared bodies ask for model gpt-4o-mini: alias it to the mock model. No routing_preferences, so this measures
# the proxy path (the router is not run).
CONFIG="$OUT/bench.yaml"
cat >"$CONFIG" <<'EOF'
version: v0.4.0
listeners:
  - type: model
    name: model_listener
    address: 127.0.0.1
    port: 3000
model_providers:
  - model: openai/mock-model
    base_url: http://127.0.0.1:18080
    default: true
model_aliases:
  gpt-4o-mini:
    target: openai/mock-model
EOF

TARGETS="${TARGETS:-direct floor-json custom portkey-pinned direct}" \
MODES="${MODES:-json stream}" \
CONCS="${CONCS:-1 32}" \
DUR="${DUR:-5}" \
CUSTOM_PORT=3000 \
CUSTOM_CMD="$GATEWAY_CMD --config $CONFIG --port 3000" \
  bash "$SHARED/bench.sh" "$OUT"

node "$SHARED/summarize.mjs" "$OUT/results.jsonl" | tee "$OUT/summary.md"
echo "results: $OUT/results.jsonl, summary: $OUT/summary.md" >&2

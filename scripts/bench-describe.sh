#!/usr/bin/env bash
# Measures `describe` latency (Packer runs it for every installed plugin on every command) for our
# release binary and the Go nutanix plugin v1.2.1, with hyperfine (no shell, warm-up runs first).
# Target: ours <= 0.2x the Go plugin's mean time.
#
# The Go plugin is looked up, never built: $GO_NUTANIX_PLUGIN, else
# ~/.cache/packer-plugin-nutanix/peers/packer-plugin-nutanix-go-1.2.1 (scripts/build-peers.sh
# go-nutanix makes it). Without it only our side is measured.
#
# Usage: scripts/bench-describe.sh [runs (default 300)]
# Prints a small table; writes hyperfine's JSON to target/bench/describe-hyperfine.json and a
# summary to target/bench/describe.json.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-300}
command -v hyperfine >/dev/null || { echo "hyperfine is missing (apt-get install hyperfine)" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq is missing (apt-get install jq)" >&2; exit 1; }
cargo build --release -q -p packer-plugin-nutanix
ours=${CARGO_TARGET_DIR:-target}/release/packer-plugin-nutanix
go_plugin=${GO_NUTANIX_PLUGIN:-$HOME/.cache/packer-plugin-nutanix/peers/packer-plugin-nutanix-go-1.2.1}
mkdir -p target/bench

cmds=("$ours describe")
if [ -x "$go_plugin" ]; then
  cmds+=("$go_plugin describe")
else
  echo "bench-describe: Go plugin not found at $go_plugin; measuring ours only (scripts/build-peers.sh go-nutanix builds it)" >&2
fi
load=$(cut -d' ' -f1-3 /proc/loadavg)
hyperfine -N --style basic --warmup 20 --runs "$RUNS" --export-json target/bench/describe-hyperfine.json "${cmds[@]}" >&2
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

jq --arg load "$load" --arg load_after "$load_after" '
  def ms: . * 1000 * 1000 | round / 1000;
  (.results | map({command, mean_ms: (.mean | ms), stddev_ms: (.stddev | ms), median_ms: (.median | ms),
                   min_ms: (.min | ms), max_ms: (.max | ms), runs: (.times | length)})) as $r
  | {benchmark: "describe", load_before: $load, load_after: $load_after, target_ratio_max: 0.2, results: $r,
     ratio_mean: (if ($r | length) == 2 then (($r[0].mean_ms / $r[1].mean_ms) * 1000 | round / 1000) else null end),
     ratio_median: (if ($r | length) == 2 then (($r[0].median_ms / $r[1].median_ms) * 1000 | round / 1000) else null end)}
' target/bench/describe-hyperfine.json >target/bench/describe.json

echo "describe latency (hyperfine -N, ${RUNS} runs; load average before: $load, after: $load_after)"
jq -r '.results[] | [(.command | sub(".*/"; "")), .mean_ms, .stddev_ms, .median_ms, .min_ms, .max_ms] | @tsv' target/bench/describe.json |
  awk -F'\t' 'BEGIN { printf "%-52s %9s %9s %9s %9s %9s\n", "command", "mean ms", "± ms", "median", "min", "max" }
              { printf "%-52s %9.3f %9.3f %9.3f %9.3f %9.3f\n", $1, $2, $3, $4, $5, $6 }'
jq -r 'if .ratio_mean then "ours / Go: \(.ratio_mean)x (mean), \(.ratio_median)x (median); target <= 0.2x" else "ours / Go: n/a (Go plugin missing)" end' target/bench/describe.json
echo "wrote target/bench/describe.json"

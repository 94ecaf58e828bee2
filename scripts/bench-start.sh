#!/usr/bin/env bash
# Time from process start to the first Builder.ConfigSpec reply, ours vs the Go nutanix plugin
# v1.2.1, measured by tests/interop/cmd/startbench: packer-plugin-sdk's own RPC client launching
# the plugin the way Packer core does (cookie, handshake line, yamux, Builder.ConfigSpec), for
# the gob encoding (Packer <= 1.11, or PACKER_FORCE_GOB) and protobuf (Packer >= 1.12).
#
# The Go plugin is looked up, never built: $GO_NUTANIX_PLUGIN, else
# ~/.cache/packer-plugin-nutanix/peers/packer-plugin-nutanix-go-1.2.1. Without it only our side runs.
#
# Usage: scripts/bench-start.sh [runs (default 100)] [warm-up runs (default 10)]
# Prints a small table; writes target/bench/start.json (every sample in target/bench/start-*.json).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-100}
WARMUP=${2:-10}
command -v go >/dev/null || { echo "bench-start: go is missing" >&2; exit 1; }
command -v jq >/dev/null || { echo "bench-start: jq is missing" >&2; exit 1; }
cargo build --release -q -p packer-plugin-nutanix
ours=${CARGO_TARGET_DIR:-target}/release/packer-plugin-nutanix
go_plugin=${GO_NUTANIX_PLUGIN:-$HOME/.cache/packer-plugin-nutanix/peers/packer-plugin-nutanix-go-1.2.1}
mkdir -p target/bench/bin
bench=$PWD/target/bench/bin/startbench
(cd tests/interop && go build -buildvcs=false -o "$bench" ./cmd/startbench)

sides=("ours:$ours")
if [ -x "$go_plugin" ]; then
  sides+=("go:$go_plugin")
else
  echo "bench-start: Go plugin not found at $go_plugin; measuring ours only" >&2
fi

load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "process start -> first Builder.ConfigSpec reply (packer-plugin-sdk client; $RUNS runs after $WARMUP warm-up; load before: $load)"
files=()
for enc in gob protobuf; do
  flag=(); [ "$enc" = protobuf ] && flag=(-proto)
  for side in "${sides[@]}"; do
    who=${side%%:*} bin=${side#*:}
    out=target/bench/start-$who-$enc.json
    "$bench" -plugin "$bin" -runs "$RUNS" -warmup "$WARMUP" "${flag[@]}" -label "$who" -json "$out" >/dev/null
    files+=("$out")
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

jq -s --arg load "$load" --arg load_after "$load_after" '
  def r3: . * 1000 | round / 1000;
  (map({side: .label, encoding: (if .protobuf then "protobuf" else "gob" end), runs,
        median_ms: (.config_spec_stats_ms.median | r3), mean_ms: (.config_spec_stats_ms.mean | r3),
        stddev_ms: (.config_spec_stats_ms.stddev | r3), min_ms: (.config_spec_stats_ms.min | r3),
        p90_ms: (.config_spec_stats_ms.p90 | r3), handshake_median_ms: (.handshake_stats_ms.median | r3)})) as $rows
  | {benchmark: "start to first Builder.ConfigSpec reply", load_before: $load, load_after: $load_after,
     results: $rows,
     ratios: ([$rows[] | select(.side == "ours")] | map(. as $o
       | ([$rows[] | select(.side == "go" and .encoding == $o.encoding)] | first) as $g
       | select($g != null)
       | {encoding: $o.encoding, median_ratio: (($o.median_ms / $g.median_ms) | r3), mean_ratio: (($o.mean_ms / $g.mean_ms) | r3)}))}
' "${files[@]}" >target/bench/start.json

printf '%-5s %-9s %10s %10s %8s %9s %9s %14s\n' side encoding 'median ms' 'mean ms' '± ms' 'min ms' 'p90 ms' 'handshake med'
jq -r '.results[] | [.side, .encoding, .median_ms, .mean_ms, .stddev_ms, .min_ms, .p90_ms, .handshake_median_ms] | @tsv' target/bench/start.json |
  awk -F'\t' '{ printf "%-5s %-9s %10.2f %10.2f %8.2f %9.2f %9.2f %14.2f\n", $1, $2, $3, $4, $5, $6, $7, $8 }'
jq -r '.ratios[] | "ours / Go (\(.encoding)): \(.median_ratio)x median, \(.mean_ratio)x mean"' target/bench/start.json
echo "load average after: $load_after; wrote target/bench/start.json"

#!/usr/bin/env bash
# Measures `describe` latency (Packer runs it for every installed plugin on every command) for our
# release binary and, when built, the Go nutanix plugin v1.2.1 (scripts/build-peers.sh go-nutanix).
# Prints hyperfine's table; writes JSON to target/bench/describe.json.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "hyperfine is missing (apt-get install hyperfine)" >&2; exit 1; }
cargo build --release --locked -q
ours=${CARGO_TARGET_DIR:-target}/release/packer-plugin-nutanix
go_plugin=$(bash scripts/build-peers.sh go-nutanix 2>/dev/null || true)
mkdir -p target/bench
cmds=("$ours describe")
[ -x "${go_plugin:-}" ] && cmds+=("$go_plugin describe")
hyperfine -N --warmup 20 --runs 300 --export-json target/bench/describe.json "${cmds[@]}"

#!/usr/bin/env bash
# The project's test command (README, .ci/run): unit tests, the real-Packer tests (Packer 1.16 with
# protobuf and with gob, Packer 1.11), and the Go interop harness built on packer-plugin-sdk.
# Needs the Go peers; builds them (cached under ~/.cache) when missing. Ends with one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/build-peers.sh packer-1.16 packer-1.11 sdc >/dev/null

export CHECKPOINT_DISABLE=1
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

cargo build --workspace --all-targets --locked
status=0
cargo test --workspace --locked -- --test-threads=2 2>&1 | tee "$logs/cargo.log" || status=1
# The workspace build above already made the interop example; building it again with -p would
# unify features differently and recompile half the dependency tree.
INTEROP_PLUGIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/examples/interop-plugin" \
  bash tests/interop/run.sh -v 2>&1 | tee "$logs/go.log" || status=1

# Totals over both runners: cargo's "test result:" lines and go test's per-test verdicts
# (subtests included, since the interop scenarios are subtests).
read -r passed failed < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
  END { print p + 0, f + 0 }' "$logs/cargo.log")
go_passed=$(grep -cE -- '^[[:space:]]*--- PASS' "$logs/go.log" || true)
go_failed=$(grep -cE -- '^[[:space:]]*--- FAIL' "$logs/go.log" || true)
echo
echo "total: $((passed + go_passed)) passed, $((failed + go_failed)) failed"
exit $status

#!/usr/bin/env bash
# The project's test command (README, `make test`, .ci/run): unit tests, the real-Packer tests
# (Packer 1.16 with protobuf and with gob, Packer 1.11), and the Go interop harness built on
# packer-plugin-sdk. Ends with one summary line.
#
# A fresh machine needs only the Rust and Go toolchains: this script installs the system packages
# the tests use (scripts/deps/test.txt, through scripts/ensure-deps.sh) when it runs as root, and
# otherwise prints the apt-get command to run and stops. It builds the Go peers (real Packer,
# packer-sdc, actionlint) into ~/.cache/packer-plugin-nutanix/peers when missing. No test is
# skipped for a missing tool: a test whose tool is missing fails.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "test.sh: $*" >&2; exit 1; }
command -v cargo >/dev/null || die "cargo is not on PATH: install Rust (https://rustup.rs)"
command -v go >/dev/null || die "go is not on PATH: install Go >= 1.25 (https://go.dev/dl); the Packer peers and the interop harness are built with it"

bash scripts/ensure-deps.sh scripts/deps/test.txt
export PATH="${PY_VENV:-$HOME/.cache/packer-plugin-nutanix/venv}/bin:$PATH"
if [ "$(id -u)" != 0 ]; then
  echo "test.sh: not running as root: the SSH password tests cannot create their user and will fail" >&2
fi

bash scripts/build-peers.sh packer-1.16 packer-1.11 sdc actionlint >/dev/null

export CHECKPOINT_DISABLE=1
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

cargo build --workspace --all-targets --locked
status=0
cargo test --workspace --locked --no-fail-fast -- --test-threads=2 2>&1 | tee "$logs/cargo.log" || status=1
# The workspace build above already made the interop example; building it again with -p would
# unify features differently and recompile half the dependency tree.
INTEROP_PLUGIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/examples/interop-plugin" \
  bash tests/interop/run.sh -v 2>&1 | tee "$logs/go.log" || status=1

# Totals over both runners: cargo's "test result:" lines and go test's per-test verdicts
# (subtests included, since the interop scenarios are subtests). Ignored tests are opt-in by
# design (each says why); they are listed so that nothing passes unnoticed as "not run".
read -r passed failed ignored < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) {
    if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) g += $i } }
  END { print p + 0, f + 0, g + 0 }' "$logs/cargo.log")
go_passed=$(grep -cE -- '^[[:space:]]*--- PASS' "$logs/go.log" || true)
go_failed=$(grep -cE -- '^[[:space:]]*--- FAIL' "$logs/go.log" || true)
go_skipped=$(grep -cE -- '^[[:space:]]*--- SKIP' "$logs/go.log" || true)
echo
if [ "$ignored" -gt 0 ]; then
  echo "opt-in tests not run (cargo test ... -- --ignored runs them):"
  grep -E '^test .* \.\.\. ignored' "$logs/cargo.log" | sed 's/^test /  /' || true
fi
if [ "$go_skipped" -gt 0 ]; then
  echo "go test skipped tests (a failure of the test command):"
  grep -E -- '^[[:space:]]*--- SKIP' "$logs/go.log" || true
  status=1
fi
echo "total: $((passed + go_passed)) passed, $((failed + go_failed)) failed, $((ignored + go_skipped)) skipped"
exit $status

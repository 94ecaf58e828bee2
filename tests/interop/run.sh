#!/usr/bin/env bash
# Drives the Rust interop plugin with the Go SDK's own RPC client (github.com/hashicorp/packer-plugin-sdk
# v0.6.10, the code Packer core links), for both ConfigSpec encodings.
#
#   tests/interop/run.sh                 build `cargo build -p packer-rpc --example interop-plugin`, test it
#                                        (with INTEROP_PLUGIN already set: test that binary, build nothing)
#   tests/interop/run.sh --reference     test refplugin/ instead: the same contract written with the Go SDK,
#                                        to check the harness itself
#   extra arguments go to `go test`, e.g.  run.sh -run 'TestInterop/gob' -v
#
# Go modules come from the Go module proxy into the module cache; build output is cached in GOCACHE
# (~/.cache/go-build by default), so repeated runs only rebuild what changed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

command -v go >/dev/null || { echo "run.sh: 'go' is not on PATH (Go >= 1.25 is needed)" >&2; exit 1; }

mode=rust
if [[ "${1:-}" == "--reference" ]]; then
  mode=reference
  shift
fi

if [[ "$mode" == rust && -n "${INTEROP_PLUGIN:-}" ]]; then
  plugin="$INTEROP_PLUGIN"
  export INTEROP_GO_REFERENCE=0
elif [[ "$mode" == rust ]]; then
  cargo build --manifest-path "$root/Cargo.toml" -p packer-rpc --example interop-plugin
  plugin="${CARGO_TARGET_DIR:-$root/target}/debug/examples/interop-plugin"
  export INTEROP_GO_REFERENCE=0
else
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
  (cd "$here" && go build -buildvcs=false -o "$out/refplugin" ./refplugin)
  plugin="$out/refplugin"
  export INTEROP_GO_REFERENCE=1
fi

[[ -x "$plugin" ]] || { echo "run.sh: no plugin binary at $plugin" >&2; exit 1; }

cd "$here"
INTEROP_PLUGIN="$plugin" go test -count=1 -timeout 10m "$@" ./...

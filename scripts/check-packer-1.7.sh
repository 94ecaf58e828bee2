#!/usr/bin/env bash
# By-hand compatibility check with Packer 1.7.10, the oldest Packer that loads this plugin: it
# runs tests/packer_init.rs (packer init of a release packed by scripts/release-assets.sh, from the
# stand-in GitHub, for `>= 1.1.9`, `~> 1.2` and `>= 0.8.1` pins, then packer validate) with Packer
# 1.7 added to 1.16 and 1.11, and installs the plugin into Packer 1.7 the way scripts/demo.sh and
# `make dev` do (no `plugins install --path` before 1.10) and validates every example with it.
#
# Not part of the test command: Packer 1.7 bundles every HashiCorp plugin of its day, so building
# it from its Go module takes many minutes on a small machine (and Go 1.22, fetched as a
# toolchain module), for a release few people still run. Run it before a release, and after
# changes to the plugin protocol, describe, or the release assets.
#
# Usage: scripts/check-packer-1.7.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-deps.sh scripts/deps/test.txt
packer17=$(bash scripts/build-peers.sh packer-1.7)
bash scripts/build-peers.sh packer-1.16 packer-1.11 >/dev/null
echo "check-packer-1.7: $("$packer17" version | head -n1) at $packer17"

export CHECKPOINT_DISABLE=1
PACKER_INIT_EXTRA=$packer17 cargo test --locked -p packer-plugin-nutanix --test packer_init -- --test-threads=1

# `make dev`'s install path for Packer < 1.10, then every example through Packer 1.7.
cargo build --locked -p packer-plugin-nutanix
binary=${CARGO_TARGET_DIR:-target}/debug/packer-plugin-nutanix
plugins=$(mktemp -d)
home=$(mktemp -d)
trap 'rm -rf "$plugins" "$home"' EXIT
PACKER_PLUGIN_PATH=$plugins HOME=$home bash scripts/install-plugin.sh "$packer17" "$binary"
status=0
for dir in examples/*/; do
  targets=()
  compgen -G "$dir*.pkr.hcl" >/dev/null && targets+=(.)
  for json in "$dir"*.json; do [ -f "$json" ] && targets+=("$(basename "$json")"); done
  for t in "${targets[@]}"; do
    if (cd "$dir" && PACKER_PLUGIN_PATH=$plugins HOME=$home NUTANIX_PASSWORD=example "$packer17" validate "$t" >"$home/out" 2>&1); then
      echo "check-packer-1.7: $dir$t validates"
    else
      echo "check-packer-1.7: $dir$t FAILS with Packer 1.7:" >&2
      cat "$home/out" >&2
      status=1
    fi
  done
done
exit $status

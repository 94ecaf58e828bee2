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
# With GO_NUTANIX_SRC set (see scripts/build-peers.sh), it also validates the Go plugin's own v1.3.0
# example, unchanged, with Packer 1.7, 1.11 and 1.16.
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

# With GO_NUTANIX_SRC (a git dir of the Go plugin, as for scripts/build-peers.sh go-nutanix): the
# Go plugin's own v1.3.0 example, pinned `>= 1.1.9`, validates unchanged with each Packer.
if [ -n "${GO_NUTANIX_SRC:-}" ]; then
  example=$(mktemp -d)
  git --git-dir="$GO_NUTANIX_SRC" archive v1.3.0 example | tar -x -C "$example"
  vars=(-var nutanix_username=admin -var nutanix_password=example-password -var nutanix_cluster=cluster
    -var nutanix_subnet=subnet -var nutanix_endpoint=prism.example.com)
  for v in centos_iso_image_name centos_disk_image_name ubuntu_disk_image_name ubuntu_iso_image_name \
    windows_2016_iso_image_name virtio_iso_image_name; do vars+=(-var "$v=image-$v"); done
  for packer in "$packer17" "$(bash scripts/build-peers.sh packer-1.11)" "$(bash scripts/build-peers.sh packer-1.16)"; do
    fresh=$(mktemp -d)
    PACKER_PLUGIN_PATH=$fresh HOME=$home bash scripts/install-plugin.sh "$packer" "$binary" >/dev/null
    if (cd "$example/example" && PACKER_PLUGIN_PATH=$fresh HOME=$home "$packer" validate "${vars[@]}" . >"$home/out" 2>&1); then
      echo "check-packer-1.7: the Go plugin's v1.3.0 example validates with $("$packer" version | head -n1)"
    else
      echo "check-packer-1.7: the Go plugin's v1.3.0 example FAILS with $packer:" >&2
      cat "$home/out" >&2
      status=1
    fi
    rm -rf "$fresh"
  done
  rm -rf "$example"
fi
exit $status

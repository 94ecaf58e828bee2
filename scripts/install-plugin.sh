#!/usr/bin/env bash
# Installs a plugin binary into Packer's plugin directory the way Packer itself would, for any
# Packer from 1.7 on:
#   Packer >= 1.10: `packer plugins install --path BINARY github.com/nutanix-cloud-native/nutanix`
#   Packer 1.7-1.9 (no --path): the layout `packer init` produces, written by hand:
#       <plugin dir>/github.com/nutanix-cloud-native/nutanix/packer-plugin-nutanix_v<X.Y.Z>_x5.0_<os>_<arch>
#       and beside it <that name>_SHA256SUM holding the binary's sha256 in hex, plus
#       <plugin dir>/packer-plugin-nutanix, which is how these Packers find plugins for
#       templates without required_plugins (legacy JSON)
#     where <plugin dir> is the last entry of PACKER_PLUGIN_PATH, else ~/.packer.d/plugins, and
#     X.Y.Z and x5.0 come from the binary's own `describe`.
#
# Usage: scripts/install-plugin.sh PACKER BINARY   (`make dev` and scripts/demo.sh use it)
set -euo pipefail

die() { echo "install-plugin: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: scripts/install-plugin.sh PACKER BINARY"
packer=$1
binary=$2
source_addr=github.com/nutanix-cloud-native/nutanix
[ -x "$binary" ] || die "$binary is not an executable (build it with cargo build --release)"

version=$(CHECKPOINT_DISABLE=1 "$packer" version 2>/dev/null | head -n1 | sed -n 's/^Packer v\([0-9]*\)\.\([0-9]*\)\..*/\1 \2/p')
[ -n "$version" ] || die "$packer does not look like HashiCorp Packer"
read -r major minor <<<"$version"

if [ "$major" -gt 1 ] || [ "$minor" -ge 10 ]; then
  CHECKPOINT_DISABLE=1 "$packer" plugins install --path "$binary" "$source_addr"
  exit 0
fi
[ "$minor" -ge 7 ] || die "Packer 1.$minor cannot load this plugin (1.7 or newer is needed)"

described=$("$binary" describe) || die "$binary describe failed"
plugin_version=$(printf '%s' "$described" | sed -n 's/.*"version":"\([^"]*\)".*/\1/p')
api=$(printf '%s' "$described" | sed -n 's/.*"api_version":"\([^"]*\)".*/\1/p')
[ -n "$plugin_version" ] && [ -n "$api" ] || die "cannot read version and api_version from: $described"
case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) die "unsupported OS $(uname -s)" ;; esac
case "$(uname -m)" in x86_64 | amd64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; *) die "unsupported CPU $(uname -m)" ;; esac

plugin_dir=${PACKER_PLUGIN_PATH:-$HOME/.packer.d/plugins}
plugin_dir=${plugin_dir##*:}
dest="$plugin_dir/$source_addr"
name="packer-plugin-nutanix_v${plugin_version}_${api}_${os}_${arch}"
mkdir -p "$dest"
cp "$binary" "$dest/$name.tmp"
chmod 0755 "$dest/$name.tmp"
mv "$dest/$name.tmp" "$dest/$name"
sha256sum "$dest/$name" | cut -d' ' -f1 | tr -d '\n' >"$dest/${name}_SHA256SUM"
# Before 1.10, Packer finds plugins for templates without required_plugins (legacy JSON) only as
# flat packer-plugin-<name> files in the plugin directory.
cp "$binary" "$plugin_dir/packer-plugin-nutanix.tmp"
chmod 0755 "$plugin_dir/packer-plugin-nutanix.tmp"
mv "$plugin_dir/packer-plugin-nutanix.tmp" "$plugin_dir/packer-plugin-nutanix"
echo "Installed plugin $source_addr $plugin_version in \"$dest/$name\" and, for JSON templates, \"$plugin_dir/packer-plugin-nutanix\" (Packer 1.$minor has no plugins install --path)"

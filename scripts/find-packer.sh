#!/usr/bin/env bash
# Prints the path of the Packer to use, and says on stderr which one and why:
#   1. $PACKER, when set (it must be Packer 1.7 or newer);
#   2. else `packer` on PATH, when it is Packer 1.7 or newer (the first release that loads
#      multi-component plugins like this one);
#   3. else (none on PATH, or an older one) Packer 1.16 built from its Go module by
#      scripts/build-peers.sh into ~/.cache/packer-plugin-nutanix/peers (needs Go; cached).
# A `packer` on PATH that is not HashiCorp Packer (e.g. cracklib's) is passed over the same way.
#
# Usage: scripts/find-packer.sh            prints the path
#        scripts/find-packer.sh --version  prints "PATH VERSION" (e.g. for install-plugin.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "find-packer: $*" >&2; }

# packer_version BINARY: X.Y.Z of a HashiCorp Packer binary, or nothing.
packer_version() {
  local out
  out=$(CHECKPOINT_DISABLE=1 timeout 20 "$1" version 2>/dev/null | head -n1) || return 0
  [[ $out =~ ^Packer\ v([0-9]+)\.([0-9]+)\.([0-9]+) ]] || return 0
  echo "${BASH_REMATCH[1]}.${BASH_REMATCH[2]}.${BASH_REMATCH[3]}"
}

# at_least_1_7 X.Y.Z
at_least_1_7() {
  local major minor
  IFS=. read -r major minor _ <<<"$1"
  [ "$major" -gt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -ge 7 ]; }
}

found=
version=
if [ -n "${PACKER:-}" ]; then
  bin=$(command -v "$PACKER" || true)
  [ -n "$bin" ] || { say "PACKER=$PACKER is not an executable"; exit 1; }
  version=$(packer_version "$bin")
  [ -n "$version" ] || { say "PACKER=$PACKER does not answer 'version' like HashiCorp Packer"; exit 1; }
  at_least_1_7 "$version" || { say "PACKER=$PACKER is Packer $version; the plugin needs 1.7 or newer"; exit 1; }
  found=$bin
  say "using Packer $version from PACKER=$PACKER"
elif bin=$(command -v packer 2>/dev/null) && [ -n "$bin" ]; then
  version=$(packer_version "$bin")
  if [ -z "$version" ]; then
    say "$bin is not HashiCorp Packer; building one instead"
  elif ! at_least_1_7 "$version"; then
    say "$bin is Packer $version, older than 1.7; building Packer 1.16 instead"
  else
    found=$bin
    say "using Packer $version from PATH ($bin)"
  fi
else
  say "no packer on PATH; building Packer 1.16 from its Go module (cached in ~/.cache/packer-plugin-nutanix/peers)"
fi
if [ -z "$found" ]; then
  command -v go >/dev/null || { say "go is needed to build Packer: install Go, or put Packer >= 1.7 on PATH"; exit 1; }
  found=$(bash scripts/build-peers.sh packer-1.16)
  version=$(packer_version "$found")
  say "using Packer $version built from source ($found)"
fi
if [ "${1:-}" = --version ]; then
  echo "$found $version"
else
  echo "$found"
fi

#!/usr/bin/env bash
# Builds the Go test peers (real Packer releases, packer-sdc, and optionally the Go nutanix plugin)
# from their Go modules into ~/.cache/packer-plugin-nutanix/peers, keyed by version.
# These are test tooling only: nothing built here is ever committed or shipped.
#
# Usage: scripts/build-peers.sh [packer-1.16|packer-1.11|packer-1.10|packer-1.7|sdc|actionlint|go-nutanix|all]...
# (packer-1.10 and packer-1.7 are for manual compatibility checks, e.g. scripts/check-packer-1.7.sh;
# the test suite uses 1.16 and 1.11, packer-sdc and actionlint.)
# Prints nothing on stdout but the paths of the binaries it made or found.
#
# go-nutanix: the Go module proxy refuses github.com/nutanix-cloud-native/packer-plugin-nutanix
# (403), so it is built from a source snapshot named by GO_NUTANIX_SRC: either a git directory
# (bare or not) that has the tag $GO_NUTANIX_VERSION, or an unpacked source tree of that release.
# The snapshot is read only; the build happens in a temporary copy under the cache.
set -euo pipefail

PACKER_NEW=${PACKER_NEW:-v1.16.0}
PACKER_OLD=${PACKER_OLD:-v1.11.2}
SDC_VERSION=${SDC_VERSION:-v0.6.10}
ACTIONLINT_VERSION=${ACTIONLINT_VERSION:-v1.7.12}
GO_NUTANIX_VERSION=${GO_NUTANIX_VERSION:-v1.2.1}
CACHE=${PEER_CACHE:-$HOME/.cache/packer-plugin-nutanix/peers}
mkdir -p "$CACHE"

# build_module MODULE VERSION PKG OUT [GOTOOLCHAIN]
build_module() {
  local module=$1 version=$2 pkg=$3 out=$4 toolchain=${5:-}
  if [ -x "$out" ]; then echo "$out"; return 0; fi
  local dir work
  local meta
  meta=$(GOFLAGS=-mod=mod go mod download -json "$module@$version" 2>&1 || true)
  dir=$(printf '%s\n' "$meta" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  if [ -z "$dir" ]; then
    echo "cannot download $module@$version from the Go module proxy:" >&2
    printf '%s\n' "$meta" | sed -n 's/^[[:space:]]*"Error": "\(.*\)"$/  \1/p' >&2
    return 1
  fi
  work=$(mktemp -d "$CACHE/build.XXXXXX")
  cp -r "$dir/." "$work/"
  chmod -R u+w "$work"
  (
    cd "$work"
    if [ -n "$toolchain" ]; then export GOTOOLCHAIN=$toolchain; fi
    CGO_ENABLED=0 go build -trimpath -o "$out.tmp" "$pkg" >&2
  )
  mv "$out.tmp" "$out"
  rm -rf "$work"
  echo "$out"
}

# build_go_nutanix OUT: the Go nutanix plugin from the snapshot in $GO_NUTANIX_SRC.
build_go_nutanix() {
  local out=$1 src=${GO_NUTANIX_SRC:-} work
  if [ -x "$out" ]; then echo "$out"; return 0; fi
  if [ -z "$src" ]; then
    echo "go-nutanix: the Go module proxy does not serve github.com/nutanix-cloud-native/packer-plugin-nutanix;" >&2
    echo "  set GO_NUTANIX_SRC to a git clone (or bare git dir) of it that has the tag $GO_NUTANIX_VERSION," >&2
    echo "  or to an unpacked source tree of that release, and run this again" >&2
    return 1
  fi
  work=$(mktemp -d "$CACHE/build.XXXXXX")
  if git --git-dir="$src" rev-parse --verify -q "$GO_NUTANIX_VERSION^{commit}" >/dev/null 2>&1; then
    git --git-dir="$src" archive "$GO_NUTANIX_VERSION" | tar -x -C "$work"
  elif git -C "$src" rev-parse --verify -q "$GO_NUTANIX_VERSION^{commit}" >/dev/null 2>&1; then
    git -C "$src" archive "$GO_NUTANIX_VERSION" | tar -x -C "$work"
  elif [ -f "$src/go.mod" ] && grep -q '^module github.com/nutanix-cloud-native/packer-plugin-nutanix' "$src/go.mod"; then
    cp -r "$src/." "$work/"
    chmod -R u+w "$work"
  else
    echo "go-nutanix: $src has no tag $GO_NUTANIX_VERSION and is not the plugin's source tree" >&2
    rm -rf "$work"
    return 1
  fi
  (cd "$work" && CGO_ENABLED=0 go build -trimpath -o "$out.tmp" . >&2)
  mv "$out.tmp" "$out"
  rm -rf "$work"
  echo "$out"
}

want() {
  case "$1" in
    packer-1.16) build_module github.com/hashicorp/packer "$PACKER_NEW" . "$CACHE/packer-${PACKER_NEW#v}" ;;
    packer-1.10) build_module github.com/hashicorp/packer "${PACKER_1_10:-v1.10.3}" . "$CACHE/packer-$(v=${PACKER_1_10:-v1.10.3}; echo ${v#v})" go1.22.12 ;;
    packer-1.7) build_module github.com/hashicorp/packer "${PACKER_1_7:-v1.7.10}" . "$CACHE/packer-$(v=${PACKER_1_7:-v1.7.10}; echo ${v#v})" go1.22.12 ;;
    packer-1.11) build_module github.com/hashicorp/packer "$PACKER_OLD" . "$CACHE/packer-${PACKER_OLD#v}" go1.22.12 ;;
    sdc) build_module github.com/hashicorp/packer-plugin-sdk "$SDC_VERSION" ./cmd/packer-sdc "$CACHE/packer-sdc-${SDC_VERSION#v}" ;;
    actionlint) build_module github.com/rhysd/actionlint "$ACTIONLINT_VERSION" ./cmd/actionlint "$CACHE/actionlint-${ACTIONLINT_VERSION#v}" ;;
    go-nutanix) build_go_nutanix "$CACHE/packer-plugin-nutanix-go-${GO_NUTANIX_VERSION#v}" ;;
    all) want packer-1.16; want packer-1.11; want sdc; want actionlint ;;
    *) echo "unknown peer: $1" >&2; return 2 ;;
  esac
}

[ $# -gt 0 ] || set -- all
for p in "$@"; do want "$p"; done

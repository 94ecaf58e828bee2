#!/usr/bin/env bash
# Packs release assets under the names `packer init` and `packer plugins install` look for on a
# GitHub release (the names GoReleaser gives the Go plugin's assets):
#
#   packer-plugin-nutanix_vX.Y.Z_x5.0_<os>_<arch>.zip   holding one file of the same name
#                                                       (plus .exe on Windows), mode 0755
#   packer-plugin-nutanix_vX.Y.Z_SHA256SUMS            "<sha256>  <zip name>" per zip, sorted
#
# <os>/<arch> use Go's names (linux, darwin, windows, freebsd / amd64, arm64, 386, arm), because
# Packer compares them with its own runtime.GOOS/GOARCH. x5.0 is the plugin API version every
# Packer from 1.7 to 1.16 accepts. When the binary can run here, its `describe` output must report
# exactly X.Y.Z and x5.0, so a mislabelled binary cannot be published.
#
# Usage:
#   scripts/release-assets.sh VERSION DIR [BINARY [OS ARCH]]
#       pack BINARY (default: ${CARGO_TARGET_DIR:-target}/release/packer-plugin-nutanix, built for
#       this machine, whose OS/ARCH are the default) into DIR, then rewrite DIR's SHA256SUMS
#   scripts/release-assets.sh VERSION DIR --sums-only
#       only rewrite the SHA256SUMS of the zips already in DIR (after collecting every platform's)
# VERSION is X.Y.Z or vX.Y.Z (a git tag); pre-release and build suffixes are refused, because
# `packer init` refuses to install them.
set -euo pipefail

die() { echo "release-assets: $*" >&2; exit 1; }
usage() { sed -n '/^# Usage:/,/^# VERSION/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

[ $# -ge 2 ] || usage
version=${1#v}
dir=$2
shift 2
[[ $version =~ ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$ ]] ||
  die "version '$version' is not X.Y.Z (pre-releases and +metadata cannot be installed by packer init)"

name=packer-plugin-nutanix
api=${API_VERSION:-x5.0}
[ "$api" = x5.0 ] || die "API_VERSION=$api: every released Packer (1.7 to 1.16) accepts only x5.0"

go_os() {
  case "$(uname -s)" in
    Linux) echo linux ;;
    Darwin) echo darwin ;;
    FreeBSD) echo freebsd ;;
    MINGW* | MSYS* | CYGWIN* | Windows_NT) echo windows ;;
    *) die "unknown OS $(uname -s); give OS and ARCH" ;;
  esac
}
go_arch() {
  case "$(uname -m)" in
    x86_64 | amd64) echo amd64 ;;
    aarch64 | arm64) echo arm64 ;;
    i386 | i686) echo 386 ;;
    armv6l | armv7l) echo arm ;;
    *) die "unknown CPU $(uname -m); give OS and ARCH" ;;
  esac
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d' ' -f1
  else
    die "neither sha256sum nor shasum is installed"
  fi
}

python_cmd() {
  local p
  for p in python3 python; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import zipfile' >/dev/null 2>&1; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# zip_one ZIP FILE: a zip holding FILE (by its base name, at the root, keeping its mode).
zip_one() {
  local zip=$1 file=$2 py
  rm -f "$zip"
  if command -v zip >/dev/null 2>&1; then
    (cd "$(dirname "$file")" && zip -q -X "$zip" "$(basename "$file")")
  elif py=$(python_cmd); then
    (cd "$(dirname "$file")" && "$py" -m zipfile -c "$zip" "$(basename "$file")")
  elif command -v 7z >/dev/null 2>&1; then
    (cd "$(dirname "$file")" && 7z a -tzip -bd "$zip" "$(basename "$file")" >/dev/null)
  else
    die "no zip tool: install zip (or python3, or 7z)"
  fi
}

write_sums() {
  local sums="$dir/${name}_v${version}_SHA256SUMS" zips=() z
  while IFS= read -r z; do zips+=("$z"); done < <(
    find "$dir" -maxdepth 1 -type f -name "${name}_v${version}_${api}_*.zip" -exec basename {} \; | LC_ALL=C sort
  )
  [ ${#zips[@]} -gt 0 ] || die "no ${name}_v${version}_${api}_*.zip in $dir"
  : >"$sums.tmp"
  for z in "${zips[@]}"; do
    printf '%s  %s\n' "$(sha256_of "$dir/$z")" "$z" >>"$sums.tmp"
  done
  mv "$sums.tmp" "$sums"
  echo "release-assets: wrote $sums (${#zips[@]} zip(s))" >&2
}

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

if [ "${1:-}" = --sums-only ]; then
  write_sums
  exit 0
fi

host_os=$(go_os)
host_arch=$(go_arch)
binary=${1:-}
os=${2:-$host_os}
arch=${3:-$host_arch}
if [ -z "$binary" ]; then
  binary="${CARGO_TARGET_DIR:-target}/release/$name"
  [ "$os" = windows ] && binary="$binary.exe"
fi
[ -f "$binary" ] || die "binary $binary does not exist (build it with cargo build --release)"
case "$os" in linux | darwin | windows | freebsd | netbsd | openbsd | solaris) ;; *) die "OS '$os' is not a Go GOOS name" ;; esac
case "$arch" in amd64 | arm64 | 386 | arm) ;; *) die "ARCH '$arch' is not a Go GOARCH name" ;; esac

if [ "$os/$arch" = "$host_os/$host_arch" ]; then
  described=$("$binary" describe) || die "$binary describe failed"
  compact=$(printf '%s' "$described" | tr -d ' \n\r')
  case "$compact" in
    *"\"version\":\"$version\""*) ;;
    *) die "$binary describes itself as $described, not version $version (set the version in Cargo.toml)" ;;
  esac
  case "$compact" in
    *"\"api_version\":\"$api\""*) ;;
    *) die "$binary describes itself as $described, not api_version $api" ;;
  esac
else
  echo "release-assets: $os/$arch binary cannot run here; its describe output is not checked" >&2
fi

ext=""
[ "$os" = windows ] && ext=".exe"
asset="${name}_v${version}_${api}_${os}_${arch}"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$binary" "$stage/$asset$ext"
chmod 0755 "$stage/$asset$ext"
zip_one "$dir/$asset.zip" "$stage/$asset$ext"
echo "release-assets: wrote $dir/$asset.zip" >&2
write_sums

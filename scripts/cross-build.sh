#!/usr/bin/env bash
# Builds the release binary for one Rust target, the way .github/workflows/release.yml does, and
# prints its path on stdout. scripts/check-cross.sh runs it here for every target that does not
# need a Mac.
#
#   x86_64-unknown-linux-musl, aarch64-unknown-linux-musl
#       static binaries, linked by zig through cargo-zigbuild (zig from PyPI's `ziglang`,
#       cargo-zigbuild from crates.io), so no per-target GCC or Docker is needed
#   x86_64-pc-windows-gnu
#       MinGW-w64's GCC as linker and C compiler (Debian/Ubuntu: gcc-mingw-w64-x86-64)
#   *-apple-darwin, or the host's own target
#       plain cargo build (release.yml runs the darwin ones on macOS runners)
#
# Usage: scripts/cross-build.sh TARGET
# Environment: CARGO_TARGET_DIR as usual; ZIG (default: `zig` on PATH, else `python-zig` from
# the ziglang wheel); CARGO_ZIGBUILD_VERSION (default 0.20.1), installed with cargo install when
# cargo-zigbuild is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "cross-build: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: scripts/cross-build.sh TARGET"
target=$1
name=packer-plugin-nutanix
host=$(rustc -vV | sed -n 's/^host: //p')

ensure_target() {
  if command -v rustup >/dev/null 2>&1; then
    rustup target list --installed | grep -qx "$target" || rustup target add "$target" >&2
  fi
}

# A `zig` command for cargo-zigbuild: the ziglang wheel installs `python-zig`, not `zig`.
ensure_zig() {
  local zig=${ZIG:-}
  if [ -z "$zig" ]; then
    if command -v zig >/dev/null 2>&1; then
      return 0
    elif command -v python-zig >/dev/null 2>&1; then
      zig=$(command -v python-zig)
    else
      die "zig is missing: pip install ziglang (scripts/deps/cross.txt), or set ZIG"
    fi
  fi
  # cargo-zigbuild runs `zig`; give it one on PATH.
  local shim
  shim=$(mktemp -d)
  printf '#!/bin/sh\nexec %q "$@"\n' "$zig" >"$shim/zig"
  chmod +x "$shim/zig"
  export PATH="$shim:$PATH"
}

ensure_zigbuild() {
  command -v cargo-zigbuild >/dev/null 2>&1 && return 0
  cargo install --locked cargo-zigbuild --version "${CARGO_ZIGBUILD_VERSION:-0.20.1}" >&2
}

ensure_target
case "$target" in
  *-unknown-linux-musl)
    ensure_zig
    ensure_zigbuild
    cargo zigbuild --release --locked --target "$target" -p "$name" >&2
    ;;
  x86_64-pc-windows-gnu)
    command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 ||
      die "x86_64-w64-mingw32-gcc is missing: apt-get install gcc-mingw-w64-x86-64"
    cargo build --release --locked --target "$target" -p "$name" >&2
    ;;
  *-apple-darwin | "$host")
    cargo build --release --locked --target "$target" -p "$name" >&2
    ;;
  *) die "no recipe for target $target" ;;
esac

ext=""
case "$target" in *windows*) ext=".exe" ;; esac
bin="${CARGO_TARGET_DIR:-target}/$target/release/$name$ext"
[ -f "$bin" ] || die "the build did not produce $bin"
echo "$bin"

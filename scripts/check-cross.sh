#!/usr/bin/env bash
# Proves the release workflow's Linux and Windows builds on this machine: builds each target with
# scripts/cross-build.sh (what release.yml runs), packs it with scripts/release-assets.sh, and
# checks the result:
#   - the zip and SHA256SUMS names `packer init` looks for, and the one entry in each zip;
#   - the binary's format, as `file` reports it (static x86-64 / AArch64 ELF, PE32+ x86-64);
#   - `describe` run natively (linux/amd64) or under qemu-user (linux/arm64) reports this version
#     and API x5.0; for windows/amd64 the DLLs it imports (only system ones may appear).
# darwin is built on GitHub's macOS runners only (no Apple SDK here).
#
# Needs scripts/deps/cross.txt (MinGW-w64, qemu-user, file, zip; cargo-zigbuild and zig from
# PyPI), installed when run as root. Release builds of three targets take a while.
#
# Usage: scripts/check-cross.sh [TARGET...]   (default: the three below)
# Prints a summary table; leaves the assets in target/cross-dist/.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-deps.sh scripts/deps/cross.txt
export PATH="${PY_VENV:-$HOME/.cache/packer-plugin-nutanix/venv}/bin:$PATH"

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl x86_64-pc-windows-gnu)
version=$(awk '/^\[/ { t = $0 } t == "[package]" && /^version *= *"/ { gsub(/.*= *"|".*/, ""); print; exit }' Cargo.toml)
dist=${CARGO_TARGET_DIR:-target}/cross-dist
rm -rf "$dist"
mkdir -p "$dist"

goos_goarch() {
  case "$1" in
    x86_64-unknown-linux-musl) echo "linux amd64" ;;
    aarch64-unknown-linux-musl) echo "linux arm64" ;;
    x86_64-pc-windows-gnu) echo "windows amd64" ;;
    *) echo "check-cross: no Go names for $1" >&2; return 1 ;;
  esac
}

problems=()
summary=()
for target in "${targets[@]}"; do
  read -r goos goarch < <(goos_goarch "$target")
  echo "check-cross: building $target" >&2
  binary=$(bash scripts/cross-build.sh "$target")
  bash scripts/release-assets.sh "v$version" "$dist" "$binary" "$goos" "$goarch"
  ext=""
  [ "$goos" = windows ] && ext=".exe"
  asset="packer-plugin-nutanix_v${version}_x5.0_${goos}_${goarch}"
  [ -f "$dist/$asset.zip" ] || problems+=("$target: $asset.zip missing")
  entries=$(unzip -Z1 "$dist/$asset.zip")
  [ "$entries" = "$asset$ext" ] || problems+=("$target: zip holds '$entries', not $asset$ext")

  format=$(file -b "$binary")
  case "$target" in
    x86_64-unknown-linux-musl) want='ELF 64-bit LSB (pie )?executable, x86-64.*(static|statically linked)' ;;
    aarch64-unknown-linux-musl) want='ELF 64-bit LSB (pie )?executable, ARM aarch64.*(static|statically linked)' ;;
    x86_64-pc-windows-gnu) want='PE32\+ executable.*x86-64' ;;
  esac
  [[ $format =~ $want ]] || problems+=("$target: file says '$format'")

  case "$target" in
    x86_64-unknown-linux-musl) described=$("$binary" describe) ;;
    aarch64-unknown-linux-musl) described=$(qemu-aarch64 "$binary" describe) ;;
    x86_64-pc-windows-gnu)
      described="(not run: no Windows here)"
      dlls=$(x86_64-w64-mingw32-objdump -p "$binary" | sed -n 's/^[[:space:]]*DLL Name: //p' | sort -u | tr '\n' ' ')
      for dll in $dlls; do
        case "${dll,,}" in
          kernel32.dll | ntdll.dll | ws2_32.dll | advapi32.dll | bcrypt.dll | bcryptprimitives.dll | userenv.dll | \
            msvcrt.dll | api-ms-win-*.dll | ucrtbase.dll | secur32.dll | crypt32.dll | ole32.dll | oleaut32.dll | \
            shell32.dll | user32.dll | iphlpapi.dll | ncrypt.dll | rpcrt4.dll | powrprof.dll | dbghelp.dll) ;;
          *) problems+=("$target: imports $dll, which Windows does not ship") ;;
        esac
      done
      described="$described; imports: $dlls"
      ;;
  esac
  if [ "$goos" != windows ]; then
    compact=$(printf '%s' "$described" | tr -d ' \n')
    [[ $compact == *"\"version\":\"$version\""* && $compact == *'"api_version":"x5.0"'* ]] ||
      problems+=("$target: describe says $described")
  fi
  size=$(stat -c %s "$binary")
  summary+=("$target|$asset.zip|$format|$((size / 1024)) KiB|$described")
done
bash scripts/release-assets.sh "v$version" "$dist" --sums-only

echo
echo "assets in $dist:"
(cd "$dist" && ls -l)
echo
echo "SHA256SUMS:"
cat "$dist/packer-plugin-nutanix_v${version}_SHA256SUMS"
(cd "$dist" && sha256sum --check --strict "packer-plugin-nutanix_v${version}_SHA256SUMS")
echo
for row in "${summary[@]}"; do
  IFS='|' read -r t zip format size described <<<"$row"
  printf '%s\n  zip:      %s\n  file:     %s\n  size:     %s\n  describe: %s\n' "$t" "$zip" "$format" "$size" "$described"
done
if [ ${#problems[@]} -gt 0 ]; then
  printf 'check-cross: %s\n' "${problems[@]}" >&2
  exit 1
fi
echo "check-cross: all ${#targets[@]} target(s) OK"

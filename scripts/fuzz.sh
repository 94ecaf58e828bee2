#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ (cargo-fuzz, libFuzzer) for SECONDS each, on the stable
# toolchain: no sanitizer (the fuzzed crates forbid unsafe code; what we look for is panics,
# including arithmetic overflow, hence debug assertions), so no nightly-only flag is needed.
# Seeds come from the repository's own test vectors; each target's corpus and any crash
# reproducer stay under fuzz/corpus/ and fuzz/artifacts/ (not committed).
#
# Usage: scripts/fuzz.sh [SECONDS (default 60)] [TARGET...]   (`make fuzz`)
# Environment: CARGO_FUZZ_VERSION (default 0.13.2), installed with cargo install when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-60}
[[ $secs =~ ^[0-9]+$ ]] || { echo "fuzz: SECONDS must be a whole number" >&2; exit 2; }
shift || true
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz --version "${CARGO_FUZZ_VERSION:-0.13.2}"
fi

cd fuzz
mapfile -t targets < <(if [ $# -gt 0 ]; then printf '%s\n' "$@"; else cargo fuzz list; fi)
[ ${#targets[@]} -gt 0 ] || { echo "fuzz: no targets" >&2; exit 1; }

# seed TARGET: the corpus directory, with seeds from the test vectors.
seed() {
  local dir=corpus/$1
  mkdir -p "$dir"
  case "$1" in
    gob_stream) base64 -d ../crates/packer-schema/testdata/shared/nutanix-spec.go.gob.b64 >"$dir/seed-nutanix-spec.gob" ;;
    cty_json) cp ../crates/packer-schema/testdata/shared/sample.cty.json "$dir/seed-sample.json" ;;
    msgpack_value)
      # "name hex" lines written by the Go ugorji codec.
      awk 'NF == 2 && $2 ~ /^[0-9a-f]+$/ { print NR, $2 }' ../crates/packer-rpc/testdata/ugorji-v1.2.6.txt |
        while read -r n hex; do
          python3 -c 'import binascii, sys; sys.stdout.buffer.write(binascii.unhexlify(sys.argv[1]))' "$hex" >"$dir/seed-ugorji-$n"
        done
      ;;
    mux_frame) printf '\x00\x01\x00\x02\x00\x00\x00\x01\x00\x00\x00\x05' >"$dir/seed-window-update" ;;
  esac
  echo "$dir"
}

status=0
for t in "${targets[@]}"; do
  corpus=$(seed "$t")
  echo "fuzz: $t for ${secs}s (corpus $corpus)" >&2
  if ! cargo fuzz run --sanitizer none --debug-assertions "$t" "$corpus" -- \
      -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048; then
    echo "fuzz: $t FAILED: reproducer under fuzz/artifacts/$t/" >&2
    status=1
  fi
done
exit $status

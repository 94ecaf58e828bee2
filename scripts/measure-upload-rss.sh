#!/usr/bin/env bash
# Measures the peak memory of a streaming 2 GiB image upload by the prism client.
#
# Runs the `upload_2gib_sparse_file` test (crates/prism/tests/sim_transfer.rs): a sparse 2 GiB
# file is uploaded to the Prism simulator with PUT /images/{uuid}/file and the sha256 the
# simulator records is checked against the sha256 of 2 GiB of zeros. The test prints a line
#   UPLOAD_RSS bytes=... sim=... peak_rss_before_upload_kib=... peak_rss_kib=...
# read from /proc/self/status (VmHWM) inside the test process.
#
# By default the simulator runs inside the test process (it hashes uploads without storing
# them, so it adds little). Set PRISM_SIM_URL=http://127.0.0.1:PORT to use a simulator running
# in another process, so that the figure is the client's alone.
#
# Usage: scripts/measure-upload-rss.sh [--release]
set -euo pipefail
cd "$(dirname "$0")/.."

profile=()
if [[ "${1:-}" == "--release" ]]; then
    profile=(--release)
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test -p prism "${profile[@]}" --test sim_transfer upload_2gib_sparse_file -- --exact --nocapture 2>&1 | tee "$log" >/dev/null
line=$(grep -m1 '^UPLOAD_RSS' "$log" || true)
if [[ -z "$line" ]]; then
    echo "measure-upload-rss: the test did not report a measurement; its output follows" >&2
    cat "$log" >&2
    exit 1
fi
grep -E '^test result' "$log" || true
peak=$(sed -E 's/.*peak_rss_kib=([0-9]+).*/\1/' <<<"$line")
before=$(sed -E 's/.*peak_rss_before_upload_kib=([0-9]+).*/\1/' <<<"$line")
echo "$line"
echo "peak RSS of the test process: ${peak} KiB ($((peak / 1024)) MiB); growth during the 2 GiB upload: $((peak - before)) KiB"

#!/usr/bin/env bash
# Image upload throughput and peak memory of our Prism client next to curl, both streaming a
# sparse file with `PUT /api/nutanix/v3/images/{uuid}/file` to the same simulator, over HTTP
# and HTTPS (the simulator's self-signed CA, trusted with --cacert by both clients).
#
#   ours: crates/prism/examples/upload.rs (release), PrismClient::upload_image_file
#   curl: curl -T FILE -H 'Content-Type: application/octet-stream' --cacert CA
#
# Each run gets a fresh empty image (created through the API by the example's `create` verb),
# is wrapped in /usr/bin/time -v (wall time and peak RSS of the client process alone; the
# simulator runs in its own process), and is checked afterwards: the simulator must have
# recorded the file's exact size. Throughput = file size / wall time of the client process.
# CPU s is the client's user+sys time (from the same /usr/bin/time). The simulator hashes
# every byte it receives (SHA-256) on one core, so on a small machine it can be the bottleneck
# for both clients; CPU s then shows what each client itself spends.
# Targets: ours >= 0.8x curl's throughput, peak RSS <= 30 MiB.
#
# Usage: scripts/bench-upload.sh [runs per cell (default 3)] [sizes in GiB (default "1 4")]
# Writes target/bench/upload.json. Needs curl, jq and GNU time (apt-get install time).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
SIZES=${2:-"1 4"}

for tool in curl jq /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench-upload: $tool is missing" >&2; exit 1; }
done
target=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p packer-plugin-nutanix
cargo build --release -q -p prism --example upload
plugin=$target/release/packer-plugin-nutanix
upload=$target/release/examples/upload
mkdir -p target/bench

work=$(mktemp -d /tmp/bench-upload.XXXXXX)
sim_pid=
stop_sim() {
  if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; fi
  sim_pid=
}
trap 'stop_sim; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_sim SCHEME: starts the simulator, sets base and ca_args for both clients.
start_sim() {
  local scheme=$1 port tls=()
  port=$(free_port)
  [ "$scheme" = https ] && tls=(--self-signed-tls)
  "$plugin" simulator --listen "127.0.0.1:$port" "${tls[@]}" --task-duration-ms 20 2>"$work/sim.log" &
  sim_pid=$!
  for _ in $(seq 200); do grep -q 'listening on' "$work/sim.log" 2>/dev/null && break; sleep 0.05; done
  grep -q 'listening on' "$work/sim.log" || { echo "bench-upload: the simulator did not start:" >&2; cat "$work/sim.log" >&2; exit 1; }
  base="$scheme://127.0.0.1:$port"
  ca_args=()
  if [ "$scheme" = https ]; then
    # the CA is printed just after the "listening" line
    for _ in $(seq 200); do grep -q -- '-----END CERTIFICATE-----' "$work/sim.log" && break; sleep 0.05; done
    sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' "$work/sim.log" >"$work/ca.pem"
    ca_args=(--cacert "$work/ca.pem")
  fi
}

# The simulator's test credentials, kept out of argv all the same.
printf 'machine 127.0.0.1 login admin password secret\n' >"$work/netrc"
export PRISM_USERNAME=admin PRISM_PASSWORD=secret

new_image() { "$upload" create "$base" "bench-$RANDOM$RANDOM" "${ca_args[@]}"; }

# measure CLIENT FILE UUID: runs one upload under /usr/bin/time -v; prints "seconds rss_kib cpu_s".
measure() {
  local client=$1 file=$2 uuid=$3 start end
  local url="$base/api/nutanix/v3/images/$uuid/file"
  start=$(date +%s.%N)
  case "$client" in
    curl) /usr/bin/time -v -o "$work/time.txt" curl -sS -f --netrc-file "$work/netrc" "${ca_args[@]}" \
            -T "$file" -H 'Content-Type: application/octet-stream' -o /dev/null "$url" ;;
    ours) /usr/bin/time -v -o "$work/time.txt" "$upload" put "$base" "$uuid" "$file" "${ca_args[@]}" >/dev/null ;;
  esac
  end=$(date +%s.%N)
  local rss user sys
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt")
  user=$(sed -n 's/.*User time (seconds): //p' "$work/time.txt")
  sys=$(sed -n 's/.*System time (seconds): //p' "$work/time.txt")
  echo "$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.4f", e - s }') $rss $(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')"
}

# The simulator must have received every byte: its recorded size for the image.
check_size() {
  local uuid=$1 want=$2 got
  got=$(curl -sS "${ca_args[@]}" "$base/_sim/state" | jq -r --arg u "$uuid" '.images[] | select(.uuid == $u) | .size_bytes')
  [ "$got" = "$want" ] || { echo "bench-upload: image $uuid has size '$got' after the upload, want $want" >&2; exit 1; }
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.4f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "image upload to the simulator: $RUNS runs per cell, median; load average before: $load; $(nproc) cores"
printf '%-6s %-5s %-5s %10s %10s %8s %10s %10s %8s\n' size proto who 'wall s' 'MiB/s' ratio 'peakRSS' 'RSS max' 'CPU s'
results='[]'
for scheme in http https; do
  start_sim "$scheme"
  for gib in $SIZES; do
    file="$work/sparse-${gib}g.img"
    [ -f "$file" ] || truncate -s "${gib}G" "$file"
    bytes=$(stat -c %s "$file")
    declare -A secs=() rss=() cpu=()
    # one unmeasured upload per client first: the first transfer after start-up is slower
    for who in curl ours; do uuid=$(new_image); measure "$who" "$file" "$uuid" >/dev/null; done
    for run in $(seq "$RUNS"); do
      # alternate the order so neither client always runs first
      order="curl ours"; [ $((run % 2)) = 0 ] && order="ours curl"
      for who in $order; do
        uuid=$(new_image)
        read -r s r c < <(measure "$who" "$file" "$uuid")
        check_size "$uuid" "$bytes"
        secs[$who]+="$s "; rss[$who]+="$r "; cpu[$who]+="$c "
      done
    done
    curl_mibs=
    for who in curl ours; do
      med=$(tr ' ' '\n' <<<"${secs[$who]}" | grep . | median)
      rss_med=$(tr ' ' '\n' <<<"${rss[$who]}" | grep . | median)
      rss_max=$(tr ' ' '\n' <<<"${rss[$who]}" | grep . | sort -n | tail -1)
      cpu_med=$(tr ' ' '\n' <<<"${cpu[$who]}" | grep . | median)
      mibs=$(awk -v b="$bytes" -v s="$med" 'BEGIN { printf "%.1f", b / 1048576 / s }')
      [ "$who" = curl ] && curl_mibs=$mibs
      ratio=$(awk -v a="$mibs" -v b="$curl_mibs" 'BEGIN { printf "%.2f", a / b }')
      printf '%-6s %-5s %-5s %10s %10s %7sx %7s MiB %6s MiB %8s\n' "${gib}GiB" "$scheme" "$who" "$med" "$mibs" "$ratio" \
        "$((rss_med / 1024))" "$((rss_max / 1024))" "$cpu_med"
      results=$(jq -c --arg size "$gib" --arg scheme "$scheme" --arg who "$who" --argjson bytes "$bytes" \
        --arg secs "${secs[$who]}" --arg rss "${rss[$who]}" --arg cpu "${cpu[$who]}" --argjson med "$med" --argjson mibs "$mibs" \
        --argjson ratio "$ratio" --argjson rss_max "$rss_max" \
        '. + [{size_gib: ($size | tonumber), scheme: $scheme, client: $who, bytes: $bytes,
               wall_seconds: ($secs | split(" ") | map(select(. != "") | tonumber)),
               peak_rss_kib: ($rss | split(" ") | map(select(. != "") | tonumber)),
               cpu_seconds: ($cpu | split(" ") | map(select(. != "") | tonumber)),
               median_seconds: $med, mib_per_s: $mibs, ratio_to_curl: $ratio, max_peak_rss_kib: $rss_max}]' <<<"$results")
    done
    unset secs rss cpu
  done
  stop_sim
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
jq -n --argjson r "$results" --arg load "$load" --arg load_after "$load_after" --argjson runs "$RUNS" \
  '{benchmark: "image upload", runs_per_cell: $runs, statistic: "median", load_before: $load, load_after: $load_after,
    targets: {throughput_ratio_min: 0.8, peak_rss_mib_max: 30}, results: $r}' >target/bench/upload.json
echo "targets: ours >= 0.8x curl's MiB/s, ours peak RSS <= 30 MiB; load average after: $load_after"
echo "wrote target/bench/upload.json"

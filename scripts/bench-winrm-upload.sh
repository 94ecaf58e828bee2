#!/usr/bin/env bash
# Upload throughput through Packer's `file` provisioner over WinRM: our communicator against
# Packer's own Go WinRM communicator (packer-plugin-sdk + masterzen/winrm + winrmcp), both talking
# to the same WinRM test server (our winrm-sim, started by `packer-plugin-nutanix simulator
# --winrm-listen`), on the same machine.
#
# Each `packer build` (Packer 1.16) runs shell-local writing a timestamp, the file provisioner
# uploading the payload, shell-local writing a second timestamp; the time between the stamps is
# the file provisioner's whole cost as a user sees it. A build uploading a 1-byte file measures
# the fixed costs, subtracted as "net". Ours is served to Packer by the winrm-test-plugin binary
# (a builder handing WinRmCommunicator to Packer's hook over the plugin RPC, as the nutanix
# builder does); Packer's is the bundled `null` builder with communicator = "winrm". A third row
# runs the same provisioners through the real nutanix builder: a whole `packer build` against the
# simulator (a VM with no image output, WinRM to the address the simulated VM reports), so the
# figure is ours as users get it. After every upload the file's sha256 on the simulated machine is
# checked against the payload's.
#
# Needs curl, python3, sha256sum. Packer: $PACKER, else ~/.cache/packer-plugin-nutanix/peers/
# packer-1.16.0 (scripts/build-peers.sh builds it).
#
# Usage: scripts/bench-winrm-upload.sh [size-MiB (default 16)] [runs (default 3)] [auth: basic|ntlm (default basic)]
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-16}
RUNS=${2:-3}
AUTH=${3:-basic}

peers=$HOME/.cache/packer-plugin-nutanix/peers
packer=${PACKER:-$peers/packer-1.16.0}
[ -x "$packer" ] || { echo "bench: no Packer at $packer (scripts/build-peers.sh builds it)" >&2; exit 1; }
for tool in curl python3 sha256sum; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done
cargo build --release -q -p packer-plugin-nutanix
cargo build --release -q -p winrm-communicator --features test-plugin --bin winrm-test-plugin
target=$PWD/${CARGO_TARGET_DIR:-target}/release
case "${CARGO_TARGET_DIR:-}" in /*) target=$CARGO_TARGET_DIR/release ;; esac
ours_plugin=$target/winrm-test-plugin

work=$(mktemp -d /tmp/bench-winrm.XXXXXX)
sim_pid=
cleanup() {
  [ -n "$sim_pid" ] && { kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
export CHECKPOINT_DISABLE=1 PACKER_NO_COLOR=1 NO_PROXY='*'
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The simulator: Prism Central (unused here) plus the WinRM server playing the Windows VM.
prism_port=$(free_port)
winrm_port=$(free_port)
password='Bench-Pass-1!'
"$target/packer-plugin-nutanix" simulator --listen "127.0.0.1:$prism_port" --vm-ip 127.0.0.1 \
  --self-signed-tls --task-duration-ms 50 --winrm-listen "127.0.0.1:$winrm_port" --winrm-password "$password" 2>"$work/sim.log" &
sim_pid=$!
for _ in $(seq 200); do grep -q 'WinRM simulator listening' "$work/sim.log" 2>/dev/null && break; sleep 0.05; done
grep -q 'WinRM simulator listening' "$work/sim.log" || { echo "bench: the simulator did not start:" >&2; cat "$work/sim.log" >&2; exit 1; }

mkdir -p "$work/plugins"
PACKER_PLUGIN_PATH=$work/plugins "$packer" plugins install --path "$ours_plugin" github.com/test/winrmtest \
  >"$work/install.log" 2>&1 || { echo "bench: packer plugins install failed:" >&2; cat "$work/install.log" >&2; exit 1; }
PACKER_PLUGIN_PATH=$work/plugins "$packer" plugins install --path "$target/packer-plugin-nutanix" \
  github.com/nutanix-cloud-native/nutanix >"$work/install.log" 2>&1 ||
  { echo "bench: packer plugins install (nutanix) failed:" >&2; cat "$work/install.log" >&2; exit 1; }

ntlm=false
[ "$AUTH" = ntlm ] && ntlm=true
vars='variable "port" {
  type = number
}
variable "payload" {
  type = string
}
variable "stamps" {
  type = string
}'
build_block() {
  printf 'build {\n  sources = ["%s"]\n' "$1"
  cat <<'HCL'
  provisioner "shell-local" {
    inline = ["date +%s.%N > ${var.stamps}.start"]
  }
  provisioner "file" {
    source      = var.payload
    destination = "C:/Windows/Temp/payload.bin"
  }
  provisioner "shell-local" {
    inline = ["date +%s.%N > ${var.stamps}.end"]
  }
}
HCL
}
source_block() { # type name extra-line
  cat <<HCL
source "$1" "up" {
  $3
  winrm_host     = "127.0.0.1"
  winrm_port     = var.port
  winrm_username = "Administrator"
  winrm_password = "$password"
  winrm_use_ntlm = $ntlm
  winrm_timeout  = "2m"
}
HCL
}
mkdir -p "$work/ours" "$work/go" "$work/nutanix"
{ echo "$vars"; source_block winrmtest up 'winrm_no_proxy = true'; build_block source.winrmtest.up; } >"$work/ours/upload.pkr.hcl"
# The nutanix builder connects to the address the simulated VM reports (127.0.0.1): no winrm_host.
{
  echo "$vars"
  source_block nutanix up "nutanix_endpoint = \"127.0.0.1\"
  nutanix_port     = $prism_port
  nutanix_username = \"admin\"
  nutanix_password = \"secret\"
  nutanix_insecure = true
  cluster_name     = \"PE-Cluster-1\"
  vm_disks {
    image_type   = \"DISK\"
    disk_size_gb = 1
  }
  vm_nics {
    subnet_name = \"vm-network\"
  }
  image_skip        = true
  ip_settle_timeout = \"0s\"
  communicator      = \"winrm\"
  winrm_no_proxy    = true" | grep -v '^  winrm_host'
  build_block source.nutanix.up
} >"$work/nutanix/upload.pkr.hcl"
{ echo "$vars"; source_block null up 'communicator = "winrm"'; build_block source.null.up; } >"$work/go/upload.pkr.hcl"

head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$work/payload"
printf x >"$work/tiny"

# one_build TEMPLATE-DIR PAYLOAD: prints "provisioner-seconds build-seconds"
one_build() {
  local start end want got
  rm -f "$work/stamps".*
  start=$(date +%s.%N)
  PACKER_PLUGIN_PATH=$work/plugins timeout 1800 "$packer" build -color=false \
    -var "port=$winrm_port" -var "payload=$2" -var "stamps=$work/stamps" "$1" >"$work/build.log" 2>&1 ||
    { echo "bench: packer build failed:" >&2; cat "$work/build.log" >&2; exit 1; }
  end=$(date +%s.%N)
  want=$(sha256sum <"$2" | cut -d' ' -f1)
  got=$(curl -fsS "http://127.0.0.1:$winrm_port/_sim/file?path=C:%5CWindows%5CTemp%5Cpayload.bin" | sha256sum | cut -d' ' -f1)
  [ "$want" = "$got" ] || { echo "bench: the uploaded file differs from the payload ($got vs $want)" >&2; exit 1; }
  awk -v a="$(cat "$work/stamps.start")" -v b="$(cat "$work/stamps.end")" -v s="$start" -v e="$end" \
    'BEGIN { printf "%.3f %.3f", b - a, e - s }'
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mibs() { awk -v m="$SIZE_MIB" -v t="$1" 'BEGIN { if (t <= 0) print "-"; else printf "%.2f", m / t }'; }

echo "payload ${SIZE_MIB} MiB, ${RUNS} runs each, ${AUTH}/HTTP, winrm-sim on loopback, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-52s %10s %10s  %s\n' "" "MiB/s" "median s" "runs (s)"
for who in ours nutanix go; do
  fixed=() prov=()
  for _ in $(seq "$RUNS"); do
    read -r p _ <<<"$(one_build "$work/$who" "$work/tiny")"; fixed+=("$p")
    read -r p _ <<<"$(one_build "$work/$who" "$work/payload")"; prov+=("$p")
  done
  f=$(median "${fixed[@]}"); p=$(median "${prov[@]}")
  net=$(awk -v p="$p" -v f="$f" 'BEGIN { printf "%.3f", p - f }')
  label="ours (WinRmCommunicator via winrm-test-plugin)"
  [ "$who" = nutanix ] && label="ours through the nutanix builder (whole build)"
  [ "$who" = go ] && label="Packer's null builder (Go WinRM communicator)"
  printf '%-52s %10s %10s  %s\n' "$label" "$(mibs "$p")" "$p" "${prov[*]}"
  printf '%-52s %10s %10s  %s\n' "  same, minus the 1-byte upload ($f s)" "$(mibs "$net")" "$net" "${fixed[*]}"
done
echo "WS-Man requests the simulator served: $(curl -fsS "http://127.0.0.1:$winrm_port/_sim/state" | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"])')"

#!/usr/bin/env bash
# Upload throughput through Packer's `file` provisioner and our Communicator (scp and sftp
# methods), next to OpenSSH's own `scp` of the same file to the same loopback sshd.
#
# Each `packer build` (Packer 1.16, release build of our plugin, the Prism simulator reporting
# 127.0.0.1 as the VM's address) runs three provisioners: shell-local writing a timestamp, the
# file provisioner uploading the payload, shell-local writing a second timestamp. The time between
# the two stamps is the file provisioner's whole cost as a user sees it: Packer reading the file,
# the stream over the plugin RPC, our SSH upload, the remote write. A build uploading a 1-byte file
# measures the same fixed costs (provisioner start, RPC set-up, one shell-local), subtracted as
# "overhead". The build's wall time with and without the upload is printed too, as a cross-check.
# The same two builds through Packer's bundled `null` builder (Packer's own Go SSH communicator,
# served over the same plugin RPC path) give the reference a Go plugin would reach.
#
# Needs openssh-server, openssh-client, python3, curl. Packer: $PACKER, else
# ~/.cache/packer-plugin-nutanix/peers/packer-1.16.0 (scripts/build-peers.sh builds it).
#
# Usage: scripts/bench-provisioner-upload.sh [size-MiB (default 256)] [runs (default 3)]
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-256}
RUNS=${2:-3}

peers=$HOME/.cache/packer-plugin-nutanix/peers
packer=${PACKER:-$peers/packer-1.16.0}
[ -x "$packer" ] || { echo "bench: no Packer at $packer (scripts/build-peers.sh builds it)" >&2; exit 1; }
[ -x /usr/sbin/sshd ] || { echo "bench: sshd missing: apt-get install -y openssh-server" >&2; exit 1; }
for tool in curl python3 scp ssh-keygen; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done
cargo build --release -q -p packer-plugin-nutanix
ours=$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release/packer-plugin-nutanix

work=$(mktemp -d /tmp/bench-prov.XXXXXX)
sim_pid=
cleanup() {
  [ -n "$sim_pid" ] && { kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; }
  [ -f "$work/sshd.pid" ] && kill "$(cat "$work/sshd.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
chmod 755 "$work"
[ "$(id -u)" = 0 ] && mkdir -p /run/sshd
export CHECKPOINT_DISABLE=1 PACKER_NO_COLOR=1
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The loopback sshd (the "VM").
ssh-keygen -q -t ed25519 -N '' -f "$work/host"
ssh-keygen -q -t ed25519 -N '' -f "$work/user"
cp "$work/user.pub" "$work/authorized_keys"
ssh_port=$(free_port)
cat >"$work/sshd_config" <<EOF
Port $ssh_port
ListenAddress 127.0.0.1
HostKey $work/host
AuthorizedKeysFile $work/authorized_keys
UsePAM no
StrictModes no
PidFile $work/sshd.pid
PermitRootLogin yes
Subsystem sftp internal-sftp
EOF
/usr/sbin/sshd -f "$work/sshd_config" -E "$work/sshd.log"
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$ssh_port") 2>/dev/null && break; sleep 0.05; done

# The Prism simulator, with short tasks so the build around the upload stays short.
sim_port=$(free_port)
"$ours" simulator --listen "127.0.0.1:$sim_port" --self-signed-tls --task-duration-ms 50 \
  --ip-delay-ms 0 2>"$work/sim.log" &
sim_pid=$!
for _ in $(seq 200); do grep -q 'listening on' "$work/sim.log" 2>/dev/null && break; sleep 0.05; done
grep -q 'listening on' "$work/sim.log" || { echo "bench: the simulator did not start:" >&2; cat "$work/sim.log" >&2; exit 1; }

mkdir -p "$work/plugins"
PACKER_PLUGIN_PATH=$work/plugins "$packer" plugins install --path "$ours" \
  github.com/nutanix-cloud-native/nutanix >"$work/install.log" 2>&1 ||
  { echo "bench: packer plugins install failed:" >&2; cat "$work/install.log" >&2; exit 1; }

mkdir -p "$work/template"
cat >"$work/template/upload.pkr.hcl" <<'EOF'
variable "port" {
  type = number
}
variable "ssh_port" {
  type = number
}
variable "ssh_user" {
  type = string
}
variable "key" {
  type = string
}
variable "method" {
  type = string
}
variable "payload" {
  type = string
}
variable "dest" {
  type = string
}
variable "stamps" {
  type = string
}

source "nutanix" "upload" {
  nutanix_endpoint = "127.0.0.1"
  nutanix_port     = var.port
  nutanix_username = "admin"
  nutanix_password = "secret"
  nutanix_insecure = true
  cluster_name     = "PE-Cluster-1"
  vm_disks {
    image_type        = "DISK_IMAGE"
    source_image_name = "ubuntu-22.04-server-cloudimg-amd64.img"
  }
  vm_nics {
    subnet_name = "build-vlan-100"
  }
  image_skip               = true
  ip_settle_timeout        = "0s"
  communicator             = "ssh"
  ssh_username             = var.ssh_user
  ssh_port                 = var.ssh_port
  ssh_private_key_file     = var.key
  ssh_file_transfer_method = var.method
}

build {
  sources = ["source.nutanix.upload"]

  provisioner "shell-local" {
    inline = ["date +%s.%N > ${var.stamps}.start"]
  }
  provisioner "file" {
    source      = var.payload
    destination = var.dest
  }
  provisioner "shell-local" {
    inline = ["date +%s.%N > ${var.stamps}.end"]
  }
}
EOF

# The same provisioners through Packer's bundled `null` builder: Packer's own Go SSH communicator
# over the same plugin RPC path (a separate plugin process), the reference for ours.
mkdir -p "$work/null"
sed -n '/^variable/,/^}/p' "$work/template/upload.pkr.hcl" >"$work/null/upload.pkr.hcl"
cat >>"$work/null/upload.pkr.hcl" <<'EOF'

source "null" "upload" {
  communicator             = "ssh"
  ssh_host                 = "127.0.0.1"
  ssh_username             = var.ssh_user
  ssh_port                 = var.ssh_port
  ssh_private_key_file     = var.key
  ssh_file_transfer_method = var.method
}
EOF
sed -n '/^build {/,$p' "$work/template/upload.pkr.hcl" | sed 's/source.nutanix.upload/source.null.upload/' >>"$work/null/upload.pkr.hcl"

head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$work/payload"
printf x >"$work/tiny"
user=$(id -un)

# one_build METHOD PAYLOAD [TEMPLATE-DIR]: prints "provisioner-seconds build-seconds"
one_build() {
  local start end
  rm -f "$work/dest" "$work/stamps".*
  start=$(date +%s.%N)
  PACKER_PLUGIN_PATH=$work/plugins timeout 900 "$packer" build -color=false \
    -var "port=$sim_port" -var "ssh_port=$ssh_port" -var "ssh_user=$user" -var "key=$work/user" \
    -var "method=$1" -var "payload=$2" -var "dest=$work/dest" -var "stamps=$work/stamps" \
    "${3:-$work/template}" >"$work/build.log" 2>&1 ||
    { echo "bench: packer build failed:" >&2; cat "$work/build.log" >&2; exit 1; }
  end=$(date +%s.%N)
  cmp -s "$2" "$work/dest" || { echo "bench: the uploaded file differs from the payload" >&2; exit 1; }
  awk -v a="$(cat "$work/stamps.start")" -v b="$(cat "$work/stamps.end")" -v s="$start" -v e="$end" \
    'BEGIN { printf "%.3f %.3f", b - a, e - s }'
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mibs() { awk -v m="$SIZE_MIB" -v t="$1" 'BEGIN { printf "%.1f", m / t }'; }

echo "payload ${SIZE_MIB} MiB, ${RUNS} runs each, loopback sshd, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-46s %10s %10s  %s\n' "" "MiB/s" "median s" "runs (s)"
for method in scp sftp; do
  fixed=() prov=() build_tiny=() build_big=()
  for _ in $(seq "$RUNS"); do
    read -r p b <<<"$(one_build "$method" "$work/tiny")"; fixed+=("$p"); build_tiny+=("$b")
    read -r p b <<<"$(one_build "$method" "$work/payload")"; prov+=("$p"); build_big+=("$b")
  done
  f=$(median "${fixed[@]}"); p=$(median "${prov[@]}")
  net=$(awk -v p="$p" -v f="$f" 'BEGIN { printf "%.3f", p - f }')
  wall=$(awk -v a="$(median "${build_big[@]}")" -v b="$(median "${build_tiny[@]}")" 'BEGIN { printf "%.3f", a - b }')
  printf '%-46s %10s %10s  %s\n' "packer file provisioner, $method method" "$(mibs "$p")" "$p" "${prov[*]}"
  printf '%-46s %10s %10s  %s\n' "  same, minus the 1-byte upload ($f s)" "$(mibs "$net")" "$net" "${fixed[*]}"
  printf '%-46s %10s %10s  %s\n' "  build wall time, with minus without" "$(mibs "$wall")" "$wall" "big: ${build_big[*]} tiny: ${build_tiny[*]}"
  nfixed=() nprov=()
  for _ in $(seq "$RUNS"); do
    read -r p _ <<<"$(one_build "$method" "$work/tiny" "$work/null")"; nfixed+=("$p")
    read -r p _ <<<"$(one_build "$method" "$work/payload" "$work/null")"; nprov+=("$p")
  done
  nf=$(median "${nfixed[@]}"); np=$(median "${nprov[@]}")
  nnet=$(awk -v p="$np" -v f="$nf" 'BEGIN { printf "%.3f", p - f }')
  printf '%-46s %10s %10s  %s\n' "Packer's null builder (Go SSH), $method method" "$(mibs "$np")" "$np" "${nprov[*]}"
  printf '%-46s %10s %10s  %s\n' "  same, minus the 1-byte upload ($nf s)" "$(mibs "$nnet")" "$nnet" "${nfixed[*]}"
done

ssh_opts=(-i "$work/user" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -P "$ssh_port")
plain() { # label, scp args...
  local label=$1; shift
  local runs=() start end
  for _ in $(seq "$RUNS"); do
    rm -f "$work/dest"
    start=$(date +%s.%N)
    scp "$@" "${ssh_opts[@]}" "$work/payload" "$user@127.0.0.1:$work/dest" >/dev/null 2>&1
    end=$(date +%s.%N)
    runs+=("$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }')")
  done
  local m; m=$(median "${runs[@]}")
  printf '%-46s %10s %10s  %s\n' "$label" "$(mibs "$m")" "$m" "${runs[*]}"
}
plain "OpenSSH scp -O (scp protocol)" -O
plain "OpenSSH scp (sftp protocol)"

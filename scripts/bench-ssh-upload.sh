#!/usr/bin/env bash
# Upload throughput of the SSH communicator (scp and sftp methods) next to OpenSSH's own `scp`,
# all against one throw-away sshd on a loopback port, with the same 256 MiB file.
# Needs openssh-server and openssh-client. Builds the example in release mode.
#
# Usage: scripts/bench-ssh-upload.sh [size-MiB (default 256)] [runs (default 3)]
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-256}
RUNS=${2:-3}

[ -x /usr/sbin/sshd ] || { echo "sshd missing: apt-get install -y openssh-server" >&2; exit 1; }
cargo build --release -q -p ssh-communicator --example upload_bench
bench=${CARGO_TARGET_DIR:-target}/release/examples/upload_bench

work=$(mktemp -d /tmp/bench-ssh.XXXXXX)
cleanup() {
  [ -f "$work/sshd.pid" ] && kill "$(cat "$work/sshd.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
chmod 755 "$work"
[ "$(id -u)" = 0 ] && mkdir -p /run/sshd

ssh-keygen -q -t ed25519 -N '' -f "$work/host"
ssh-keygen -q -t ed25519 -N '' -f "$work/user"
cp "$work/user.pub" "$work/authorized_keys"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/sshd_config" <<EOF
Port $port
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
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done

head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$work/payload"
user=$(id -un)
ssh_opts=(-i "$work/user" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -P "$port")

time_cmd() { # prints MiB/s of one run of "$@"
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" -v m="$SIZE_MIB" 'BEGIN { printf "%.1f", m / (e - s) }'
}

echo "payload ${SIZE_MIB} MiB, ${RUNS} runs each, MiB/s (loopback, $(nproc) cores)"
row() { # label, command...
  local label=$1; shift
  local results=()
  for _ in $(seq "$RUNS"); do results+=("$(time_cmd "$@")"); rm -f "$work/dest"; done
  printf '%-44s %s\n' "$label" "${results[*]}"
}
row "ours, scp method (aes128-gcm)" "$bench" 127.0.0.1 "$port" "$user" "$work/user" scp "$work/payload" "$work/dest"
row "ours, sftp method (aes128-gcm)" "$bench" 127.0.0.1 "$port" "$user" "$work/user" sftp "$work/payload" "$work/dest"
row "OpenSSH scp -O (legacy scp protocol, aes128-gcm)" scp -O -c aes128-gcm@openssh.com "${ssh_opts[@]}" "$work/payload" "$user@127.0.0.1:$work/dest"
row "OpenSSH scp -O (legacy scp protocol, default)" scp -O "${ssh_opts[@]}" "$work/payload" "$user@127.0.0.1:$work/dest"
row "OpenSSH scp (sftp protocol, default cipher)" scp "${ssh_opts[@]}" "$work/payload" "$user@127.0.0.1:$work/dest"

#!/usr/bin/env bash
# One command from a fresh machine to a running plugin: builds the plugin, installs it into a
# private plugin directory of your Packer (the `packer` on PATH when it is 1.7 or newer; one built
# from its Go module, cached, only when there is none; scripts/find-packer.sh says which), starts
# the built-in Prism Central simulator, and runs two builds against it:
#
#   1. examples/simulator/            communicator "none": VM created, powered off, image saved
#   2. scripts/demo/provision.pkr.hcl communicator "ssh" with a file and a shell provisioner; the
#      simulator reports 127.0.0.1 as the VM's address and this script runs a throw-away sshd on
#      a loopback port, so the provisioners run on this machine through the plugin's SSH
#      communicator
#
# Needs the Rust and Go toolchains, plus openssh-server, openssh-client, curl and python3
# (scripts/deps/demo.txt: installed when run as root, otherwise the apt-get command is printed).
# SIM_PORT chooses the simulator's port (default: a free one).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-deps.sh scripts/deps/demo.txt
cargo build --release --locked -p packer-plugin-nutanix
plugin=$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release/packer-plugin-nutanix
found=$(bash scripts/find-packer.sh --version)
read -r packer packer_version <<<"$found"

work=$(mktemp -d)
chmod 755 "$work"
sim_pid=
sshd_pid=
cleanup() {
  for pid in "$sshd_pid" "$sim_pid"; do
    [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  done
  rm -rf "$work"
}
trap cleanup EXIT
export PACKER_PLUGIN_PATH="$work/plugins" CHECKPOINT_DISABLE=1
section() { printf '\n==> %s\n' "$*"; }

section "Installing the plugin into Packer $packer_version ($packer)"
bash scripts/install-plugin.sh "$packer" "$plugin"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=${SIM_PORT:-$(free_port)}
section "Starting the Prism Central simulator on https://127.0.0.1:$port"
"$plugin" simulator --listen "127.0.0.1:$port" --self-signed-tls 2>"$work/sim.log" &
sim_pid=$!
for _ in $(seq 100); do grep -q listening "$work/sim.log" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$work/sim.log" || { cat "$work/sim.log" >&2; exit 1; }

section "Build 1: examples/simulator (communicator \"none\")"
template=examples/simulator/build.pkr.hcl
"$packer" validate -var "nutanix_port=$port" "$template"
"$packer" build -var "nutanix_port=$port" "$template"

section "Build 2: scripts/demo/provision.pkr.hcl (communicator \"ssh\", provisioners through a loopback sshd)"
ssh-keygen -q -t ed25519 -N '' -C demo-host -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -C demo-user -f "$work/user_key"
cp "$work/user_key.pub" "$work/authorized_keys"
chmod 644 "$work/authorized_keys"
ssh_port=$(free_port)
cat >"$work/sshd_config" <<EOF
Port $ssh_port
ListenAddress 127.0.0.1
HostKey $work/host_key
AuthorizedKeysFile $work/authorized_keys
PidFile $work/sshd.pid
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
Subsystem sftp internal-sftp
EOF
[ "$(id -u)" = 0 ] && mkdir -p /run/sshd # sshd's privilege separation directory
/usr/sbin/sshd -D -e -f "$work/sshd_config" 2>"$work/sshd.log" &
sshd_pid=$!
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$ssh_port") 2>/dev/null && break
  sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$ssh_port") 2>/dev/null || { echo "sshd did not start:" >&2; cat "$work/sshd.log" >&2; exit 1; }
echo "sshd listening on 127.0.0.1:$ssh_port for $(id -un) with a fresh key"
mkdir -p "$work/vm"
vars=(-var "nutanix_port=$port" -var "ssh_port=$ssh_port" -var "ssh_username=$(id -un)"
  -var "ssh_private_key_file=$work/user_key" -var "work_dir=$work/vm")
"$packer" validate "${vars[@]}" scripts/demo/provision.pkr.hcl
"$packer" build "${vars[@]}" scripts/demo/provision.pkr.hcl
echo
echo "The file provisioner wrote $work/vm/hello.txt: $(cat "$work/vm/hello.txt")"

section "What the simulator holds now (GET /_sim/state): its inventory plus the two new images, and no VM left behind"
curl -sk "https://127.0.0.1:$port/_sim/state" >"$work/state.json"
python3 - "$work/state.json" <<'PY'
import json
import sys

with open(sys.argv[1]) as f:
    state = json.load(f)
for kind in ("vms", "images"):
    items = state.get(kind, [])
    print("  %s: %d" % (kind, len(items)))
    for item in items:
        print("    %-45s %s  %s" % (item.get("name", "?"), item.get("uuid", ""), item.get("state", "")))
consoles = state.get("consoles", [])
print("  consoles opened: %d" % len(consoles))
for c in consoles:
    print("    %-45s typed %s" % (c.get("vm_name", "?"), json.dumps(c.get("typed", ""))))
PY
echo
echo "demo: done with Packer $packer_version ($packer)"

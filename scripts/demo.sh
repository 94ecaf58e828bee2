#!/usr/bin/env bash
# One command from a fresh machine to a running plugin: builds the plugin, builds a real Packer from
# its Go module (cached), installs the plugin into a private Packer plugin directory, starts the
# built-in Prism Central simulator, and runs Packer on the example template against it.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked
packer=$(bash scripts/build-peers.sh packer-1.16)
work=$(mktemp -d)
trap 'kill "${sim_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
export PACKER_PLUGIN_PATH="$work/plugins" CHECKPOINT_DISABLE=1
"$packer" plugins install --path target/release/packer-plugin-nutanix github.com/nutanix-cloud-native/nutanix

port=${SIM_PORT:-19440}
target/release/packer-plugin-nutanix simulator --listen "127.0.0.1:$port" --self-signed-tls 2>"$work/sim.log" &
sim_pid=$!
for _ in $(seq 50); do grep -q listening "$work/sim.log" 2>/dev/null && break; sleep 0.1; done

grep -q listening "$work/sim.log" || { cat "$work/sim.log" >&2; exit 1; }

template=examples/simulator/build.pkr.hcl
"$packer" validate -var "nutanix_port=$port" "$template"
"$packer" build -var "nutanix_port=$port" "$template"

echo
echo "What the simulator holds now (GET /_sim/state): images, and no VM left behind:"
curl -sk "https://127.0.0.1:$port/_sim/state" > "$work/state.json"
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

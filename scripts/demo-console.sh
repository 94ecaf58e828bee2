#!/usr/bin/env bash
# The VM console end to end: starts the built-in Prism Central simulator (HTTPS), creates a VM,
# types into its console through the v4 console token and then the v3 session cookie
# (crates/vnc-console/examples/type.rs), and shows what the VM received (GET /_sim/state).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --locked --bin packer-plugin-nutanix
cargo build --locked -p vnc-console --example type
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
work=$(mktemp -d)
trap 'kill "${sim_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

port=${SIM_PORT:-19441}
"$target_dir/debug/packer-plugin-nutanix" simulator --listen "127.0.0.1:$port" --self-signed-tls 2>"$work/sim.log" &
sim_pid=$!
for _ in $(seq 50); do grep -q listening "$work/sim.log" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$work/sim.log" || { cat "$work/sim.log" >&2; exit 1; }
base="https://127.0.0.1:$port"

cluster=$(curl -sk -u admin:secret -H 'Content-Type: application/json' -d '{"kind":"cluster"}' \
  "$base/api/nutanix/v3/clusters/list" | python3 -c 'import json,sys
for c in json.load(sys.stdin)["entities"]:
    services = c.get("status", {}).get("resources", {}).get("config", {}).get("service_list", [])
    if "PRISM_CENTRAL" not in services: print(c["metadata"]["uuid"]); break')
subnet=$(curl -sk -u admin:secret -H 'Content-Type: application/json' -d '{"kind":"subnet"}' \
  "$base/api/nutanix/v3/subnets/list" | python3 -c 'import json,sys; print(json.load(sys.stdin)["entities"][0]["metadata"]["uuid"])')
vm=$(curl -sk -u admin:secret -H 'Content-Type: application/json' "$base/api/nutanix/v3/vms" -d @- <<JSON | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["uuid"])'
{"metadata": {"kind": "vm"}, "spec": {"name": "iso-install", "cluster_reference": {"kind": "cluster", "uuid": "$cluster"},
 "resources": {"power_state": "ON", "disk_list": [{"disk_size_mib": 1024}],
   "nic_list": [{"subnet_reference": {"kind": "subnet", "uuid": "$subnet"}}]}}}
JSON
)
for _ in $(seq 100); do
  curl -sk -u admin:secret "$base/api/nutanix/v3/vms/$vm" | grep -q '"state": *"COMPLETE"' && break
  sleep 0.1
done

echo "Typing into the console of VM $vm:"
CONSOLE_TRANSPORT=v4 NUTANIX_INSECURE=1 "$target_dir/debug/examples/type" "$base" "$vm" "$cluster" 'linux inst.ks=cdrom:/ks.cfg\n'
CONSOLE_TRANSPORT=v3 NUTANIX_INSECURE=1 "$target_dir/debug/examples/type" "$base" "$vm" "$cluster" 'Yes\n'

echo
echo "What the VM's console received (GET /_sim/state, consoles):"
curl -sk "$base/_sim/state" | python3 -c 'import json,sys
for c in json.load(sys.stdin)["consoles"]:
    print("  %s (%s): %d connection(s) %s, %d key events" % (c["vm_name"], c["vm_uuid"], c["connections"],
          c.get("connections_by_transport", {}), len(c["key_events"])))
    print("    typed: %s" % json.dumps(c["typed"]))'

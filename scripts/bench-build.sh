#!/usr/bin/env bash
# Whole `packer build` against the Prism simulator: our plugin vs the Go nutanix plugin v1.2.1,
# same template (DISK_IMAGE clone of a library image, one NIC, communicator "none", one output
# image), same Packer (1.16), same simulator flags. Reports per side (median of the runs):
#   wall      wall time of the `packer build` process
#   requests  Prism API requests the build made (GET /_sim/requests; /_sim/* itself is not logged)
#   sim       simulated task time on the build's critical path (method below)
#   overhead  wall - sim: what the plugin (and Packer) add on top of Prism's own work
#   leaks     VMs left, and images other than the inventory's and the one output image
#             (GET /_sim/state once every task has ended)
# Targets: requests <= 0.25x Go's, overhead <= 0.25x Go's.
#
# Critical-path simulated time. The simulator runs every task for --task-duration-ms (T), except
# an ACPI (soft) power-off, which takes 3T; the IP shows up --ip-delay-ms after power-on and is
# set to 0 here, so tasks are the only simulated waiting. A task is on the critical path when
# the build waited for it, i.e. polled GET /tasks/{uuid} (the Go plugin, for instance, does not
# wait for its VM deletion). Each such task counts m*T, with m in {1, 3} read from the task's
# own record (GET /tasks/{uuid}: completion_time - start_time is 0.8T or 2.8T; the simulator
# prints whole seconds, so m = 3 when that difference is >= 1.8T, which needs T >= 1000 ms).
# Tasks of one build never overlap (each step waits for the previous one), so the sum is the
# critical path.
#
# The Go plugin is looked up, never built: $GO_NUTANIX_PLUGIN, else
# ~/.cache/packer-plugin-nutanix/peers/packer-plugin-nutanix-go-1.2.1; without it the Go side is
# skipped with a message. Packer: $PACKER, else ~/.cache/packer-plugin-nutanix/peers/packer-1.16.0.
#
# Usage: scripts/bench-build.sh [runs per side (default 3)]
#   TASK_MS=2000          simulated task duration (>= 1000)
#   SCENARIOS="default large"   "default": the simulator's built-in inventory; "large": a
#                         generated one with 600 images and 250 subnets (name lookups page)
# Prints a table; writes target/bench/build.json (and each run's logs under target/bench/build-runs/).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
TASK_MS=${TASK_MS:-2000}
SCENARIOS=${SCENARIOS:-"default large"}
[ "$TASK_MS" -ge 1000 ] || { echo "bench-build: TASK_MS must be >= 1000 (see the method in the header)" >&2; exit 1; }
for tool in curl jq python3; do
  command -v "$tool" >/dev/null || { echo "bench-build: $tool is missing" >&2; exit 1; }
done
peers=$HOME/.cache/packer-plugin-nutanix/peers
packer=${PACKER:-$peers/packer-1.16.0}
go_plugin=${GO_NUTANIX_PLUGIN:-$peers/packer-plugin-nutanix-go-1.2.1}
[ -x "$packer" ] || { echo "bench-build: no Packer at $packer (scripts/build-peers.sh packer-1.16 builds it)" >&2; exit 1; }
cargo build --release -q -p packer-plugin-nutanix
ours=$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release/packer-plugin-nutanix
runs_dir=$PWD/target/bench/build-runs
mkdir -p "$runs_dir"

work=$(mktemp -d /tmp/bench-build.XXXXXX)
sim_pid=
stop_sim() {
  if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; fi
  sim_pid=
}
trap 'stop_sim; rm -rf "$work"' EXIT
export CHECKPOINT_DISABLE=1 PACKER_NO_COLOR=1

sides=(ours)
if [ -x "$go_plugin" ]; then
  sides+=(go)
else
  echo "bench-build: the Go plugin is missing ($go_plugin); skipping the Go side (scripts/build-peers.sh go-nutanix builds it)" >&2
fi
# Each side gets its own plugin directory, installed the way users do it.
install_plugin() { # side binary
  mkdir -p "$work/plugins-$1"
  PACKER_PLUGIN_PATH=$work/plugins-$1 "$packer" plugins install --path "$2" \
    github.com/nutanix-cloud-native/nutanix >"$work/install-$1.log" 2>&1 ||
    { echo "bench-build: packer plugins install failed for $1:" >&2; cat "$work/install-$1.log" >&2; exit 1; }
}
install_plugin ours "$ours"
[ -x "$go_plugin" ] && install_plugin go "$go_plugin"

image_name=bench-golden-image
mkdir -p "$work/template"
cat >"$work/template/build.pkr.hcl" <<EOF
variable "port" {
  type = number
}

source "nutanix" "bench" {
  nutanix_endpoint = "127.0.0.1"
  nutanix_port     = var.port
  nutanix_username = "admin"
  nutanix_password = "secret"
  nutanix_insecure = true
  cluster_name     = "PE-Cluster-1"
  os_type          = "Linux"
  vm_disks {
    image_type        = "DISK_IMAGE"
    source_image_name = "ubuntu-22.04-server-cloudimg-amd64.img"
    disk_size_gb      = 20
  }
  vm_nics {
    subnet_name = "build-vlan-100"
  }
  image_name   = "$image_name"
  communicator = "none"
}

build {
  sources = ["source.nutanix.bench"]
}
EOF

# A Prism Central with a realistic amount of stuff: the names the template uses, among many.
python3 - "$work/inventory-large.json" <<'EOF'
import json, sys
c1 = "0005f3c1-6a1b-4d8e-9c10-000000000001"
inv = {
  "clusters": [
    {"name": "PE-Cluster-1", "uuid": c1},
    {"name": "PE-Cluster-2", "uuid": "0005f3c1-6a1b-4d8e-9c10-000000000002"},
    {"name": "Prism-Central", "prism_central": True},
  ],
  "subnets": [{"name": "build-vlan-100", "cluster": c1, "vlan_id": 100}]
           + [{"name": f"vlan-{i}", "cluster": "PE-Cluster-1" if i % 2 else "PE-Cluster-2", "vlan_id": i}
              for i in range(200, 449)],
  "images": [{"name": "ubuntu-22.04-server-cloudimg-amd64.img", "size_bytes": 2361393152}]
          + [{"name": f"team-{i % 40}-image-{i}.qcow2", "size_bytes": 1073741824} for i in range(599)],
  "hosts": [{"name": "ahv-node-1", "cluster": "PE-Cluster-1"}],
  "projects": [{"name": "default", "is_default": True}],
}
json.dump(inv, open(sys.argv[1], "w"))
EOF

printf 'machine 127.0.0.1 login admin password secret\n' >"$work/netrc"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
sim() { curl -sSk "$base$1" "${@:2}"; }
api() { curl -sSk --netrc-file "$work/netrc" "$base/api/nutanix/v3$1"; }

start_sim() { # scenario
  local port inv=()
  port=$(free_port)
  [ "$1" = large ] && inv=(--inventory "$work/inventory-large.json")
  "$ours" simulator --listen "127.0.0.1:$port" --self-signed-tls --task-duration-ms "$TASK_MS" \
    --ip-delay-ms 0 "${inv[@]}" 2>"$work/sim-$1.log" &
  sim_pid=$!
  for _ in $(seq 200); do grep -q 'listening on' "$work/sim-$1.log" 2>/dev/null && break; sleep 0.05; done
  grep -q 'listening on' "$work/sim-$1.log" || { echo "bench-build: the simulator did not start:" >&2; cat "$work/sim-$1.log" >&2; exit 1; }
  base="https://127.0.0.1:$port"
  inventory_images=$(sim /_sim/state | jq -c '[.images[].uuid]')
}

# one_build SCENARIO SIDE RUN: prints one JSON object describing the run.
one_build() {
  local scenario=$1 side=$2 run=$3 dir start end rc wall
  dir=$runs_dir/$scenario-$side-$run
  mkdir -p "$dir"
  sim /_sim/reset -X POST >/dev/null
  start=$(date +%s.%N)
  set +e
  PACKER_PLUGIN_PATH=$work/plugins-$side timeout 900 "$packer" build -color=false -var "port=${base##*:}" \
    "$work/template" >"$dir/packer.log" 2>&1
  rc=$?
  set -e
  end=$(date +%s.%N)
  wall=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }')
  sim /_sim/requests >"$dir/requests.json"
  # let tasks nobody waited for (e.g. an unawaited delete) end before judging leaks
  for _ in $(seq 100); do
    sim /_sim/state >"$dir/state.json"
    jq -e '[.tasks[] | select(.status == "QUEUED" or .status == "RUNNING")] | length == 0' "$dir/state.json" >/dev/null && break
    sleep 0.2
  done
  # the record of every task the build polled
  : >"$dir/tasks.jsonl"
  for t in $(jq -r '.tasks[].uuid' "$dir/state.json"); do
    if jq -e --arg p "/api/nutanix/v3/tasks/$t" 'any(.[]; .method == "GET" and .path == $p)' "$dir/requests.json" >/dev/null; then
      api "/tasks/$t" | jq -c '{uuid, operation_type, creation_time, start_time, completion_time, status}' >>"$dir/tasks.jsonl"
    fi
  done
  jq -n --arg scenario "$scenario" --arg side "$side" --argjson run "$run" --argjson rc "$rc" --argjson wall "$wall" \
    --argjson T "$TASK_MS" --arg image "$image_name" --argjson inv "$inventory_images" \
    --slurpfile req "$dir/requests.json" --slurpfile st "$dir/state.json" --slurpfile tasks "$dir/tasks.jsonl" '
    def secs: sub("Z$"; "") | strptime("%Y-%m-%dT%H:%M:%S") | mktime;
    ($req[0]) as $r | ($st[0]) as $s
    | ($tasks | map(((.completion_time | secs) - (.start_time | secs)) as $d
                    | {op: .operation_type, m: (if $d * 1000 >= 1.8 * $T then 3 else 1 end)})) as $awaited
    | ($awaited | map(.m) | add // 0) as $units
    | {scenario: $scenario, side: $side, run: $run, packer_exit: $rc, wall_s: $wall,
       requests: ($r | length),
       requests_by_kind: {
         lookups: ([$r[] | select(.method == "POST" and (.path | endswith("/list")))] | length),
         task_polls: ([$r[] | select(.method == "GET" and (.path | test("/tasks/")))] | length),
         entity_gets: ([$r[] | select(.method == "GET" and (.path | test("/tasks/") | not))] | length),
         changes: ([$r[] | select(.method != "GET" and ((.method == "POST" and (.path | endswith("/list"))) | not))] | length)},
       tasks_created: ($s.tasks | length), tasks_awaited: ($awaited | length), awaited_ops: $awaited,
       sim_s: ($units * $T / 1000), overhead_s: ((($wall - $units * $T / 1000) * 1000 | round) / 1000),
       leaked_vms: [$s.vms[] | {uuid, name, state}],
       leaked_images: [$s.images[] | select((.uuid as $u | $inv | index($u)) == null and .name != $image) | {uuid, name, state}],
       output_images: ([$s.images[] | select(.name == $image)] | length)}'
}

load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "packer build against the simulator: task duration ${TASK_MS} ms, IP delay 0, HTTPS; $RUNS runs per side; load before: $load" >&2
all='[]'
for scenario in $SCENARIOS; do
  start_sim "$scenario"
  for run in $(seq "$RUNS"); do
    order=("${sides[@]}")
    # alternate which side goes first
    if [ $((run % 2)) = 0 ] && [ ${#sides[@]} = 2 ]; then order=("${sides[1]}" "${sides[0]}"); fi
    for side in "${order[@]}"; do
      res=$(one_build "$scenario" "$side" "$run")
      echo "  $scenario $side run $run: $(jq -r '"exit \(.packer_exit), wall \(.wall_s)s, \(.requests) requests, sim \(.sim_s)s, leaks \(.leaked_vms | length) VM / \(.leaked_images | length) images"' <<<"$res")" >&2
      all=$(jq -c --argjson x "$res" '. + [$x]' <<<"$all")
    done
  done
  stop_sim
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

jq -n --argjson runs "$all" --arg load "$load" --arg load_after "$load_after" --argjson T "$TASK_MS" \
  --arg go_present "$([ -x "$go_plugin" ] && echo yes || echo no)" '
  def median: sort | if length == 0 then null elif length % 2 == 1 then .[(length - 1) / 2] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def r3: if . == null then null else . * 1000 | round / 1000 end;
  ($runs | group_by(.scenario + "/" + .side) | map(
     {scenario: .[0].scenario, side: .[0].side, runs: length,
      failed_runs: (map(select(.packer_exit != 0)) | length),
      wall_s: (map(.wall_s) | median | r3), requests: (map(.requests) | median),
      sim_s: (map(.sim_s) | median | r3), overhead_s: (map(.overhead_s) | median | r3),
      requests_by_kind: .[0].requests_by_kind, tasks_awaited: .[0].tasks_awaited,
      leaks: (map((.leaked_vms | length) + (.leaked_images | length)) | add)})) as $sum
  | {benchmark: "packer build vs simulator", task_duration_ms: $T, ip_delay_ms: 0, load_before: $load,
     load_after: $load_after, go_plugin_present: ($go_present == "yes"),
     targets: {requests_ratio_max: 0.25, overhead_ratio_max: 0.25},
     summary: $sum,
     ratios: ([$sum[] | select(.side == "ours")] | map(. as $o
        | ([$sum[] | select(.side == "go" and .scenario == $o.scenario)] | first) as $g
        | select($g != null)
        | {scenario: $o.scenario, requests_ratio: (($o.requests / $g.requests) | r3),
           overhead_ratio: (($o.overhead_s / $g.overhead_s) | r3), wall_ratio: (($o.wall_s / $g.wall_s) | r3)})),
     runs: $runs}' >target/bench/build.json

printf '%-8s %-5s %5s %8s %9s %8s %10s %6s   %s\n' scenario side fail 'wall s' requests 'sim s' 'overhead s' leaks 'lookups/polls/gets/changes'
jq -r '.summary[] | [.scenario, .side, .failed_runs, .wall_s, .requests, .sim_s, .overhead_s, .leaks,
       "\(.requests_by_kind.lookups)/\(.requests_by_kind.task_polls)/\(.requests_by_kind.entity_gets)/\(.requests_by_kind.changes)"] | @tsv' target/bench/build.json |
  awk -F'\t' '{ printf "%-8s %-5s %5s %8.2f %9s %8.2f %10.2f %6s   %s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }'
jq -r '.ratios[] | "\(.scenario): ours / Go requests \(.requests_ratio)x (target <= 0.25), overhead \(.overhead_ratio)x (target <= 0.25), wall \(.wall_ratio)x"' target/bench/build.json
if [ "${#sides[@]}" = 1 ]; then echo "Go side skipped: plugin missing at $go_plugin"; fi
echo "load average after: $load_after; wrote target/bench/build.json (logs: target/bench/build-runs/)"

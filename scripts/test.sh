#!/usr/bin/env bash
# The project's test command (README, .ci/run): unit tests, the real-Packer tests (Packer 1.16 with
# protobuf and with gob, Packer 1.11), and the Go interop harness built on packer-plugin-sdk.
# Needs the Go peers; builds them (cached under ~/.cache) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/build-peers.sh packer-1.16 packer-1.11 sdc >/dev/null

export CHECKPOINT_DISABLE=1
cargo build --workspace --all-targets --locked
cargo test --workspace --locked -- --test-threads=2
bash tests/interop/run.sh

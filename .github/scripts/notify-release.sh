#!/usr/bin/env bash
# Tells HashiCorp's integrations portal that release VERSION of this plugin exists, with
# hashicorp/integration-release-action (checked out by the workflow into $ACTION_DIR), retrying
# transient failures with exponential backoff (.github/scripts/retry.sh).
#
# A workflow step cannot retry an action, so the action's program is run here the way the Actions
# runner runs it: `node dist/index.js`, with each input in an INPUT_<NAME> variable. The program
# first validates .web-docs and metadata.hcl ("[validate-hcl]"), then POSTs the release; it exits
# non-zero on either failure. A validation error or a 4xx answer (other than 408 and 429) is
# permanent and fails at once; anything else (5xx, 408, 429, network errors) is retried.
#
# Usage: notify-release.sh VERSION REF
#   VERSION  X.Y.Z (no leading v), as the portal lists it
#   REF      the release's git ref or SHA (refs/tags/vX.Y.Z)
# Environment: GITHUB_TOKEN (required), ACTION_DIR (default ./integration-release-action),
#   INTEGRATION_IDENTIFIER (default packer/nutanix-cloud-native/nutanix, as in metadata.hcl),
#   NOTIFY_ATTEMPTS (default 6), NOTIFY_DELAY (first wait in s, default 15),
#   NOTIFY_CMD (default: node "$ACTION_DIR/dist/index.js"; tests run a stub instead).
set -euo pipefail

die() { echo "::error::notify-release: $*" >&2; exit 2; }
[ $# -eq 2 ] || die "usage: notify-release.sh VERSION REF"
version=$1
ref=$2
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "version '$version' is not X.Y.Z"
[ -n "$ref" ] || die "empty ref"
[ -n "${GITHUB_TOKEN:-}" ] || die "GITHUB_TOKEN is not set"
here=$(cd "$(dirname "$0")" && pwd)

action_dir=${ACTION_DIR:-./integration-release-action}
if [ -n "${NOTIFY_CMD:-}" ]; then
  read -r -a cmd <<<"$NOTIFY_CMD"
else
  [ -f "$action_dir/dist/index.js" ] || die "$action_dir/dist/index.js is missing: check out hashicorp/integration-release-action there"
  cmd=(node "$action_dir/dist/index.js")
fi

export INPUT_GITHUB_TOKEN=$GITHUB_TOKEN
export INPUT_INTEGRATION_IDENTIFIER=${INTEGRATION_IDENTIFIER:-packer/nutanix-cloud-native/nutanix}
export INPUT_RELEASE_VERSION=$version
export INPUT_RELEASE_SHA=$ref
export INPUT_REPO_PATH=${INPUT_REPO_PATH:-}
export GITHUB_WORKSPACE=${GITHUB_WORKSPACE:-$PWD}

echo "notify-release: $INPUT_INTEGRATION_IDENTIFIER version $version at $ref"
exec bash "$here/retry.sh" \
  --attempts "${NOTIFY_ATTEMPTS:-6}" --delay "${NOTIFY_DELAY:-15}" --max-delay 240 \
  --fatal-if '\[validate-hcl\] Error|API responded with \[4([0-9][0-7]|[0-13-9]9|[1-9]8)\]' \
  --what "notifying the integrations portal of $version" \
  -- "${cmd[@]}"

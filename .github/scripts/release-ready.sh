#!/usr/bin/env bash
# Exits 0 when the GitHub release of TAG is published (not a draft) and carries the plugin's
# SHA256SUMS and at least one zip, which is when `packer init` can install it and the
# integrations portal can be told about it; exits 1 otherwise (not yet). Run through
# .github/scripts/retry.sh to wait for the release workflow.
#
# Usage: release-ready.sh TAG   (vX.Y.Z)
# Environment: GITHUB_REPOSITORY (owner/name), GH_TOKEN for `gh`. GH (default gh) names the
# GitHub CLI; tests point it at a stub.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: release-ready.sh TAG" >&2; exit 2; }
tag=$1
repo=${GITHUB_REPOSITORY:?GITHUB_REPOSITORY is not set}
gh=${GH:-gh}
sums="packer-plugin-nutanix_${tag}_SHA256SUMS"

if ! release=$("$gh" api "repos/$repo/releases/tags/$tag" 2>&1); then
  echo "release-ready: no release $tag in $repo yet: $release"
  exit 1
fi
state=$(jq -r --arg sums "$sums" '
  if .draft then "a draft"
  elif ([.assets[]?.name] | index($sums)) == null then "missing \($sums)"
  elif ([.assets[]?.name | select(endswith(".zip"))] | length) == 0 then "without zips"
  else "ready" end' <<<"$release") || { echo "release-ready: unreadable answer for $tag: $release"; exit 1; }
if [ "$state" != ready ]; then
  echo "release-ready: release $tag is $state"
  exit 1
fi
echo "release-ready: release $tag is published with $sums"

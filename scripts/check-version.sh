#!/usr/bin/env bash
# Checks that the places that state the plugin's version agree:
#
#   Cargo.toml          [package] version X.Y.Z: what `describe` reports and the release is named
#   CHANGELOG.md        sections `## [Unreleased]` and `## [A.B.C] - YYYY-MM-DD`, newest first,
#                       versions decreasing; none newer than X.Y.Z; while X.Y.Z itself has no
#                       section, an [Unreleased] section holds its changes
#   README.md, docs/README.md, examples/*/build.pkr.hcl
#                       every `version = ">= A.B.C"` constraint next to our source address is
#                       met by X.Y.Z (so the install snippet and the examples accept this build)
#   BINARY (optional)   its `describe` reports exactly X.Y.Z
#
# With --release vX.Y.Z (release.yml, on the tag): the tag must be vX.Y.Z, the newest CHANGELOG
# section must be `## [X.Y.Z] - <date>`, and [Unreleased], if present, must be empty. With
# --notes FILE, that section's text is written to FILE (the GitHub release notes).
#
# Usage: scripts/check-version.sh [--release TAG [--notes FILE]] [--binary BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."

release=
notes=
binary=
while [ $# -gt 0 ]; do
  case "$1" in
    --release) release=${2:?--release needs a tag}; shift 2 ;;
    --notes) notes=${2:?--notes needs a file}; shift 2 ;;
    --binary) binary=${2:?--binary needs a path}; shift 2 ;;
    *) echo "usage: scripts/check-version.sh [--release TAG [--notes FILE]] [--binary BINARY]" >&2; exit 2 ;;
  esac
done

problems=()
problem() { problems+=("$*"); }

# The [package] version of the root Cargo.toml (the first `version =` before any other table).
version=$(awk '/^\[/ { t = $0 } t == "[package]" && /^version *= *"/ { gsub(/.*= *"|".*/, ""); print; exit }' Cargo.toml)
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "check-version: Cargo.toml [package] version '$version' is not X.Y.Z" >&2; exit 1; }

# ver_cmp A B: prints -1, 0 or 1.
ver_cmp() {
  local IFS=. i a b
  read -r -a a <<<"$1"
  read -r -a b <<<"$2"
  for i in 0 1 2; do
    if [ "${a[i]}" -lt "${b[i]}" ]; then echo -1; return; fi
    if [ "${a[i]}" -gt "${b[i]}" ]; then echo 1; return; fi
  done
  echo 0
}

# --- CHANGELOG.md
[ -f CHANGELOG.md ] || { echo "check-version: CHANGELOG.md is missing" >&2; exit 1; }
headings=()
while IFS= read -r line; do headings+=("$line"); done < <(grep -nE '^## ' CHANGELOG.md || true)
unreleased_line=
unreleased_body=
newest=
newest_date=
prev=
for h in "${headings[@]}"; do
  n=${h%%:*}
  text=${h#*:}
  if [ "$text" = "## [Unreleased]" ]; then
    [ -z "$prev" ] && [ -z "$unreleased_line" ] || problem "CHANGELOG.md:$n: [Unreleased] must be the first section, once"
    unreleased_line=$n
    continue
  fi
  if [[ $text =~ ^"## ["([0-9]+\.[0-9]+\.[0-9]+)"] - "([0-9]{4}-[0-9]{2}-[0-9]{2})$ ]]; then
    v=${BASH_REMATCH[1]}
    if [ -z "$newest" ]; then
      newest=$v
      newest_date=${BASH_REMATCH[2]}
    fi
    if [ -n "$prev" ] && [ "$(ver_cmp "$v" "$prev")" != -1 ]; then
      problem "CHANGELOG.md:$n: $v is not older than the section above it ($prev)"
    fi
    prev=$v
  else
    problem "CHANGELOG.md:$n: a section heading must be '## [Unreleased]' or '## [X.Y.Z] - YYYY-MM-DD', not '$text'"
  fi
done
if [ -n "$unreleased_line" ]; then
  unreleased_body=$(awk -v from="$unreleased_line" 'NR > from && /^## / { exit } NR > from' CHANGELOG.md | grep -v '^[[:space:]]*$' || true)
fi
if [ -n "$newest" ] && [ "$(ver_cmp "$newest" "$version")" = 1 ]; then
  problem "CHANGELOG.md has a section for $newest, newer than Cargo.toml's $version"
fi
if [ "$newest" != "$version" ] && [ -z "$unreleased_body" ]; then
  problem "CHANGELOG.md has no section for $version (Cargo.toml) and no [Unreleased] changes"
fi

# --- install snippets and examples
snippet_files=(README.md docs/README.md examples/*/build.pkr.hcl)
for f in "${snippet_files[@]}"; do
  [ -f "$f" ] || continue
  found=0
  while IFS= read -r c; do
    found=1
    if [[ $c =~ ^">= "([0-9]+\.[0-9]+\.[0-9]+)$ ]]; then
      [ "$(ver_cmp "$version" "${BASH_REMATCH[1]}")" != -1 ] ||
        problem "$f: required_plugins says version = \"$c\", which $version does not meet"
    else
      problem "$f: required_plugins version \"$c\" is not of the form \">= X.Y.Z\""
    fi
  done < <(grep -A3 -E '^[[:space:]]*nutanix = \{' "$f" | sed -n 's/^[[:space:]]*version[[:space:]]*=[[:space:]]*"\(.*\)"[[:space:]]*$/\1/p')
  case "$f" in
    README.md | docs/README.md | examples/simulator/*) [ $found = 1 ] || problem "$f has no required_plugins version for nutanix" ;;
  esac
done

# --- the binary
if [ -n "$binary" ]; then
  described=$("$binary" describe 2>/dev/null) || problem "$binary describe failed"
  compact=$(printf '%s' "${described:-}" | tr -d ' \n\r')
  case "$compact" in
    *"\"version\":\"$version\""*) ;;
    *) problem "$binary describes itself as ${described:-nothing}, not version $version" ;;
  esac
fi

# --- at release
if [ -n "$release" ]; then
  [ "$release" = "v$version" ] || problem "tag $release but Cargo.toml says $version (the tag must be v$version)"
  [ "$newest" = "$version" ] || problem "CHANGELOG.md's newest section is '${newest:-none}', not '## [$version] - YYYY-MM-DD'"
  [ -z "$unreleased_body" ] || problem "CHANGELOG.md still has [Unreleased] changes: move them under ## [$version]"
  if [ -n "$notes" ] && [ "$newest" = "$version" ]; then
    awk -v head="## [$version] - $newest_date" '$0 == head { on = 1; next } on && /^## / { exit } on' CHANGELOG.md >"$notes"
  fi
fi

if [ ${#problems[@]} -gt 0 ]; then
  printf 'check-version: %s\n' "${problems[@]}" >&2
  exit 1
fi
echo "check-version: $version agrees in Cargo.toml, CHANGELOG.md, the install snippets and the examples${binary:+ and $binary}${release:+ (release $release)}" >&2

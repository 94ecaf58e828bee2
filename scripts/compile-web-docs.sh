#!/usr/bin/env bash
# Regenerates .web-docs/ (what HashiCorp's integrations portal reads) from docs/ (the packer-sdc
# layout), doing what the scaffolding's `make generate` does with packer-sdc renderdocs and
# .web-docs/scripts/compile-to-webdocs.sh, so neither Go nor packer-sdc is needed:
#
#   docs/README.md                    -> .web-docs/README.md (copied as is)
#   docs/<kind>s/<slug>.mdx           -> .web-docs/components/<kind>/<slug>/README.md
#     (builders, provisioners, post-processors, datasources -> builder, provisioner,
#      post-processor, data-source; index.mdx files are skipped)
#
# For each component page: the `---` front matter, the blank line after it, the first `# Title`
# line and the blank line after that are removed (the portal adds the title itself), and links
# to /packer/plugins/... are rewritten to /packer/integrations/<org>/...; the text ends with
# exactly one newline. `@include` partials are not supported: this repository has none, and a
# page that uses one is refused rather than published half-rendered.
#
# .web-docs/metadata.hcl is left alone. tests/ecosystem.rs runs this script and fails when the
# committed .web-docs/ differs from its output.
#
# Usage: scripts/compile-web-docs.sh [DOCS-DIR [WEB-DOCS-DIR [ORG]]]
#        (defaults: docs .web-docs nutanix-cloud-native, relative to the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."

docs=${1:-docs}
web=${2:-.web-docs}
org=${3:-nutanix-cloud-native}

die() { echo "compile-web-docs: $*" >&2; exit 1; }

[ -f "$docs/README.md" ] || die "$docs/README.md is missing"
if grep -rlE "^[[:space:]]*@include " "$docs" >/dev/null 2>&1; then
  die "@include partials are not supported (found in: $(grep -rlE "^[[:space:]]*@include " "$docs" | tr '\n' ' '))"
fi

# The integration's name for a docs folder.
kind_of() {
  case "$1" in
    builders) echo builder ;;
    provisioners) echo provisioner ;;
    post-processors) echo post-processor ;;
    datasources) echo data-source ;;
    *) echo "" ;;
  esac
}

# Strips the front matter and the title; fails on any other page shape, because the portal's
# own script would then cut the wrong lines.
strip_header() {
  awk -v file="$1" '
    function fail(why) { printf "compile-web-docs: %s: %s\n", file, why > "/dev/stderr"; bad = 1; exit 1 }
    NR == 1 { if ($0 != "---") fail("must start with a --- front matter line"); state = "front"; next }
    state == "front" { if ($0 == "---") state = "blank1"; next }
    state == "blank1" { if ($0 != "") fail("needs one blank line after the front matter"); state = "title"; next }
    state == "title" { if ($0 !~ /^# /) fail("needs a \"# Title\" line after the front matter"); state = "blank2"; next }
    state == "blank2" { if ($0 != "") fail("needs a blank line after the title"); state = "body"; next }
    { print }
    END { if (!bad && state != "body") fail("ends before its title and body") }
  ' "$1"
}

# Rewrites /packer/plugins/... links to the integrations portal's addresses.
rewrite_links() {
  local seg='([^/]+)' anchor='(#[^/]+)?'
  sed -E \
    -e "s/\(\/packer\/plugins\/$seg\/$seg$anchor\)/(\/packer\/integrations\/$org\/\2\3)/g" \
    -e "s/\(\/packer\/plugins\/$seg\/$seg\/$seg$anchor\)/(\/packer\/integrations\/$org\/\2\/latest\/components\/\1\/\3\4)/g" |
    sed -e 's/\/datasources\//\/data-source\//g' \
        -e 's/\/builders\//\/builder\//g' \
        -e 's/\/post-processors\//\/post-processor\//g' \
        -e 's/\/provisioners\//\/provisioner\//g'
}

mkdir -p "$web"
rm -rf "$web/components"
cp "$docs/README.md" "$web/README.md"

found=0
while IFS= read -r page; do
  rel=${page#"$docs"/}
  folder=${rel%%/*}
  slug=$(basename "$rel" .mdx)
  [ "$slug" = index ] && continue
  kind=$(kind_of "$folder")
  [ -n "$kind" ] || die "$page: component pages belong in builders/, provisioners/, post-processors/ or datasources/"
  out="$web/components/$kind/$slug"
  mkdir -p "$out"
  body=$(strip_header "$page" | rewrite_links) || die "$page could not be converted"
  printf '%s\n' "$body" >"$out/README.md"
  found=$((found + 1))
done < <(find "$docs" -mindepth 2 -maxdepth 2 -name '*.mdx' | LC_ALL=C sort)

[ "$found" -gt 0 ] || die "no component pages (*.mdx) under $docs"
echo "compile-web-docs: $docs -> $web ($found component page(s))" >&2

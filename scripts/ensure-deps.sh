#!/usr/bin/env bash
# Makes sure the system packages listed in one or more dependency lists (scripts/deps/*.txt) are
# present. Each line of a list is `<kind> <package> <probe> [# why]` (see scripts/deps/test.txt).
#
# For every line whose probe fails (a command not on PATH, or an absolute path that does not exist):
#   apt   as root (or with password-less sudo) with apt-get: installed with `apt-get install
#         --no-install-recommends`; otherwise the exact apt-get command is printed and the
#         script fails.
#   pypi  installed with pip into the venv $PY_VENV (default ~/.cache/packer-plugin-nutanix/venv),
#         created with python3 -m venv when missing. Callers put "$PY_VENV/bin" first on PATH
#         (scripts/test.sh does). Needs python3 with the venv module (Debian: python3-venv).
# The probes are checked again afterwards, so a package that installs but does not provide the
# probe fails here, not halfway through the tests.
#
# Usage: scripts/ensure-deps.sh LIST...      (e.g. scripts/deps/test.txt)
#        scripts/ensure-deps.sh --print LIST...   only print what is missing; exit 1 if anything is
# Prints one line per installed or missing package on stderr; nothing on stdout.
set -euo pipefail

PY_VENV=${PY_VENV:-$HOME/.cache/packer-plugin-nutanix/venv}
print_only=0
if [ "${1:-}" = --print ]; then
  print_only=1
  shift
fi
[ $# -gt 0 ] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

say() { echo "ensure-deps: $*" >&2; }

# probe_ok PROBE: the probe holds (on PATH, or an existing absolute path; the venv counts).
probe_ok() {
  case "$1" in
    /*) [ -e "$1" ] ;;
    *) command -v "$1" >/dev/null 2>&1 || [ -x "$PY_VENV/bin/$1" ] ;;
  esac
}

apt_missing=()
pypi_missing=()
# check_lists: fills apt_missing and pypi_missing from the lists' failing probes.
check_lists() {
  apt_missing=()
  pypi_missing=()
  local list kind pkg probe rest n
  for list in "$@"; do
    [ -f "$list" ] || { say "no dependency list $list"; exit 2; }
    n=0
    while read -r kind pkg probe rest; do
      n=$((n + 1))
      case "$kind" in '' | '#'*) continue ;; esac
      [ -n "$pkg" ] && [ -n "$probe" ] || { say "$list:$n: expected '<kind> <package> <probe>'"; exit 2; }
      probe_ok "$probe" && continue
      case "$kind" in
        apt) apt_missing+=("$pkg") ;;
        pypi) pypi_missing+=("$pkg") ;;
        *) say "$list:$n: unknown kind '$kind' (apt or pypi)"; exit 2 ;;
      esac
    done <"$list"
  done
  # De-duplicate (several lists may name the same package).
  if [ ${#apt_missing[@]} -gt 0 ]; then
    mapfile -t apt_missing < <(printf '%s\n' "${apt_missing[@]}" | awk '!seen[$0]++')
  fi
  if [ ${#pypi_missing[@]} -gt 0 ]; then
    mapfile -t pypi_missing < <(printf '%s\n' "${pypi_missing[@]}" | awk '!seen[$0]++')
  fi
  return 0
}

check_lists "$@"
if [ ${#apt_missing[@]} -eq 0 ] && [ ${#pypi_missing[@]} -eq 0 ]; then
  exit 0
fi

# pip needs python3's venv module; on Debian that is its own package.
if [ ${#pypi_missing[@]} -gt 0 ] && [ ! -x "$PY_VENV/bin/pip" ]; then
  if ! command -v python3 >/dev/null 2>&1; then
    apt_missing+=(python3 python3-venv)
  elif ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    apt_missing+=(python3-venv)
  fi
fi

apt_cmd="apt-get update && apt-get install -y --no-install-recommends ${apt_missing[*]:-}"
if [ $print_only = 1 ]; then
  [ ${#apt_missing[@]} -eq 0 ] || say "missing Debian packages: ${apt_missing[*]}; install them with: $apt_cmd"
  [ ${#pypi_missing[@]} -eq 0 ] || say "missing PyPI packages: ${pypi_missing[*]} (into $PY_VENV)"
  exit 1
fi

# Root installs directly; a user with password-less sudo (GitHub's runners) through sudo.
as_root=()
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
  as_root=(sudo -n env DEBIAN_FRONTEND=noninteractive)
fi
if [ ${#apt_missing[@]} -gt 0 ]; then
  if { [ "$(id -u)" != 0 ] && [ ${#as_root[@]} -eq 0 ]; } || ! command -v apt-get >/dev/null 2>&1; then
    say "missing system packages: ${apt_missing[*]}"
    if command -v apt-get >/dev/null 2>&1; then
      say "install them, then run this again:  sudo sh -c '$apt_cmd'"
    else
      say "this is not a Debian-like system: install the packages that provide them with your package manager"
    fi
    exit 1
  fi
  say "installing Debian packages: ${apt_missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq >&2
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >&2
fi

if [ ${#pypi_missing[@]} -gt 0 ]; then
  if [ ! -x "$PY_VENV/bin/pip" ]; then
    say "creating the Python venv $PY_VENV"
    python3 -m venv "$PY_VENV" >&2
  fi
  say "installing PyPI packages into $PY_VENV: ${pypi_missing[*]}"
  "$PY_VENV/bin/pip" install --quiet --disable-pip-version-check "${pypi_missing[@]}" >&2
fi

check_lists "$@"
if [ ${#apt_missing[@]} -gt 0 ] || [ ${#pypi_missing[@]} -gt 0 ]; then
  say "still missing after installing: ${apt_missing[*]:-} ${pypi_missing[*]:-} (a probe in $* names a command the package does not provide?)"
  exit 1
fi
say "all of $* present"

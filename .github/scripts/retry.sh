#!/usr/bin/env bash
# Runs a command until it succeeds, waiting longer after each failure (exponential backoff), and
# fails loudly after the last attempt. The release workflows use it for calls that can fail
# transiently: waiting for the GitHub release of a tag to be published, and notifying HashiCorp's
# integrations portal (.github/scripts/notify-release.sh).
#
# Usage: retry.sh [--attempts N] [--delay S] [--max-delay S] [--fatal-if REGEX] [--what TEXT] -- COMMAND [ARG...]
#   --attempts N     how many times COMMAND runs at most (default 5)
#   --delay S        seconds to wait after the first failure (default 10); each later wait doubles
#   --max-delay S    cap on one wait (default 300)
#   --fatal-if REGEX an extended regex: when COMMAND fails and its output (stdout and stderr)
#                    matches, the failure is permanent and no further attempt is made
#   --what TEXT      what is being tried, for the messages (default: the command)
# COMMAND's output is passed through on stdout (its stderr merged in). The exit status is 0 on
# success, else COMMAND's last status (2 for a usage error of retry.sh itself). RETRY_SLEEP names the command used to wait (default
# sleep); tests set it to record the waits instead of sleeping.
set -euo pipefail

attempts=5
delay=10
max_delay=300
fatal_if=
what=
die() { echo "retry: $*" >&2; exit 2; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
while [ $# -gt 0 ]; do
  case "$1" in
    --attempts) [ $# -ge 2 ] && is_uint "$2" && [ "$2" -ge 1 ] || die "--attempts needs a whole number >= 1"; attempts=$2; shift 2 ;;
    --delay) [ $# -ge 2 ] && is_uint "$2" || die "--delay needs whole seconds"; delay=$2; shift 2 ;;
    --max-delay) [ $# -ge 2 ] && is_uint "$2" || die "--max-delay needs whole seconds"; max_delay=$2; shift 2 ;;
    --fatal-if) [ $# -ge 2 ] || die "--fatal-if needs a regex"; fatal_if=$2; shift 2 ;;
    --what) [ $# -ge 2 ] || die "--what needs a text"; what=$2; shift 2 ;;
    --) shift; break ;;
    *) die "unknown option $1 (the command goes after --)" ;;
  esac
done
[ $# -gt 0 ] || die "no command given (retry.sh [options] -- COMMAND [ARG...])"
[ -n "$what" ] || what="$*"
sleep_cmd=${RETRY_SLEEP:-sleep}

out=$(mktemp)
trap 'rm -f "$out"' EXIT
wait_s=$delay
for ((i = 1; i <= attempts; i++)); do
  # Pass the output through (stderr merged into stdout) while keeping a copy for --fatal-if.
  set +e
  "$@" 2>&1 | tee "$out"
  status=${PIPESTATUS[0]}
  set -e
  if [ $status -eq 0 ]; then
    [ "$i" -gt 1 ] && echo "retry: $what succeeded on attempt $i of $attempts" >&2
    exit 0
  fi
  if [ -n "$fatal_if" ] && grep -Eq -- "$fatal_if" "$out"; then
    echo "::error::$what failed permanently on attempt $i (exit $status; output matches '$fatal_if'); not retrying" >&2
    exit $status
  fi
  if [ "$i" -eq "$attempts" ]; then
    echo "::error::$what failed $attempts times (last exit $status); giving up" >&2
    exit $status
  fi
  echo "retry: $what failed on attempt $i of $attempts (exit $status); next attempt in ${wait_s} s" >&2
  "$sleep_cmd" "$wait_s"
  wait_s=$((wait_s * 2))
  [ "$wait_s" -le "$max_delay" ] || wait_s=$max_delay
done

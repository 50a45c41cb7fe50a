#!/usr/bin/env bash
# run_golden.sh EXPECTED_RC GOLDEN -- COMMAND...
# Runs COMMAND from the source tree (so paths in the output are relative),
# checks its exit code, and compares stdout+stderr with GOLDEN.
# UPDATE_GOLDEN=1 rewrites GOLDEN instead; review the diff like code.
set -u
want_rc=$1 golden=$2
shift 2
[ "$1" = "--" ] && shift
cd "$(dirname "$0")/.." || exit 2
out=$("$@" 2>&1)
rc=$?
if [ "$rc" != "$want_rc" ]; then
  echo "FAIL: exit code $rc, expected $want_rc: $*"
  printf '%s\n' "$out" | head -40
  exit 1
fi
if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
  printf '%s\n' "$out" > "$golden"
  echo "updated $golden"
  exit 0
fi
if [ ! -f "$golden" ]; then
  echo "FAIL: no golden file $golden (run with UPDATE_GOLDEN=1 to create it)"
  exit 1
fi
if ! diff -u "$golden" <(printf '%s\n' "$out"); then
  echo "FAIL: output differs from $golden (UPDATE_GOLDEN=1 to accept)"
  exit 1
fi
echo "ok: $golden"

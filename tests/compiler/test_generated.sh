#!/usr/bin/env bash
# test_generated.sh NETC: generated/ holds exactly what netc emits now for
# every dsl-example, and emitting twice gives identical bytes. A difference
# means the emitter changed: run tools/regenerate.sh and review the diff.
# Also: the compute weights `netc report` counts are the block the emitted
# header declares.
set -u
netc=$1
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
for f in dsl-examples/*.net; do
  name=$(basename "$f" .net)
  "$netc" emit "$f" --target c -o "$tmp/a/$name" >/dev/null 2>&1 &&
    "$netc" emit "$f" --target c -o "$tmp/b/$name" >/dev/null 2>&1 || { echo "FAIL: netc emit $f"; fails=$((fails + 1)); continue; }
  if ! diff -r "$tmp/a/$name" "$tmp/b/$name" >/dev/null; then
    echo "FAIL: two emissions of $f differ"
    fails=$((fails + 1))
  fi
  for cc in gcc clang; do
    command -v $cc >/dev/null || continue
    if ! $cc -std=c11 -Wall -Wextra -Werror -fsyntax-only -Iruntime/include "$tmp/a/$name/"*.c 2> "$tmp/cc"; then
      echo "FAIL: $cc rejects the C emitted for $f:"
      head -20 "$tmp/cc"
      fails=$((fails + 1))
    fi
  done
  if ! diff -ru "generated/$name" "$tmp/a/$name" > "$tmp/diff" 2>&1; then
    echo "FAIL: generated/$name is stale (tools/regenerate.sh rewrites it):"
    head -20 "$tmp/diff"
    fails=$((fails + 1))
  else
    echo "ok: generated/$name"
  fi
  floats=$(sed -n 's/^#define [A-Z0-9_]*_COMPUTE_FLOATS \([0-9]*\)$/\1/p' "$tmp/a/$name/"*.h)
  bytes=$("$netc" report "$f" --json | sed -n 's/.*"compute_weight_bytes":[[:space:]]*\([0-9]*\).*/\1/p')
  if [ -z "$floats" ] || [ "$bytes" != "$((floats * 4))" ]; then
    echo "FAIL: $f: report counts ${bytes:-no} compute weight bytes, the header declares ${floats:-no} floats"
    fails=$((fails + 1))
  fi
done
exit $((fails > 0))

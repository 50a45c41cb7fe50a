#!/usr/bin/env bash
# test_cli.sh NETC: the command line's contract: help, version, exit codes
# (0 ok, 1 model errors, 2 usage), clear messages for bad flags and files,
# and outputs written whole or not at all.
set -u
netc=$1
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

# expect RC PATTERN -- COMMAND...: exit code RC and output matching PATTERN.
expect() {
  local want=$1 pattern=$2
  shift 3
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" != "$want" ] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL: $* -> rc $rc (want $want), output:"
    printf '%s\n' "$out" | head -10
    echo "  (expected pattern: $pattern)"
    fails=$((fails + 1))
  else
    echo "ok: $*"
  fi
}

ex=dsl-examples/mnist_mlp.net
expect 0 '^netc [0-9]+\.[0-9]+\.[0-9]+$' -- "$netc" --version
expect 0 'usage: netc' -- "$netc" --help
expect 0 'usage: netc report' -- "$netc" report --help
expect 0 'usage: netc check' -- "$netc" check --help
expect 0 'usage: netc graph' -- "$netc" graph --help
expect 2 'usage: netc' -- "$netc"
expect 2 "unknown command 'chek'; did you mean 'check'" -- "$netc" chek $ex
expect 2 "unknown option '--jsn'; did you mean '--json'" -- "$netc" report --jsn $ex
expect 2 "no model file given" -- "$netc" report --json
expect 2 "--batch needs a whole number" -- "$netc" report --batch 0 $ex
expect 2 "--batch needs a whole number" -- "$netc" report --batch 12abc $ex
expect 2 "option '--batch' needs a value" -- "$netc" report $ex --batch
expect 2 "exclude each other" -- "$netc" report --json --markdown $ex
expect 2 "cannot read nonexistent.net: No such file" -- "$netc" check nonexistent.net
expect 2 "is a directory" -- "$netc" check dsl-examples
expect 2 "must end in .dot or .svg" -- "$netc" graph $ex -o "$tmp/out.png"
expect 0 '' -- "$netc" check $ex
expect 0 'Total params: 134,794' -- "$netc" report $ex
expect 0 '"total":[[:space:]]*134794' -- "$netc" report --json $ex
expect 0 'Batch 32' -- "$netc" report --batch 32 $ex
expect 0 '' -- "$netc" graph $ex -o "$tmp/g.dot"
expect 0 'digraph' -- cat "$tmp/g.dot"
if command -v dot >/dev/null; then
  expect 0 '' -- "$netc" graph $ex -o "$tmp/g.svg"
  expect 0 '<svg' -- cat "$tmp/g.svg"
fi
# A report written with -o is complete, and no temporary file is left.
expect 0 '' -- "$netc" report $ex -o "$tmp/r.txt"
expect 0 'Peak activation memory' -- cat "$tmp/r.txt"
expect 0 '^r.txt$' -- ls "$tmp" -I 'g.*'
# An unwritable destination is a usage error, and nothing is written.
expect 2 "cannot write" -- "$netc" report $ex -o /nonexistent-dir/r.txt
# A model with errors exits 1, and -o leaves an existing file alone.
echo keep > "$tmp/keep.txt"
printf 'network m(input: 8x8x3) { return input -> conv(4, 9) }\n' > "$tmp/bad.net"
expect 1 "larger than" -- "$netc" report "$tmp/bad.net" -o "$tmp/keep.txt"
expect 0 '^keep$' -- cat "$tmp/keep.txt"

if [ $fails -gt 0 ]; then
  echo "$fails failure(s)"
  exit 1
fi
echo "all CLI checks passed"

#!/usr/bin/env bash
# paired.sh A B [PAIRS] [RUNS] [THREADS] [-- bench args...]
#
# Is program B faster than program A? Two `netc build` programs of the same
# model (say, before and after a change) are timed by turns, A then B, PAIRS
# times (default 20), each `bench --runs RUNS --threads THREADS` (defaults
# 300 and 2), and the median of the per-pair ratios B/A is printed. The two
# runs of a pair are seconds apart, so they see the same machine: on the
# 2-core VM these benchmarks run on, two-thread batch-1 times switch
# between a fast and a slow phase every few seconds to minutes, which makes
# unpaired medians of separate runs useless for changes of a few percent.
# Pairs where both runs were fast (within 1.3x of the best run) and where
# both were slow (1.5x or more) are summarized apart.
#
#   benchmarks/paired.sh /tmp/old /tmp/new 30 300 2 -- --weights w.safetensors
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
a=$1 b=$2
shift 2
pairs=20 runs=300 threads=2
[ $# -gt 0 ] && [ "$1" != -- ] && { pairs=$1; shift; }
[ $# -gt 0 ] && [ "$1" != -- ] && { runs=$1; shift; }
[ $# -gt 0 ] && [ "$1" != -- ] && { threads=$1; shift; }
[ $# -gt 0 ] && [ "$1" = -- ] && shift
for p in "$a" "$b"; do
  [ -x "$p" ] || { echo "paired.sh: '$p' is not an executable" >&2; exit 2; }
done
median_ms() {
  "$1" bench --threads "$threads" --runs "$runs" --warmup 20 "${@:2}" | awk '/^latency:/ {print $3}'
}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for _ in $(seq 1 "$pairs"); do
  echo "$(median_ms "$a" "$@") $(median_ms "$b" "$@")" >>"$out"
done
python3 - "$out" "$a" "$b" <<'PY'
import statistics, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
if not rows:
    sys.exit("paired.sh: no timings (did bench fail?)")
ratios = [b / a for a, b in rows]
best = min(min(a, b) for a, b in rows)
print("A = %s, B = %s: %d pairs" % (sys.argv[2], sys.argv[3], len(rows)))
print("median A %.4f ms, median B %.4f ms, median of B/A %.3f"
      % (statistics.median(a for a, _ in rows), statistics.median(b for _, b in rows),
         statistics.median(ratios)))
for name, keep in (("both fast", lambda a, b: a < 1.3 * best and b < 1.3 * best),
                   ("both slow", lambda a, b: a >= 1.5 * best and b >= 1.5 * best)):
    sel = [b / a for a, b in rows if keep(a, b)]
    if sel:
        print("%s: %d pairs, median of B/A %.3f" % (name, len(sel), statistics.median(sel)))
PY

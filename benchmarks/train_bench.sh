#!/usr/bin/env bash
# train_bench.sh: training throughput (images/s) of netc against PyTorch CPU
# on the same machine in the same run: the same model, batch and optimizer
# (each train section's), random data, interleaved rounds, medians and the
# ratio netc / PyTorch. docs/training.md has the figures.
#
#   benchmarks/train_bench.sh                    # 3 rounds, threads 1 and 2
#   ROUNDS=5 THREADS="1 2" benchmarks/train_bench.sh
#   MODELS="mnist_mlp mnist_cnn" benchmarks/train_bench.sh
#   QUICK=1 benchmarks/train_bench.sh            # a few steps, to try it out
#   STEPS_CNN=50 STEPS_CIFAR=6 benchmarks/train_bench.sh   # shorter runs
#
# Per model (images = steps x batch):
#   mnist_mlp      one epoch: 1,875 steps of 32 (60,000 images)
#   mnist_cnn      200 steps of 32 (STEPS_CNN)
#   cifar_bn_cnn   20 steps of 128 (STEPS_CIFAR; Adam)
#   resnet_mini    20 steps of 128 (STEPS_CIFAR; Adam; netc also augments and standardizes,
#                  as its train section says, PyTorch does not)
# netc: `PROG train --data RANDOM --limit IMAGES --epochs 1 --validation 0
# --threads T`, timed by the epoch's `seconds` in its --log CSV (the
# training loop only: no data loading, no evaluation). PyTorch:
# `train_peers.py bench` (forward, loss, backward, optimizer step on
# tensors already in memory), after 3 warm-up steps. Each engine at each
# thread count once a round; the figure is the median over rounds, and the
# ratio is of each engine's best thread count.
set -euo pipefail
cd "$(dirname "$0")/.."
py=/usr/bin/python3
build=${BUILD:-build}
rounds=${ROUNDS:-3}
threads=${THREADS:-1 2}
models=${MODELS:-mnist_mlp mnist_cnn cifar_bn_cnn resnet_mini}
work=${WORK:-${TMPDIR:-/tmp}/netc-train-bench}
mkdir -p "$work"

$py -c 'import torch' 2>/dev/null || { echo "train_bench.sh: /usr/bin/python3 lacks torch (apt-get install python3-torch)" >&2; exit 1; }
if [ ! -x "$build/compiler/netc" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j"$(nproc)" --target netc netcrt netcapp >/dev/null
fi
netc=$build/compiler/netc

steps_of() {
  case $1 in
    mnist_mlp) echo 1875 ;;
    mnist_cnn) echo "${STEPS_CNN:-200}" ;;
    *) echo "${STEPS_CIFAR:-20}" ;;
  esac
}
batch_of() {
  case $1 in
    mnist_*) echo 32 ;;
    *) echo 128 ;;
  esac
}

echo "# $(date -u +%FT%TZ) $(uname -n), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for m in $models; do
  steps=$(steps_of "$m")
  [ -n "${QUICK:-}" ] && steps=4
  batch=$(batch_of "$m")
  images=$((steps * batch))
  "$netc" build "dsl-examples/$m.net" -o "$work/$m" >/dev/null
  $py benchmarks/train_peers.py data --model "$m" --images "$images" --out "$work/data-$m"
done

res=$work/results.txt
: >"$res"
for r in $(seq 1 "$rounds"); do
  for m in $models; do
    steps=$(steps_of "$m")
    [ -n "${QUICK:-}" ] && steps=4
    batch=$(batch_of "$m")
    images=$((steps * batch))
    data=$work/data-$m
    case $m in mnist_*) ;; *) data=$data/data_batch_1.bin ;; esac
    for t in $threads; do
      rm -f "$work/log.csv"
      "$work/$m" train --data "$data" --limit "$images" --epochs 1 --batch "$batch" --validation 0 \
        --threads "$t" --seed "$r" --quiet --out "$work/$m.safetensors" --log "$work/log.csv" >/dev/null 2>&1
      s=$(awk -F, 'NR == 2 { print $7 }' "$work/log.csv")
      ips=$(awk -v n="$images" -v s="$s" 'BEGIN { printf "%.1f", n / s }')
      echo "$r $m netc $t $ips" | tee -a "$res"
      ips=$(OMP_NUM_THREADS=$t $py benchmarks/train_peers.py bench --model "$m" --steps "$steps" \
        --batch "$batch" --threads "$t" --seed "$r" --json |
        $py -c 'import json, sys; print("%.1f" % json.load(sys.stdin)["images_per_s"])')
      echo "$r $m pytorch $t $ips" | tee -a "$res"
    done
  done
done
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

# Medians per (model, engine, threads); the ratio of each engine's best.
$py - "$res" $models <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
med = {}
for _, m, e, t, v in rows:
    med.setdefault((m, e, int(t)), []).append(float(v))
med = {k: statistics.median(v) for k, v in med.items()}
print("\n%-14s %-8s %s" % ("model", "engine", "  ".join("t=%d img/s" % t for t in sorted({k[2] for k in med}))) + "   best")
for m in sys.argv[2:]:
    best = {}
    for e in ("netc", "pytorch"):
        vals = {t: v for (mm, ee, t), v in med.items() if mm == m and ee == e}
        best[e] = max(vals.values())
        print("%-14s %-8s %s   %.1f" % (m, e, "  ".join("%11.1f" % vals[t] for t in sorted(vals)), best[e]))
    print("%-14s netc/pytorch %.2fx" % (m, best["netc"] / best["pytorch"]))
PY

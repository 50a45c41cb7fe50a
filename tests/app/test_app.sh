#!/bin/sh
# Drives the test executables (app_dense, app_conv, app_linear: netcapp
# linked with a hand-written NetcModel) as a user would, one group of
# checks per CASE:
#   init     determinism, pinned values, Keras init, metadata
#   predict  PNG and .npy input against app_tool's own forward pass
#   eval     IDX sets (plain and .gz, directory and file) with known answers
#   cifar    a CIFAR-10 batch, resized to the conv model's 8x8 input
#   bench    text and --json
#   errors   bad weights and inputs: exit 1 and a message naming the problem
#   usage    bad flags: exit 2; --help of every command: exit 0
#   fashion  eval on the real Fashion-MNIST (exit 77 when not installed)
# Usage: test_app.sh CASE BIN_DIR
set -u
CASE=$1
BIN=$2
TOOL=$BIN/app_tool
T=$(mktemp -d "${TMPDIR:-/tmp}/netc_app.XXXXXX")
trap 'rm -rf "$T"' EXIT

fail() {
  echo "FAIL [$CASE]: $*" >&2
  for f in "$T/out" "$T/err"; do
    [ -f "$f" ] && { echo "--- $f" >&2; head -n 20 "$f" >&2; }
  done
  exit 1
}

# run CODE CMD...: runs CMD, stdout in $T/out, stderr in $T/err, and checks
# its exit status.
run() {
  want=$1
  shift
  "$@" >"$T/out" 2>"$T/err"
  got=$?
  [ "$got" = "$want" ] || fail "exit $got (expected $want): $*"
}

# has FILE TEXT: FILE contains TEXT (fixed string).
has() {
  grep -qF -- "$2" "$1" || fail "$1 lacks '$2'"
}

# err_case CODE TEXT CMD...: exits CODE with TEXT in stderr, nothing on
# stdout, and no sanitizer report.
err_case() {
  code=$1
  text=$2
  shift 2
  run "$code" "$@"
  has "$T/err" "$text"
  if grep -q "Sanitizer\|runtime error" "$T/err"; then fail "sanitizer report: $*"; fi
  [ ! -s "$T/out" ] || fail "stdout not empty on error: $*"
}

init_weights() {
  for m in dense conv linear; do
    run 0 "$BIN/app_$m" init --seed 7 -o "$T/$m.safetensors"
  done
}

case $CASE in
init)
  run 0 "$BIN/app_dense" init --seed 42 -o "$T/a.safetensors"
  has "$T/out" "2 tensors, 7850 parameters (seed 42)"
  run 0 "$BIN/app_dense" init --seed=42 --output "$T/b.safetensors"
  cmp -s "$T/a.safetensors" "$T/b.safetensors" || fail "init is not deterministic"
  run 0 "$BIN/app_dense" init --seed 43 -o "$T/c.safetensors"
  cmp -s "$T/a.safetensors" "$T/c.safetensors" && fail "seeds 42 and 43 give the same weights"
  # Pinned: splitmix64 seeded with 42 ^ FNV-1a-64(name), U(-l, l) from the
  # top 53 bits, rounded to float. Any change here changes every user's
  # `init` output; change the pins only on purpose.
  run 0 "$TOOL" first "$T/a.safetensors" dense.kernel
  has "$T/out" "0.0851662233 -0.0566263422 0.0184682235"
  run 0 "$BIN/app_conv" init --seed 42 -o "$T/conv.safetensors"
  run 0 "$TOOL" first "$T/conv.safetensors" conv.kernel
  has "$T/out" "0.0528487004 -0.268033236 -0.187317282"
  run 0 "$BIN/app_linear" init --seed 42 -o "$T/linear.safetensors"
  has "$T/out" "4 tensors, 15 parameters"
  for m in dense conv linear; do
    [ -f "$T/$m.safetensors" ] || run 0 "$BIN/app_$m" init --seed 42 -o "$T/$m.safetensors"
    run 0 "$TOOL" checkinit $m "$T/$m.safetensors" 42
  done
  run 0 "$TOOL" checkinit dense "$T/a.safetensors" 42
  # The weights init writes are the weights predict accepts.
  run 0 "$TOOL" npy "$T/x.npy" 1 784
  run 0 "$BIN/app_dense" predict --weights "$T/a.safetensors" "$T/x.npy"
  # No temporary file is left next to the output.
  stray=$(ls -a "$T" | grep -v -x -e . -e .. -e '[a-z]*\.safetensors' -e out -e err -e x.npy)
  [ -z "$stray" ] || fail "stray files: $stray"
  ;;

predict)
  init_weights
  # PNG at the model's size (28x28 gray for the 784 input).
  run 0 "$TOOL" png "$T/g.png" 28 28 1 3
  run 0 "$BIN/app_dense" predict --weights "$T/dense.safetensors" "$T/g.png" --output "$T/g.npy"
  has "$T/out" "g.png[0]: top 5 of 10 classes"
  [ "$(grep -c '^  class [0-9]: 0\.[0-9]\{6\}$' "$T/out")" = 5 ] || fail "not 5 class lines"
  run 0 "$TOOL" ref dense "$T/dense.safetensors" "$T/g.png" "$T/g_ref.npy"
  run 0 "$TOOL" cmpnpy "$T/g.npy" "$T/g_ref.npy" 1e-5
  # An RGB PNG of another size: converted to gray and resized.
  run 0 "$TOOL" png "$T/rgb.png" 45 60 3 4
  run 0 "$BIN/app_dense" predict --weights "$T/dense.safetensors" "$T/rgb.png" --top 2 --output "$T/rgb.npy"
  [ "$(grep -c '^  class' "$T/out")" = 2 ] || fail "--top 2 printed other than 2 classes"
  run 0 "$TOOL" ref dense "$T/dense.safetensors" "$T/rgb.png" "$T/rgb_ref.npy"
  run 0 "$TOOL" cmpnpy "$T/rgb.npy" "$T/rgb_ref.npy" 1e-5
  # Conv model (8x8x3, symmetric normalization) from a gray PNG.
  run 0 "$TOOL" png "$T/c.png" 16 16 1 5
  run 0 "$BIN/app_conv" predict --weights "$T/conv.safetensors" "$T/c.png" --top 10 -o "$T/c.npy"
  has "$T/out" "top 3 of 3 classes"
  run 0 "$TOOL" ref conv "$T/conv.safetensors" "$T/c.png" "$T/c_ref.npy"
  run 0 "$TOOL" cmpnpy "$T/c.npy" "$T/c_ref.npy" 1e-5
  # .npy: one input, flat or shaped; a batch, predicted row by row, in
  # chunks of --batch.
  run 0 "$TOOL" npy "$T/one.npy" 9 8 8 3
  run 0 "$BIN/app_conv" predict --weights "$T/conv.safetensors" "$T/one.npy"
  has "$T/out" "one.npy[0]: top 3 of 3 classes"
  run 0 "$TOOL" npy "$T/b.npy" 11 7 784
  run 0 "$BIN/app_dense" predict --weights "$T/dense.safetensors" "$T/b.npy" --batch 3 --output "$T/b_out.npy" --threads 2
  [ "$(grep -c 'b.npy\[[0-6]\]: top 5 of 10' "$T/out")" = 7 ] || fail "not 7 rows"
  run 0 "$TOOL" ref dense "$T/dense.safetensors" "$T/b.npy" "$T/b_ref.npy"
  run 0 "$TOOL" cmpnpy "$T/b_out.npy" "$T/b_ref.npy" 1e-5
  run 0 "$TOOL" npy "$T/b4.npy" 12 5 8 8 3
  run 0 "$BIN/app_conv" predict --weights "$T/conv.safetensors" "$T/b4.npy" -o "$T/b4_out.npy"
  run 0 "$TOOL" ref conv "$T/conv.safetensors" "$T/b4.npy" "$T/b4_ref.npy"
  run 0 "$TOOL" cmpnpy "$T/b4_out.npy" "$T/b4_ref.npy" 1e-5
  # Not a probability vector: the values are printed.
  run 0 "$TOOL" npy "$T/l.npy" 13 2 4
  run 0 "$BIN/app_linear" predict --weights "$T/linear.safetensors" "$T/l.npy" -o "$T/l_out.npy"
  has "$T/out" "l.npy[1]: 3 output values"
  has "$T/out" "  value 2: "
  run 0 "$TOOL" ref linear "$T/linear.safetensors" "$T/l.npy" "$T/l_ref.npy"
  run 0 "$TOOL" cmpnpy "$T/l_out.npy" "$T/l_ref.npy" 1e-6
  # Standardization from the weights file's statistics (2x2 gray PNG).
  run 0 "$TOOL" png "$T/s.png" 2 2 1 14
  run 0 "$BIN/app_linear" predict --weights "$T/linear.safetensors" "$T/s.png" -o "$T/s_out.npy"
  run 0 "$TOOL" ref linear "$T/linear.safetensors" "$T/s.png" "$T/s_ref.npy"
  run 0 "$TOOL" cmpnpy "$T/s_out.npy" "$T/s_ref.npy" 1e-4
  ;;

eval)
  init_weights
  mkdir "$T/plain" "$T/gz"
  run 0 "$TOOL" mkidx dense "$T/dense.safetensors" "$T/plain" 101 21
  mv "$T/out" "$T/expect_plain"
  run 0 "$TOOL" mkidx dense "$T/dense.safetensors" "$T/gz" 64 22 gz
  mv "$T/out" "$T/expect_gz"
  has "$T/expect_plain" "accuracy: 0.5050"
  # A directory; every batch size gives the same answer.
  for b in 1 7 32 200; do
    run 0 "$BIN/app_dense" eval --weights "$T/dense.safetensors" --data "$T/plain" --batch $b
    tail -n 3 "$T/out" >"$T/got"
    cmp -s "$T/got" "$T/expect_plain" || fail "eval --batch $b: $(cat "$T/got") vs $(cat "$T/expect_plain")"
  done
  tail -n 1 "$T/out" | grep -qx 'accuracy: [01]\.[0-9]\{4\}' || fail "last line is not 'accuracy: D.DDDD'"
  # .gz files, and the images file named directly (labels found by name).
  run 0 "$BIN/app_dense" eval --weights "$T/dense.safetensors" --data "$T/gz"
  tail -n 3 "$T/out" >"$T/got"
  cmp -s "$T/got" "$T/expect_gz" || fail "eval of .gz: $(cat "$T/got")"
  run 0 "$BIN/app_dense" eval --weights "$T/dense.safetensors" --data "$T/gz/t10k-images-idx3-ubyte.gz"
  tail -n 3 "$T/out" >"$T/got"
  cmp -s "$T/got" "$T/expect_gz" || fail "eval of the images file: $(cat "$T/got")"
  # --labels, and --limit.
  cp "$T/plain/t10k-labels-idx1-ubyte" "$T/lab"
  run 0 "$BIN/app_dense" eval --weights "$T/dense.safetensors" --data "$T/plain/t10k-images-idx3-ubyte" \
    --labels "$T/lab" --limit 10
  has "$T/out" "count: 10"
  has "$T/out" "accuracy: 0.5000"
  ;;

cifar)
  init_weights
  run 0 "$TOOL" mkcifar conv "$T/conv.safetensors" "$T/test_batch.bin" 40 31
  mv "$T/out" "$T/expect"
  run 0 "$BIN/app_conv" eval --weights "$T/conv.safetensors" --data "$T/test_batch.bin" --batch 16
  has "$T/out" "CIFAR-10, 40 images 32x32x3, resized"
  tail -n 3 "$T/out" >"$T/got"
  cmp -s "$T/got" "$T/expect" || fail "CIFAR eval: $(cat "$T/got") vs $(cat "$T/expect")"
  run 0 "$BIN/app_conv" eval --weights "$T/conv.safetensors" --data "$T"
  tail -n 3 "$T/out" >"$T/got"
  cmp -s "$T/got" "$T/expect" || fail "CIFAR eval of a directory: $(cat "$T/got")"
  ;;

bench)
  run 0 "$BIN/app_conv" bench --runs 3 --json --batch 4 --threads 2
  mv "$T/out" "$T/bench.json"
  run 0 "$TOOL" jsoncheck "$T/bench.json"
  [ "$(wc -l <"$T/bench.json")" = 1 ] || fail "--json printed more than one line"
  run 0 "$BIN/app_dense" bench --runs 3 --warmup 0
  for k in "model: test_dense, batch 1" "kernels: " "latency: median" "images/s" "GFLOP/s" "sgemm peak:" "fraction of peak:"; do
    has "$T/out" "$k"
  done
  init_weights
  run 0 "$BIN/app_dense" bench --runs 3 --weights "$T/dense.safetensors" --json
  mv "$T/out" "$T/bench.json"
  run 0 "$TOOL" jsoncheck "$T/bench.json"
  has "$T/bench.json" "\"weights\":\"$T/dense.safetensors\""
  has "$T/bench.json" "\"kernel_isa\":\""
  has "$T/bench.json" "\"blas_coretype\":\""
  # OpenBLAS' kernels: a program left to itself runs ones as wide as the
  # CPU's (app_blas_restart starts it again when OpenBLAS picked narrower
  # ones at load), so bench has nothing to warn about; one told to run the
  # SSE3 kernels on a CPU with AVX2 and FMA keeps them, and warns.
  run 0 env -u OPENBLAS_CORETYPE "$BIN/app_dense" bench --runs 1 --warmup 0 --json
  [ "$(wc -l <"$T/out")" = 1 ] || fail "bench printed more than one line after a restart"
  if grep -q "OpenBLAS runs" "$T/err"; then fail "narrow OpenBLAS kernels were left running"; fi
  run 0 env OPENBLAS_CORETYPE=Prescott "$BIN/app_dense" bench --runs 1 --warmup 0 --json
  has "$T/out" '"blas_coretype":"Prescott"'
  if grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo; then
    has "$T/err" "OpenBLAS runs its Prescott kernels, narrower than this CPU's"
  fi
  ;;

errors)
  init_weights
  W=$T/dense.safetensors
  run 0 "$TOOL" npy "$T/x.npy" 1 784
  run 0 "$TOOL" stedit "$W" "$T/missing.st" drop dense.bias
  err_case 1 "tensor 'dense.bias' is missing" "$BIN/app_dense" predict --weights "$T/missing.st" "$T/x.npy"
  run 0 "$TOOL" stedit "$W" "$T/shape.st" reshape dense.kernel
  err_case 1 "tensor 'dense.kernel': shape [7840] but the model expects [784,10]" \
    "$BIN/app_dense" predict --weights "$T/shape.st" "$T/x.npy"
  run 0 "$TOOL" stedit "$W" "$T/extra.st" add dense_2.kernel
  err_case 1 "1 tensor not used by the model: 'dense_2.kernel'" \
    "$BIN/app_dense" eval --weights "$T/extra.st" --data "$T"
  run 0 "$TOOL" stedit "$W" "$T/f64.st" f64 dense.kernel
  err_case 1 "tensor 'dense.kernel': dtype F64 but the model expects F32" \
    "$BIN/app_dense" bench --weights "$T/f64.st"
  # Every problem is reported, not only the first.
  run 0 "$TOOL" stedit "$T/missing.st" "$T/two.st" reshape dense.kernel
  err_case 1 "'dense.bias' is missing" "$BIN/app_dense" predict --weights "$T/two.st" "$T/x.npy"
  has "$T/err" "shape [7840]"
  # Weights of another model.
  err_case 1 "tensor 'dense.kernel': shape [4,3] but the model expects [784,10]" \
    "$BIN/app_dense" predict --weights "$T/conv.safetensors" "$T/x.npy"
  has "$T/err" "6 tensors not used by the model: 'bn.beta', 'bn.gamma', 'bn.moving_mean', 'bn.moving_variance', 'conv.bias', 'conv.kernel'"
  # Truncated and empty weights files.
  head -c 3000 "$W" >"$T/trunc.st"
  err_case 1 "trunc.st" "$BIN/app_dense" predict --weights "$T/trunc.st" "$T/x.npy"
  : >"$T/empty.st"
  err_case 1 "empty.st" "$BIN/app_dense" predict --weights "$T/empty.st" "$T/x.npy"
  err_case 1 "nowhere.st" "$BIN/app_dense" predict --weights "$T/nowhere.st" "$T/x.npy"
  # Inputs: wrong size, truncated, not an image or array, missing.
  run 0 "$TOOL" npy "$T/small.npy" 1 3 100
  err_case 1 "small.npy: shape [3,100] does not fit the model's input 784" \
    "$BIN/app_dense" predict --weights "$W" "$T/small.npy"
  run 0 "$TOOL" png "$T/p.png" 28 28 1 3
  head -c 200 "$T/p.png" >"$T/trunc.png"
  err_case 1 "trunc.png" "$BIN/app_dense" predict --weights "$W" "$T/trunc.png"
  head -c 100 "$T/x.npy" >"$T/trunc.npy"
  err_case 1 "trunc.npy" "$BIN/app_dense" predict --weights "$W" "$T/trunc.npy"
  echo hello >"$T/text.txt"
  err_case 1 "text.txt: neither a PNG image nor a NumPy .npy array" "$BIN/app_dense" predict --weights "$W" "$T/text.txt"
  err_case 1 "absent.png: cannot open" "$BIN/app_dense" predict --weights "$W" "$T/absent.png"
  # Data sets: nothing there, truncated, labels beyond the outputs.
  mkdir "$T/none" "$T/d"
  err_case 1 "no test set here" "$BIN/app_dense" eval --weights "$W" --data "$T/none"
  run 0 "$TOOL" mkidx dense "$W" "$T/d" 20 5
  head -c 5000 "$T/d/t10k-images-idx3-ubyte" >"$T/d/img"
  cp "$T/d/t10k-labels-idx1-ubyte" "$T/d/lab"
  err_case 1 "img" "$BIN/app_dense" eval --weights "$W" --data "$T/d/img" --labels "$T/d/lab"
  # Fashion-MNIST-like labels 0..9 for models of 3 outputs (images resized
  # to the linear model's 2x2 and the conv model's 8x8x3 first).
  run 0 "$TOOL" mkidx dense "$W" "$T/d" 20 5
  err_case 1 "t10k-labels-idx1-ubyte: record 0: label 3, but the model has 3 outputs" \
    "$BIN/app_linear" eval --weights "$T/linear.safetensors" --data "$T/d"
  err_case 1 "but the model has 3 outputs" "$BIN/app_conv" eval --weights "$T/conv.safetensors" --data "$T/d"
  ;;

usage)
  W=$T/w.st
  run 0 "$BIN/app_dense" init -o "$W"
  run 0 "$TOOL" npy "$T/x.npy" 1 784
  err_case 2 "unknown option '--frobnicate'" "$BIN/app_dense" predict --weights "$W" "$T/x.npy" --frobnicate
  has "$T/err" "Try 'app_dense predict --help'"
  err_case 2 "unknown option '--top'" "$BIN/app_dense" eval --weights "$W" --top 3
  for b in 0 -1 abc 1e3 99999999999 ""; do
    err_case 2 "--batch: '$b' is not an integer from 1 to 65536" "$BIN/app_dense" bench --batch "$b"
  done
  err_case 2 "--batch needs a value" "$BIN/app_dense" bench --batch
  err_case 2 "--threads: '0'" "$BIN/app_dense" bench --threads 0
  err_case 2 "--runs: 'x'" "$BIN/app_dense" bench --runs x
  err_case 2 "--seed: '-1' is not an unsigned 64-bit integer" "$BIN/app_dense" init --seed -1 -o "$W"
  err_case 2 "--json takes no value" "$BIN/app_dense" bench --json=yes
  err_case 2 "--layers: 'test_dense' has no list of layers" "$BIN/app_dense" bench --layers
  err_case 2 "--weights is required" "$BIN/app_dense" predict "$T/x.npy"
  err_case 2 "an INPUT (.png or .npy) is required" "$BIN/app_dense" predict --weights "$W"
  err_case 2 "one INPUT only" "$BIN/app_dense" predict --weights "$W" "$T/x.npy" "$T/x.npy"
  err_case 2 "-o W.safetensors is required" "$BIN/app_dense" init
  err_case 2 "unexpected argument 'extra'" "$BIN/app_dense" summary extra
  err_case 2 "unknown command 'frobnicate'" "$BIN/app_dense" frobnicate
  err_case 2 "no data set" "$BIN/app_conv" eval --weights "$W"
  run 2 "$BIN/app_dense"
  has "$T/err" "usage: app_dense"
  for c in predict eval init bench summary; do
    run 0 "$BIN/app_dense" $c --help
    has "$T/out" "usage: app_dense $c"
  done
  run 0 "$BIN/app_dense" --help
  has "$T/out" "Runs the network 'test_dense'"
  run 0 "$BIN/app_dense" --version
  has "$T/out" "netc 0.1.0"
  run 0 "$BIN/app_dense" summary
  has "$T/out" "Total params: 7,850"
  ;;

fashion)
  D=${NETC_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
  if [ ! -r "$D/t10k-images-idx3-ubyte.gz" ] || [ ! -r "$D/t10k-labels-idx1-ubyte.gz" ]; then
    echo "Fashion-MNIST not in $D (apt-get install dataset-fashion-mnist); skipping"
    exit 77
  fi
  run 0 "$BIN/app_dense" init --seed 1 -o "$T/w.st"
  set -- --weights "$T/w.st" --limit 2000 --batch 100
  [ "$D" = /usr/share/datasets/fashion-mnist ] || set -- "$@" --data "$D"
  # The default data set of a 784-input model trained on Fashion-MNIST.
  run 0 "$BIN/app_dense" eval "$@"
  has "$T/out" "IDX, 10000 images 28x28x1"
  has "$T/out" "count: 2000"
  tail -n 1 "$T/out" | grep -qx 'accuracy: 0\.[0-9]\{4\}' || fail "last line: $(tail -n 1 "$T/out")"
  # Random weights: near chance (10 balanced classes), loss near ln 10.
  acc=$(tail -n 1 "$T/out" | cut -d' ' -f2)
  loss=$(grep '^loss: ' "$T/out" | cut -d' ' -f2)
  awk -v a="$acc" -v l="$loss" 'BEGIN { exit !(a > 0.02 && a < 0.3 && l > 1.5 && l < 4) }' ||
    fail "accuracy $acc / loss $loss far from chance"
  ;;

*)
  fail "unknown case"
  ;;
esac
exit 0

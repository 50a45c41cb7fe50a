#!/bin/sh
# Drives `train` of the test executables app_softmax (784 -> softmax, adam,
# checkpoint every epoch) and app_bnnet (8x8x1 -> moving-mean centring ->
# dropout -> softmax; sgd, augmentation, standardize, validation, best
# checkpoint) as a user would, on data app_tool writes. One group per CASE:
#   idx         IDX directory (plain, .gz), images file; accuracy; eval agrees
#   cifar       CIFAR-10 batches, resized to the 784 input
#   folder      PNG folder (train/ and test/), standardize statistics saved
#   progress    the per-epoch lines, on a pipe and on a terminal; --quiet
#   log         --log CSV and --plot SVG, with and without validation
#   resume      2 epochs == 1 epoch + a resumed one, bit for bit (--threads 1)
#   optimizers  sgd, adam, rmsprop, adagrad; step and cosine schedules; mse
#   nan         divergence stops, names epoch and step, keeps the checkpoint
#   atomic      unwritable targets: clear errors, no stray or torn files
#   errors      checkpoints of another model or damaged; bad data
#   usage       bad flags (exit 2), --help
#   fashion     one epoch on the real Fashion-MNIST (exit 77 when absent)
# Usage: test_train.sh CASE BIN_DIR
set -u
CASE=$1
BIN=$2
TOOL=$BIN/app_tool
SM=$BIN/app_softmax
BN=$BIN/app_bnnet
T=$(mktemp -d "${TMPDIR:-/tmp}/netc_train.XXXXXX")
trap 'rm -rf "$T"' EXIT

fail() {
  echo "FAIL [$CASE]: $*" >&2
  for f in "$T/out" "$T/err"; do
    [ -f "$f" ] && { echo "--- $f" >&2; head -n 30 "$f" >&2; }
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
  if grep -q "Sanitizer\|runtime error" "$T/err"; then fail "sanitizer report: $*"; fi
}

# has FILE TEXT: FILE contains TEXT (fixed string).
has() {
  grep -qF -- "$2" "$1" || fail "$1 lacks '$2'"
}

# err_case CODE TEXT CMD...: exits CODE with TEXT in stderr.
err_case() {
  code=$1
  text=$2
  shift 2
  run "$code" "$@"
  has "$T/err" "$text"
}

# at_least FILE KEY MIN: the value after "KEY: " in FILE is >= MIN.
at_least() {
  v=$(grep "^$2: " "$1" | tail -n 1 | sed "s/^$2: //")
  [ -n "$v" ] || fail "$1 has no '$2: ' line"
  awk -v v="$v" -v m="$3" 'BEGIN { exit !(v + 0 >= m + 0) }' || fail "$2 $v is below $3"
}

# svg_ok FILE: well-formed (xmllint when there is one).
svg_ok() {
  if command -v xmllint >/dev/null 2>&1; then
    xmllint --noout "$1" || fail "$1 is not well-formed XML"
  fi
  run 0 "$TOOL" svgcheck "$1"
}

# no_stray DIR: no temporary file left behind by an atomic writer.
no_stray() {
  stray=$(ls -a "$1" | grep -e '\.tmp-' || true)
  [ -z "$stray" ] || fail "stray temporary files in $1: $stray"
}

idx_data() {
  mkdir -p "$T/idx"
  run 0 "$TOOL" mktrain idx "$T/idx" 600 200 10 28 28 1 3
}

png_data() {
  mkdir -p "$T/png"
  run 0 "$TOOL" mktrain png "$T/png" 240 60 3 12 12 3 9
}

case $CASE in
idx)
  idx_data
  run 0 "$SM" train --data "$T/idx" --epochs 2 --out "$T/w.st" --threads 1
  has "$T/out" "data: $T/idx (IDX, 600 images 28x28x1; test split"
  has "$T/out" "Train on 600 samples"
  tail -n 1 "$T/out" | grep -qx 'test accuracy: [01]\.[0-9]\{4\}' || fail "last line is not 'test accuracy: D.DDDD'"
  at_least "$T/out" "test accuracy" 0.95
  # eval of the trained weights on the same test split agrees.
  acc=$(tail -n 1 "$T/out" | cut -d' ' -f3)
  run 0 "$SM" eval --weights "$T/w.st" --data "$T/idx"
  has "$T/out" "accuracy: $acc"
  # Checkpoints beside the output, one per epoch (every 1), and the output's
  # metadata.
  [ -f "$T/test_softmax.epoch1.ckpt.safetensors" ] && [ -f "$T/test_softmax.epoch2.ckpt.safetensors" ] ||
    fail "no checkpoint per epoch beside --out"
  run 0 "$TOOL" stinfo "$T/w.st"
  for k in "meta format=netc-weights" "meta source_hash=0123456789abcdef" "meta epochs=2" "meta optimizer=adam" \
    "tensor dense.kernel F32 [784,10]" "tensor dense.bias F32 [10]"; do
    has "$T/out" "$k"
  done
  grep -q "opt\.\|train\." "$T/out" && fail "the weights file holds training state"
  # Validation on the test split (the book's validation_data): the whole
  # training set trains, and the last val_acc is the test accuracy.
  run 0 "$SM" train --data "$T/idx" --epochs 1 --out "$T/wv.st" --threads 1 --validate-on-test
  has "$T/out" "Train on 600 samples, validate on"
  val=$(grep -o 'val_acc: [0-9.]*' "$T/out" | tail -n 1 | cut -d' ' -f2)
  has "$T/out" "test accuracy: $val"
  # .gz files; the images file named directly (labels by name, no test split).
  mkdir "$T/gz"
  run 0 "$TOOL" mktrain idx "$T/gz" 300 100 10 28 28 1 4 gz
  run 0 "$SM" train --data "$T/gz" --epochs 1 --out "$T/gz.st" --batch 50
  at_least "$T/out" "test accuracy" 0.9
  run 0 "$SM" train --data "$T/idx/train-images-idx3-ubyte" --epochs 1 --out "$T/f.st" --limit 100 --batch 7
  has "$T/out" "Train on 100 samples"
  grep -q "test accuracy" "$T/out" && fail "a test accuracy without a test split"
  # Default output name: <model>.safetensors in the current directory.
  mkdir "$T/cwd"
  (cd "$T/cwd" && "$SM" train --data "$T/idx" --epochs 1 --limit 64 -q >/dev/null 2>&1) || fail "train in cwd"
  [ -f "$T/cwd/test_softmax.safetensors" ] || fail "no test_softmax.safetensors in the current directory"
  ;;

cifar)
  mkdir "$T/c"
  run 0 "$TOOL" mktrain cifar "$T/c" 500 100 10 32 32 3 5
  run 0 "$SM" train --data "$T/c" --epochs 2 --out "$T/w.st"
  has "$T/out" "(CIFAR-10, 500 images 32x32x3; test split $T/c/test_batch.bin, 100 images)"
  at_least "$T/out" "test accuracy" 0.9
  # One batch file: training only.
  run 0 "$SM" train --data "$T/c/data_batch_2.bin" --epochs 1 --out "$T/w1.st"
  has "$T/out" "Train on 100 samples"
  ;;

folder)
  png_data
  run 0 "$BN" train --data "$T/png" --out "$T/w.st" --threads 1
  has "$T/out" "data: $T/png/train (PNG folder, 240 images 8x8x1; test split $T/png/test, 60 images)"
  has "$T/out" "Train on 180 samples, validate on 60 samples"
  at_least "$T/out" "test accuracy" 0.8
  # standardize: the training set's per-pixel statistics travel in the file
  # (std positive, mean inside 0..255), and predict reads them back.
  run 0 "$TOOL" stinfo "$T/w.st"
  has "$T/out" "tensor normalize.mean F32 [8,8,1]"
  has "$T/out" "tensor normalize.std F32 [8,8,1]"
  has "$T/out" "tensor centre.moving_mean F32 [8,8,1]"
  run 0 "$TOOL" stval "$T/w.st" normalize.std
  tr ' ' '\n' <"$T/out" | awk '!($1 > 0) { bad = 1 } END { exit bad }' || fail "a std is not positive"
  run 0 "$TOOL" stval "$T/w.st" normalize.mean
  tr ' ' '\n' <"$T/out" | awk '$1 < 0 || $1 > 255 { bad = 1 } END { exit bad }' || fail "a mean is outside 0..255"
  # The moving mean was updated by train_step (it starts at zeros).
  run 0 "$TOOL" stval "$T/w.st" centre.moving_mean
  grep -q '^0 0 0 0 ' "$T/out" && fail "the moving statistic was never updated"
  run 0 "$BN" predict --weights "$T/w.st" "$T/png/test/k1/00001.png"
  has "$T/out" "top 3 of 3 classes"
  # The best checkpoint: written when val_acc improves.
  [ -f "$T/test_bnnet.best.ckpt.safetensors" ] || fail "no best checkpoint"
  # A folder without train/ and test/: the whole folder trains.
  run 0 "$BN" train --data "$T/png/test" --out "$T/w2.st" --epochs 1
  has "$T/out" "(PNG folder, 60 images 8x8x1)"
  ;;

progress)
  idx_data
  run 0 "$SM" train --data "$T/idx" --epochs 2 --out "$T/w.st" --validation 0.1
  has "$T/out" "Train on 540 samples, validate on 60 samples"
  [ "$(grep -c '^Epoch [12]/2$' "$T/out")" = 2 ] || fail "not two 'Epoch N/2' lines"
  [ "$(grep -c '^540/540 \[==============================\] - [0-9]*s - loss: [0-9]*\.[0-9]\{4\} - acc: [01]\.[0-9]\{4\} - val_loss: [0-9]*\.[0-9]\{4\} - val_acc: [01]\.[0-9]\{4\}$' "$T/out")" = 2 ] ||
    fail "not two Keras-like epoch lines"
  grep -q "$(printf '\r')" "$T/out" && fail "carriage returns on a pipe"
  has "$T/out" "learning rate: 0.01"
  [ "$(grep -c 'learning rate' "$T/out")" = 1 ] || fail "the learning rate printed though it did not change"
  # A step schedule prints each change (bnnet: 0.05, then 0.025 from epoch 3).
  png_data
  run 0 "$BN" train --data "$T/png" --out "$T/b.st"
  has "$T/out" "learning rate: 0.05"
  has "$T/out" "learning rate: 0.025"
  awk '/learning rate: 0.025/ { getline; exit !($0 == "Epoch 3/3") }' "$T/out" || fail "lr change not before epoch 3"
  # --quiet: only the result.
  run 0 "$SM" train --data "$T/idx" --epochs 2 --out "$T/w.st" --quiet
  grep -q "Epoch\|learning rate" "$T/out" && fail "--quiet printed epochs"
  has "$T/out" "saved $T/w.st (epoch 2)"
  # On a terminal the bar is redrawn in place.
  if script -qec true /dev/null >/dev/null 2>&1; then
    script -qec "'$SM' train --data '$T/idx' --epochs 1 --out '$T/w.st' --batch 8" "$T/tty" >/dev/null 2>&1 ||
      fail "train under script failed"
    grep -q "$(printf '\r')" "$T/tty" || fail "no carriage return on a terminal"
    has "$T/tty" "ETA: "
    has "$T/tty" "600/600 [==============================]"
  fi
  ;;

log)
  idx_data
  run 0 "$SM" train --data "$T/idx" --epochs 3 --out "$T/w.st" --log "$T/log.csv" --plot "$T/c.svg" --validation 0.2
  run 0 "$TOOL" csvcheck "$T/log.csv" 3
  grep -q '^2,0\.01,[0-9.]*,[0-9.]*,[0-9.]*,[0-9.]*,[0-9.]*$' "$T/log.csv" || fail "row 2 is not complete"
  svg_ok "$T/c.svg"
  for k in "<polyline" "stroke-dasharray" ">validation<" ">training<" ">epoch<" ">loss<" ">accuracy<" "test_softmax: training curves"; do
    has "$T/c.svg" "$k"
  done
  [ "$(grep -c '<polyline' "$T/c.svg")" = 4 ] || fail "not 4 curves"
  no_stray "$T"
  # Without validation: empty val columns, two curves.
  run 0 "$SM" train --data "$T/idx" --epochs 1 --out "$T/w.st" --log "$T/log2.csv" --plot "$T/c2.svg"
  run 0 "$TOOL" csvcheck "$T/log2.csv" 1
  grep -q '^1,0\.01,[0-9.]*,[0-9.]*,,,[0-9.]*$' "$T/log2.csv" || fail "val columns not empty"
  svg_ok "$T/c2.svg"
  [ "$(grep -c '<polyline' "$T/c2.svg")" = 2 ] || fail "not 2 curves"
  # A resumed run appends to the log and plots the whole history.
  mkdir "$T/ck"
  run 0 "$SM" train --data "$T/idx" --epochs 1 --out "$T/ck/w.st" --log "$T/ck/log.csv"
  run 0 "$SM" train --data "$T/idx" --epochs 3 --resume "$T/ck/test_softmax.epoch1.ckpt.safetensors" \
    --out "$T/ck/w.st" --log "$T/ck/log.csv" --plot "$T/ck/c.svg"
  run 0 "$TOOL" csvcheck "$T/ck/log.csv" 3
  svg_ok "$T/ck/c.svg"
  [ "$(grep -c '<circle' "$T/ck/c.svg")" = 6 ] || fail "the plot lacks the resumed history"
  ;;

resume)
  idx_data
  # softmax (adam): 2 epochs in one run, or 1 and a resumed 1.
  mkdir "$T/a" "$T/b"
  run 0 "$SM" train --data "$T/idx" --epochs 2 --out "$T/a/w.st" --threads 1 --validation 0.1
  run 0 "$SM" train --data "$T/idx" --epochs 1 --out "$T/b/w1.st" --threads 1 --validation 0.1
  run 0 "$TOOL" stval "$T/b/test_softmax.epoch1.ckpt.safetensors" train.epoch
  [ "$(cat "$T/out")" = 1 ] || fail "train.epoch is not 1"
  # 540 training images in batches of 32: 17 steps, the last of 28.
  run 0 "$TOOL" stval "$T/b/test_softmax.epoch1.ckpt.safetensors" train.step
  [ "$(cat "$T/out")" = 17 ] || fail "train.step is not 17"
  run 0 "$SM" train --data "$T/idx" --epochs 2 --out "$T/b/w.st" --threads 1 --validation 0.1 \
    --resume "$T/b/test_softmax.epoch1.ckpt.safetensors"
  has "$T/out" "resuming from $T/b/test_softmax.epoch1.ckpt.safetensors at epoch 1, step 17"
  grep -q "Epoch 1/2" "$T/out" && fail "a resumed run repeated epoch 1"
  cmp -s "$T/a/w.st" "$T/b/w.st" || fail "softmax: 2 epochs differ from 1 + resumed 1"
  cmp -s "$T/a/test_softmax.epoch2.ckpt.safetensors" "$T/b/test_softmax.epoch2.ckpt.safetensors" ||
    fail "softmax: the epoch-2 checkpoints differ"
  # Already done: nothing to train, the same weights.
  run 0 "$SM" train --data "$T/idx" --epochs 2 --out "$T/b/w2.st" --validation 0.1 --resume "$T/b/test_softmax.epoch2.ckpt.safetensors"
  has "$T/out" "nothing to train"
  cmp -s "$T/a/w.st" "$T/b/w2.st" || fail "softmax: a finished checkpoint gives other weights"
  # Another batch or data set cannot repeat the run: a warning says so.
  run 0 "$SM" train --data "$T/idx" --epochs 2 --out "$T/b/w3.st" --batch 20 --limit 300 --validation 0.1 \
    --resume "$T/b/test_softmax.epoch1.ckpt.safetensors" --checkpoint-dir "$T/b/other"
  has "$T/err" "warning: $T/b/test_softmax.epoch1.ckpt.safetensors: written with batch 32, this run uses 20"
  has "$T/err" "written training on 540 images, this run has 270"
  # bnnet: sgd with nesterov momentum and weight decay, a moving statistic,
  # dropout, augmentation, standardize, validation, a step schedule that
  # changes after the resumed epoch; 3 epochs == 1 + resumed 2.
  png_data
  mkdir "$T/c" "$T/d"
  export APP_TEST_CHECKPOINT=every:1
  run 0 "$BN" train --data "$T/png" --out "$T/c/w.st" --threads 1
  run 0 "$BN" train --data "$T/png" --out "$T/d/w1.st" --threads 1 --epochs 1
  run 0 "$TOOL" stinfo "$T/d/test_bnnet.epoch1.ckpt.safetensors"
  for k in "tensor opt.velocity.out.kernel F32 [64,3]" "tensor opt.velocity.out.bias F32 [3]" \
    "tensor centre.moving_mean F32 [8,8,1]" "tensor normalize.mean" "tensor train.seed U64 []" "meta optimizer=sgd"; do
    has "$T/out" "$k"
  done
  grep -q "opt.velocity.centre" "$T/out" && fail "optimizer state for a non-trainable tensor"
  run 0 "$BN" train --data "$T/png" --out "$T/d/w.st" --threads 1 --resume "$T/d/test_bnnet.epoch1.ckpt.safetensors"
  has "$T/out" "learning rate: 0.05"
  has "$T/out" "learning rate: 0.025"
  cmp -s "$T/c/w.st" "$T/d/w.st" || fail "bnnet: 3 epochs differ from 1 + resumed 2"
  cmp -s "$T/c/test_bnnet.epoch3.ckpt.safetensors" "$T/d/test_bnnet.epoch3.ckpt.safetensors" ||
    fail "bnnet: the epoch-3 checkpoints differ"
  # The seed matters: another one gives other weights.
  run 0 "$BN" train --data "$T/png" --out "$T/d/s.st" --threads 1 --seed 99 --epochs 1
  cmp -s "$T/d/s.st" "$T/d/w1.st" && fail "bnnet: --seed changed nothing"
  unset APP_TEST_CHECKPOINT
  ;;

optimizers)
  idx_data
  for o in sgd adam rmsprop adagrad; do
    mkdir "$T/$o"
    run 0 env APP_TEST_OPTIMIZER=$o "$SM" train --data "$T/idx" --epochs 2 --out "$T/$o/w.st" --lr 0.05
    has "$T/out" "optimizer: $o, batch 32, 2 epochs"
    at_least "$T/out" "test accuracy" 0.9
    run 0 "$TOOL" stinfo "$T/$o/test_softmax.epoch2.ckpt.safetensors"
    has "$T/out" "meta optimizer=$o"
  done
  run 0 "$TOOL" stinfo "$T/sgd/test_softmax.epoch1.ckpt.safetensors"
  has "$T/out" "tensor opt.velocity.dense.kernel F32 [784,10]"
  run 0 "$TOOL" stinfo "$T/adam/test_softmax.epoch1.ckpt.safetensors"
  has "$T/out" "tensor opt.m.dense.kernel F32 [784,10]"
  has "$T/out" "tensor opt.v.dense.bias F32 [10]"
  run 0 "$TOOL" stinfo "$T/rmsprop/test_softmax.epoch1.ckpt.safetensors"
  has "$T/out" "tensor opt.ms.dense.kernel F32 [784,10]"
  # Adagrad's accumulators start at 0.1 (Keras) and only grow.
  run 0 "$TOOL" stval "$T/adagrad/test_softmax.epoch1.ckpt.safetensors" opt.acc.dense.kernel
  tr ' ' '\n' <"$T/out" | awk '!($1 >= 0.1) { bad = 1 } END { exit bad }' || fail "an adagrad accumulator below 0.1"
  # Schedules, as the log's lr column shows them.
  run 0 env APP_TEST_SCHEDULE=cosine "$SM" train --data "$T/idx" --epochs 4 --lr 0.01 --out "$T/w.st" --log "$T/cos.csv"
  cut -d, -f2 "$T/cos.csv" | tr '\n' ' ' >"$T/lr"
  has "$T/lr" "lr 0.01 0.00853553391 0.005 0.00146446609 "
  run 0 env APP_TEST_SCHEDULE=step "$SM" train --data "$T/idx" --epochs 3 --lr 0.01 --out "$T/w.st" --log "$T/step.csv"
  cut -d, -f2 "$T/step.csv" | tr '\n' ' ' >"$T/lr"
  has "$T/lr" "lr 0.01 0.005 0.0025 "
  has "$T/out" "learning rate: 0.0025"
  # Mean squared error.
  run 0 env APP_TEST_LOSS=mse "$SM" train --data "$T/idx" --epochs 3 --lr 0.01 --out "$T/w.st"
  at_least "$T/out" "test accuracy" 0.9
  ;;

nan)
  idx_data
  mkdir "$T/ck"
  export APP_TEST_CHECKPOINT=none
  run 0 "$SM" train --data "$T/idx" --epochs 1 --out "$T/w.st" --checkpoint-dir "$T/ck"
  C=$T/ck/test_softmax.ckpt.safetensors
  has "$T/out" "checkpoint: $C"
  cp "$C" "$T/good.ckpt"
  cp "$T/w.st" "$T/good.st"
  # An absurd learning rate overflows the weights in the second epoch.
  err_case 1 "training diverged" "$SM" train --data "$T/idx" --epochs 2 --out "$T/w.st" --checkpoint-dir "$T/ck" \
    --resume "$C" --lr 1e38
  grep -q "app_softmax train: error: epoch 2/2, step [0-9]*/19: the loss is nan: training diverged" "$T/err" ||
    fail "the message does not name the epoch and step"
  has "$T/err" "the weights were not saved; the last good checkpoint is $C"
  cmp -s "$C" "$T/good.ckpt" || fail "the good checkpoint was overwritten"
  cmp -s "$T/w.st" "$T/good.st" || fail "--out was overwritten"
  no_stray "$T/ck"
  # From the start: no checkpoint to name.
  err_case 1 "epoch 1/1, step" "$SM" train --data "$T/idx" --epochs 1 --out "$T/w3.st" --lr 1e38
  [ -f "$T/w3.st" ] && fail "diverged weights were written"
  unset APP_TEST_CHECKPOINT
  ;;

atomic)
  idx_data
  # The checkpoint's name is taken by a directory: the rename fails, the
  # run stops naming it, nothing half-written is left.
  mkdir -p "$T/ck/test_softmax.epoch1.ckpt.safetensors"
  err_case 1 "test_softmax.epoch1.ckpt.safetensors" "$SM" train --data "$T/idx" --epochs 1 --out "$T/w.st" \
    --checkpoint-dir "$T/ck"
  [ -f "$T/w.st" ] && fail "--out written after a failed checkpoint"
  no_stray "$T/ck"
  # The same for --out.
  mkdir "$T/o" "$T/o/w.st"
  err_case 1 "w.st" "$SM" train --data "$T/idx" --epochs 1 --out "$T/o/w.st" --checkpoint-dir "$T/ck2"
  no_stray "$T/o"
  # A missing output directory is found before training.
  err_case 1 "$T/nodir: cannot use it as the output's directory" "$SM" train --data "$T/idx" --out "$T/nodir/w.st"
  [ ! -s "$T/out" ] || fail "training started though --out cannot be written"
  # A checkpoint directory is made when missing (one level).
  run 0 "$SM" train --data "$T/idx" --epochs 1 --out "$T/w.st" --checkpoint-dir "$T/newck"
  [ -f "$T/newck/test_softmax.epoch1.ckpt.safetensors" ] || fail "no checkpoint in the new directory"
  # A file in the way of the checkpoint directory.
  : >"$T/afile"
  err_case 1 "$T/afile: not a directory" "$SM" train --data "$T/idx" --out "$T/w.st" --checkpoint-dir "$T/afile"
  no_stray "$T"
  ;;

errors)
  idx_data
  mkdir "$T/ck"
  run 0 "$SM" train --data "$T/idx" --epochs 1 --out "$T/ck/w.st"
  C=$T/ck/test_softmax.epoch1.ckpt.safetensors
  # A checkpoint of this model from another .net file (another hash).
  err_case 1 "$C: a checkpoint of another model: source hash 0123456789abcdef" \
    env APP_TEST_HASH=feedfeedfeedfeed "$SM" train --data "$T/idx" --epochs 2 --resume "$C" --out "$T/x.st"
  # Another model's checkpoint.
  png_data
  run 0 "$BN" train --data "$T/png" --epochs 1 --out "$T/ck/b.st"
  err_case 1 "a checkpoint of another model: source hash fedcba9876543210 (model 'test_bnnet')" \
    "$SM" train --data "$T/idx" --epochs 2 --resume "$T/ck/test_bnnet.best.ckpt.safetensors" --out "$T/x.st"
  # Plain weights are not a checkpoint.
  err_case 1 "$T/ck/w.st: not a training checkpoint" "$SM" train --data "$T/idx" --resume "$T/ck/w.st" --out "$T/x.st"
  # Another optimizer.
  err_case 1 "optimizer 'adam' in the checkpoint, but this run uses 'sgd'" \
    env APP_TEST_OPTIMIZER=sgd "$SM" train --data "$T/idx" --epochs 2 --resume "$C" --out "$T/x.st"
  # Missing, misshapen, extra tensors: every one named.
  run 0 "$TOOL" stedit "$C" "$T/drop.st" drop opt.m.dense.kernel
  err_case 1 "tensor 'opt.m.dense.kernel' is missing" "$SM" train --data "$T/idx" --epochs 2 --resume "$T/drop.st" \
    --out "$T/x.st"
  run 0 "$TOOL" stedit "$T/drop.st" "$T/two.st" reshape dense.kernel
  err_case 1 "tensor 'dense.kernel': shape [7840] but the model expects [784,10]" \
    "$SM" train --data "$T/idx" --epochs 2 --resume "$T/two.st" --out "$T/x.st"
  has "$T/err" "'opt.m.dense.kernel' is missing"
  run 0 "$TOOL" stedit "$C" "$T/nostep.st" drop train.step
  err_case 1 "tensor 'train.step' is missing" "$SM" train --data "$T/idx" --epochs 2 --resume "$T/nostep.st" --out "$T/x.st"
  run 0 "$TOOL" stedit "$C" "$T/extra.st" add opt.z.dense.kernel
  err_case 1 "1 tensor not used by the model: 'opt.z.dense.kernel'" \
    "$SM" train --data "$T/idx" --epochs 2 --resume "$T/extra.st" --out "$T/x.st"
  # Truncated or missing checkpoint.
  head -c 20000 "$C" >"$T/trunc.st"
  err_case 1 "trunc.st" "$SM" train --data "$T/idx" --epochs 2 --resume "$T/trunc.st" --out "$T/x.st"
  err_case 1 "nowhere.st" "$SM" train --data "$T/idx" --epochs 2 --resume "$T/nowhere.st" --out "$T/x.st"
  [ -f "$T/x.st" ] && fail "weights written after a bad checkpoint"
  # Initial weights that do not fit.
  run 0 "$TOOL" stedit "$T/ck/w.st" "$T/bad_init.st" drop dense.bias
  err_case 1 "tensor 'dense.bias' is missing" "$SM" train --data "$T/idx" --weights "$T/bad_init.st" --out "$T/x.st"
  # Data: truncated, missing labels, nothing there, labels beyond the outputs.
  mkdir "$T/tr" "$T/nolab" "$T/empty"
  head -c 5000 "$T/idx/train-images-idx3-ubyte" >"$T/tr/train-images-idx3-ubyte"
  cp "$T/idx/train-labels-idx1-ubyte" "$T/tr/"
  err_case 1 "$T/tr/train-images-idx3-ubyte" "$SM" train --data "$T/tr" --out "$T/x.st"
  cp "$T/idx/train-images-idx3-ubyte" "$T/nolab/"
  err_case 1 "$T/nolab: train-labels-idx1-ubyte[.gz] is missing" "$SM" train --data "$T/nolab" --out "$T/x.st"
  err_case 1 "$T/empty: no training set here" "$SM" train --data "$T/empty" --out "$T/x.st"
  err_case 1 "train-labels-idx1-ubyte: record 3: label 3, but the model has 3 outputs" \
    "$BN" train --data "$T/idx" --out "$T/x.st"
  mkdir -p "$T/badpng/k0"
  echo "not a png" >"$T/badpng/k0/a.png"
  err_case 1 "$T/badpng/k0/a.png" "$BN" train --data "$T/badpng" --out "$T/x.st"
  # A model built without training code.
  err_case 2 "built without training code" "$BIN/app_dense" train --data "$T/idx"
  ;;

usage)
  err_case 2 "--lr: '0' is not a positive number" "$SM" train --lr 0
  err_case 2 "--lr: 'abc' is not a positive number" "$SM" train --lr abc
  err_case 2 "--lr: 'nan' is not a positive number" "$SM" train --lr nan
  err_case 2 "--validation: '1' is not a fraction from 0 (included) to 1 (excluded)" "$SM" train --validation 1
  err_case 2 "--validation: '-0.1'" "$SM" train --validation=-0.1
  err_case 2 "--epochs: '0' is not an integer from 1 to 1000000" "$SM" train --epochs 0
  err_case 2 "--batch: 'x'" "$SM" train --batch x
  err_case 2 "--seed: '-3' is not an unsigned 64-bit integer" "$SM" train --seed -3
  err_case 2 "--weights and --resume exclude each other" "$SM" train --weights a --resume b
  err_case 2 "--quiet takes no value" "$SM" train --quiet=yes
  err_case 2 "unknown option '--top'" "$SM" train --top 3
  has "$T/err" "Try 'app_softmax train --help'"
  err_case 2 "unexpected argument 'extra'" "$SM" train extra
  err_case 2 "--log needs a value" "$SM" train --log
  err_case 2 "unknown option '--epochs'" "$SM" eval --weights w --epochs 3
  run 0 "$SM" train --help
  has "$T/out" "usage: app_softmax train"
  has "$T/out" "--checkpoint-dir"
  run 0 "$SM" --help
  has "$T/out" "train     train the network"
  # No data set for a model that names none and is not 28x28x1.
  err_case 2 "no data set" "$BN" train
  ;;

fashion)
  D=${NETC_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
  if [ ! -r "$D/train-images-idx3-ubyte.gz" ] || [ ! -r "$D/t10k-labels-idx1-ubyte.gz" ]; then
    echo "Fashion-MNIST not in $D (apt-get install dataset-fashion-mnist); skipping"
    exit 77
  fi
  set -- --epochs 1 --limit 3000 --out "$T/w.st" --batch 64
  [ "$D" = /usr/share/datasets/fashion-mnist ] || set -- "$@" --data "$D"
  # The default data set of a 784-input model.
  run 0 "$SM" train "$@"
  has "$T/out" "IDX, 3000 images 28x28x1; test split"
  has "$T/out" "Train on 3000 samples"
  at_least "$T/out" "test accuracy" 0.6
  ;;

*)
  fail "unknown case"
  ;;
esac
exit 0

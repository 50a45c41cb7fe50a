#!/bin/sh
# test_smoke.sh KIND MODEL_BIN SYNTH_BIN: trains MODEL_BIN (an emitted
# example behind netcapp) 3 epochs on 32 synthetic images that synth_data
# writes (KIND idx: a 28x28 IDX pair; cifar: a CIFAR-10 batch file), with the
# train section's optimizer and schedule, batch 8, one thread (robust on a loaded machine), and checks from
# the --log CSV that the loss is finite and that the last epoch's is below the
# first's.
set -u
KIND=$1
BIN=$2
SYNTH=$3
T=$(mktemp -d "${TMPDIR:-/tmp}/netc_smoke.XXXXXX")
trap 'rm -rf "$T"' EXIT

fail() {
  echo "FAIL [$(basename "$BIN")]: $*" >&2
  [ -f "$T/out" ] && tail -n 20 "$T/out" >&2
  [ -f "$T/log.csv" ] && cat "$T/log.csv" >&2
  exit 1
}

case $KIND in
  idx) "$SYNTH" idx "$T" 32 28 28 || fail "synth_data idx"; data=$T ;;
  cifar) "$SYNTH" cifar "$T/data.bin" 32 || fail "synth_data cifar"; data=$T/data.bin ;;
  *) fail "unknown kind $KIND" ;;
esac

# --validation 0: the held-out part of 32 images would be a handful.
"$BIN" train --data "$data" --epochs 3 --batch 8 --seed 7 --threads 1 --validation 0 \
  --out "$T/w.safetensors" --log "$T/log.csv" --quiet >"$T/out" 2>&1 || fail "train exited $?"
[ -f "$T/w.safetensors" ] || fail "no weights written"
# epoch,lr,loss,acc,val_loss,val_acc,seconds: the loss is the third column.
awk -F, '
  NR == 1 { if ($3 != "loss") { print "header: " $0; bad = 1 }; next }
  { n++; loss[n] = $3 + 0; if ($3 !~ /^[0-9.eE+-]+$/) { print "loss " $3; bad = 1 } }
  END {
    if (bad || n != 3) { print "epochs logged: " n; exit 1 }
    printf "loss by epoch: %s %s %s\n", loss[1], loss[2], loss[3]
    exit !(loss[3] < loss[1])
  }' "$T/log.csv" || fail "the loss did not fall"

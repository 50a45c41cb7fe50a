#!/usr/bin/env bash
# frontend.sh: how long `netc check` and `netc report` take on the largest
# examples (the issue asks for well under 50 ms on VGG16). Whole-process
# times, median of many runs.
set -euo pipefail
cd "$(dirname "$0")/.."
netc=${NETC:-build/compiler/netc}
runs=${RUNS:-50}
for model in vgg16 vgg19 resnet18 densenet_mini; do
  for cmd in check report; do
    times=()
    for _ in $(seq "$runs"); do
      s=$(date +%s%N)
      "$netc" $cmd dsl-examples/$model.net >/dev/null
      e=$(date +%s%N)
      times+=($(( (e - s) / 1000 )))
    done
    median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    printf '%-14s %-7s median %6.2f ms over %d runs\n' "$model" "$cmd" "$(echo "$median / 1000" | bc -l)" "$runs"
  done
done

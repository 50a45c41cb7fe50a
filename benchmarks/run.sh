#!/usr/bin/env bash
# run.sh: netc against PyTorch CPU and ONNX Runtime on the book's models
# (mnist_cnn, cifar_bn_cnn, resnet_mini, mobilenet_mini): batch-1 latency
# and batch-64 throughput, each engine at its better thread count, medians
# and ratios (benchmarks/README.md has the figures and how to read them).
#
# Installs what it needs: Debian's python3-torch (for /usr/bin/python3, not
# whatever python3 comes first on PATH), and onnxruntime and onnx from PyPI
# into benchmarks/.venv, which sees the system's torch and numpy. Builds netc
# in build-bench/ and the four programs with `netc build`.
#
#   benchmarks/run.sh                 # everything, 3 interleaved rounds
#   ROUNDS=5 benchmarks/run.sh        # more rounds on a noisy machine
#   benchmarks/run.sh --quick         # short blocks, to try the script out
#   benchmarks/run.sh --models resnet_mini --batches 1
#   benchmarks/run.sh --layers --threads 1   # single conv layers of the models
#
# Extra arguments go to peers.py (python3 benchmarks/peers.py --help).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${BUILD:-build-bench}
venv=benchmarks/.venv
py=/usr/bin/python3

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- netc's own build dependencies (toolchain, OpenBLAS, cJSON, ...), then
# PyTorch (Debian's) and venv support for /usr/bin/python3
tools/install-deps.sh
need=()
$py -c 'import torch' 2>/dev/null || need+=(python3-torch)
$py -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} with apt-get"
  sudo_ apt-get update -q
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi

# --- ONNX Runtime and ONNX in a venv that sees the system's torch and numpy.
# numpy is pinned to the system's: a numpy 2 in the venv would break the
# Debian torch, built against numpy 1.
if [ ! -x $venv/bin/python ]; then
  $py -m venv --system-site-packages $venv
fi
if ! $venv/bin/python -c 'import onnxruntime, onnx' 2>/dev/null; then
  npv=$($py -c 'import numpy; print(numpy.__version__)')
  echo "numpy==$npv" > $venv/constraints.txt
  $venv/bin/python -m pip install -q --disable-pip-version-check \
    -c $venv/constraints.txt onnxruntime onnx
fi

# --- netc (peers.py builds the programs with it)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target netc netcrt netcapp >/dev/null
mkdir -p benchmarks/results
exec $venv/bin/python benchmarks/peers.py --netc "$build/compiler/netc" \
  --progs "$build/bench-progs" --rounds "${ROUNDS:-3}" \
  --json "${JSON:-benchmarks/results/run-$(date +%Y%m%d-%H%M%S).json}" "$@"

#!/usr/bin/env bash
# demo.sh: installs what netc needs, builds it, and prints the report of
# the book's residual network. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
echo
build/compiler/netc report dsl-examples/resnet_mini.net

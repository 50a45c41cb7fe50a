#!/usr/bin/env bash
# test.sh: installs what netc needs, then builds and runs every test twice:
# with gcc, and with clang under AddressSanitizer and UndefinedBehaviorSanitizer;
# then the kernel, reference and training tests on the 8- and 4-float
# kernels (gcc builds for AVX2 and for baseline x86-64 without clones: what
# CPUs without AVX-512 run, which the first two never reach on one that
# has it).
# Safe to run again; exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
jobs=$(nproc)

echo "== gcc, RelWithDebInfo"
CC=gcc cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build -j"$jobs" --output-on-failure

echo "== clang, AddressSanitizer + UndefinedBehaviorSanitizer"
CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DNETC_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
# Tests labelled `slow` (whole-network gradient checks: seconds of float
# arithmetic each, no parsing or memory handling of their own) run only in
# the first configuration.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -j"$jobs" --output-on-failure -LE slow

# The kernels' 8- and 4-float variants (runtime/kernels/kernels_internal.h)
# run only on CPUs without AVX-512 and without AVX2: builds for those
# targets without clones run them here.
variant_tests() { # build dir, C flags
  CC=gcc cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="$2" >/dev/null
  cmake --build "$1" -j"$jobs"
  ctest --test-dir "$1" -j"$jobs" --output-on-failure -L 'kernels|ref|train' -LE slow
}
echo "== gcc, 8-float kernels (-march=x86-64-v3, no clones)"
if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
  variant_tests build-narrow "-march=x86-64-v3 -DNETC_NO_CLONES"
else
  echo "skipped: this CPU has no AVX2"
fi
echo "== gcc, 4-float kernels (baseline x86-64, no clones)"
variant_tests build-base "-DNETC_NO_CLONES"

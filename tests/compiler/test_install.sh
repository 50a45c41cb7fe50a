#!/usr/bin/env bash
# test_install.sh BUILD_DIR CC: `netc build` works after `cmake --install` (it
# finds the installed runtime beside itself), and the installed pkg-config
# file links a generated model into a program of one's own.
set -eu
build=$1
cc=${2:-cc}  # the compiler that built the runtime: its OpenMP and sanitizer runtimes
cd "$(dirname "$0")/../.."
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
test -x "$prefix/bin/netc"
test -f "$prefix/include/netc/model.h"
# Run from elsewhere: nothing may depend on the source or build tree.
cp dsl-examples/mnist_mlp.net "$prefix/"
cd "$prefix"
PATH="$prefix/bin:$PATH"
netc build mnist_mlp.net -o mlp
./mlp init --seed 3 -o w.safetensors >/dev/null
./mlp summary | grep -q "Total params: 134,794"
./mlp bench --runs 2 --json | grep -q '"images_per_s"'
# Per-layer times: one line per layer left after the passes, in order.
# A layer with MACs shows its GFLOP/s and fraction of the SGEMM peak, one
# without (the input) dashes.
./mlp bench --runs 2 --layers >layers.txt
grep -q "^ *[0-9.]* *[0-9.]*% *[0-9.]* *[0-9.]*%  dense_3$" layers.txt
grep -q "^ *[0-9.]* *[0-9.]*% *- *-  input$" layers.txt
test "$(grep -c "^ *[0-9.]* *[0-9.]*%.*  [a-z_0-9]*$" layers.txt)" = 5
./mlp bench --runs 2 --layers --json >layers.json
grep -q '"layers":\[{"name":"input","median_ms":[0-9.e-]*,"macs_per_image":0}' layers.json
grep -q '{"name":"dense_3","median_ms":[0-9.e-]*,"macs_per_image":1280,"gflops":[0-9.e-]*,"fraction_of_peak":' layers.json
# A program of one's own: the emitted model plus a main, via pkg-config.
netc emit mnist_mlp.net --target c -o gen
cat > gen/main.c <<'C'
#include "mnist_mlp.h"
#include "netc/app.h"
int main(int argc, char **argv) { return netc_app_main(argc, argv, &netc_model_mnist_mlp); }
C
PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib64/pkgconfig" \
  "$cc" -std=c11 -O2 gen/mnist_mlp.c gen/main.c -o own \
  $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib64/pkgconfig" pkg-config --cflags --libs --static netc-runtime)
./own predict --help >/dev/null
./own summary | grep -q "mnist_mlp"
echo "install: netc build and pkg-config both work from $prefix"

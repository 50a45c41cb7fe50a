#!/usr/bin/env bash
# install-deps.sh: installs the Debian packages netc builds and tests with.
# Idempotent: does nothing when every package is already there.
set -euo pipefail

packages=(
  build-essential cmake clang flex bison pkg-config   # toolchain; flex/bison run at build time
  libcjson-dev libopenblas-dev libpng-dev zlib1g-dev  # runtime: JSON, BLAS, PNG, gzip
  libomp-dev libclang-rt-14-dev                       # OpenMP and sanitizers under clang
  graphviz                                            # netc graph -o x.svg
  dataset-fashion-mnist                               # real data for loader tests
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"

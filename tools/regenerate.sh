#!/usr/bin/env bash
# regenerate.sh [NETC]: rewrites generated/ with the C that netc emits for
# every dsl-example. Review the diff like code, then commit it.
set -euo pipefail
cd "$(dirname "$0")/.."
netc=${1:-build/compiler/netc}
for f in dsl-examples/*.net; do
  name=$(basename "$f" .net)
  rm -rf "generated/$name"
  "$netc" emit "$f" --target c -o "generated/$name"
done
echo "generated/ rewritten from $(ls dsl-examples/*.net | wc -l) examples"

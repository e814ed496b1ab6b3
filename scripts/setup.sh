#!/usr/bin/env bash
# One-command set-up on a fresh Debian machine (as root):
#   bash scripts/setup.sh experiment   install, build, run the default experiment
#   bash scripts/setup.sh test         install, build, run the whole test suite
set -euo pipefail
mode="${1:-}"
case "$mode" in
  experiment|test) ;;
  *) echo "usage: bash scripts/setup.sh experiment|test" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."

bash scripts/install_deps.sh

jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DR1LAB_TESTS=$([ "$mode" = test ] && echo ON || echo OFF)
cmake --build build -j"$jobs"

if [ "$mode" = test ]; then
  (cd build && ctest --output-on-failure -j"$jobs")
  # The verifier under libFuzzer with AddressSanitizer, briefly.
  bash scripts/fuzz.sh 30
else
  ./build/r1lab run
fi

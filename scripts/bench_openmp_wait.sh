#!/bin/bash
# Wall time of 300 default pretraining steps under OpenMP wait settings, on a
# quiet machine and with one core busy (BENCHMARKS.md, 2026-12-02 (b)).
# Usage: bash scripts/bench_openmp_wait.sh [path/to/r1lab]   (after a build)
set -u
R=${1:-build/r1lab}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
run() {  # label, then env assignments
  local label=$1; shift
  local extra=""
  [[ "$label" == *"--threads 1"* ]] && extra="--threads 1"
  rm -rf "$OUT/o"
  local t0=$(date +%s.%N)
  env "$@" "$R" pretrain $extra --set pretrain.steps=300 --set output_dir="$OUT/o" > /dev/null 2>&1
  printf "%-36s %6.1f s\n" "$label" "$(echo "$(date +%s.%N) - $t0" | bc)"
}
for load in quiet busy; do
  if [ $load = busy ]; then (while :; do :; done) & BUSY=$!; fi
  run "$load, libgomp default" GOMP_SPINCOUNT=300000
  run "$load, OMP_WAIT_POLICY=passive" OMP_WAIT_POLICY=passive
  run "$load, GOMP_SPINCOUNT=10000" GOMP_SPINCOUNT=10000
  run "$load, GOMP_SPINCOUNT=1000" GOMP_SPINCOUNT=1000
  run "$load, --threads 1" GOMP_SPINCOUNT=1000
  if [ $load = busy ]; then kill $BUSY; fi
done

#!/usr/bin/env bash
# Copies a regenerated experiment into results/ as it is committed, and checks the size cap.
#
#   scripts/commit_results.sh OUT EXPERIMENT
#
# OUT is the --out folder `r1lab tune` and `r1lab run` wrote (OUT/EXPERIMENT, OUT/EXPERIMENT-tune;
# OUT may be results itself, which is then cleaned in place).
# Each of results/EXPERIMENT and results/EXPERIMENT-tune is replaced by its regenerated folder,
# less what is not committed (docs/DECISIONS.md): checkpoints, locks, plain jsonl, SVG plots,
# the tuning's plots and a size sweep's per-size plots. The PNG plots left are reduced to
# 256-colour palettes (pngquant: deterministic, a third of the bytes, no visible change).
# `r1lab report DIR` draws every plot again from the records. Then check the tables with
# `build/r1lab rescore results/EXPERIMENT` (and -tune), and stage results/ yourself.
set -euo pipefail

if (($# != 2)); then
  echo "usage: scripts/commit_results.sh OUT EXPERIMENT" >&2
  exit 2
fi
out=$1
name=$2
repo=$(cd "$(dirname "$0")/.." && pwd)
results=$repo/results
cap_bytes=40000000  # the whole results/ tree stays under 40 MB (#17)

if [ ! -f "$out/$name/summary.md" ]; then
  echo "commit_results: $out/$name/summary.md is missing: expected the folder of a finished" \
    "'r1lab run --out $out' of $name" >&2
  exit 1
fi
if ! command -v pngquant > /dev/null; then
  echo "commit_results: pngquant is missing: run scripts/install_deps.sh" >&2
  exit 1
fi
dirs=()
for dir in "$name" "$name-tune"; do
  if [ -d "$out/$dir" ]; then dirs+=("$dir"); fi
done
unfinished=$(cd "$out" && find "${dirs[@]}" -name checkpoint.pt -printf '%h\n' | while read -r run; do
  if [ ! -f "$run/done.json" ]; then echo "$out/$run"; fi
done)
if [ -n "$unfinished" ]; then
  echo "commit_results: runs without done.json (unfinished):" $unfinished >&2
  exit 1
fi

for dir in "${dirs[@]}"; do
  if [ "$(realpath "$out")" != "$(realpath "$results")" ]; then  # else cleaned in place
    rm -rf "${results:?}/$dir"
    cp -r "$out/$dir" "$results/$dir"
  fi
  find "$results/$dir" \( -name '*.pt' -o -name '.lock' -o -name '*.lock' -o -name gnuplot.log \
    -o -name '*.partial*' -o -name samples.jsonl -o -name metrics.jsonl -o -name '*.svg' \) -delete
done
rm -rf "$results/$name-tune/plots"
# A size sweep holds one experiment folder (with its own summary.md) per size: the sweep's
# plots stay, each size's go.
for size in "$results/$name"/*/; do
  if [ -f "$size/summary.md" ]; then rm -rf "$size/plots"; fi
done
find "$results/$name" -name '*.png' -exec pngquant --speed 1 --strip --force --ext .png {} +

# What git would commit: tracked and new files, not ignored ones (caches, quick runs).
bytes=$(git -C "$repo" ls-files -z -co --exclude-standard results | (cd "$repo" && xargs -0 -r stat -c %s) |
  awk '{s += $1} END {print s + 0}')
echo "commit_results: results/$name updated; results/ holds $((bytes / 1000)) kB (cap $((cap_bytes / 1000)) kB)"
if ((bytes >= cap_bytes)); then
  echo "commit_results: results/ is over its cap: leave out what 'r1lab report' can redraw" >&2
  exit 1
fi

#!/usr/bin/env python3
"""Mean rollout length by bins of training steps, from a results folder's records.

    python3 tools/rollout_length.py results/r1_zero_dynamics_all_numbers [--arm grpo] [--bin 100]

Reads runs/ARM/seed-*/metrics.jsonl.xz (or .jsonl, .jsonl.gz), averages the training lines'
len_mean (the step's rollouts, before any evaluation) over each bin of BIN steps, and prints a
row per seed and the mean over seeds. The held-out length at each eval point is in the
folder's plots/curves.dat; this is the curve between them (docs/EXPERIMENTS.md quotes both).
Standard library only.
"""
import argparse
import glob
import json
import os
import statistics
import sys

import records


def open_records(run):
    path = records.find(run, "metrics.jsonl")
    if path is None:
        sys.exit(f"rollout_length: {run} has no metrics.jsonl(.xz/.gz)")
    return records.open_text(path)


def bins_of(run, width):
    bins = {}
    with open_records(run) as f:
        for n, line in enumerate(f, 1):
            try:
                m = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"rollout_length: {run} metrics line {n}: {e}")
            if "len_mean" in m:
                bins.setdefault((m["step"] - 1) // width, []).append(m["len_mean"])
    return {b: statistics.mean(v) for b, v in bins.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--arm", default="grpo")
    ap.add_argument("--bin", type=int, default=100)
    a = ap.parse_args()
    if a.bin < 1:
        sys.exit("rollout_length: --bin must be at least 1")
    runs = sorted(glob.glob(os.path.join(a.folder, "runs", a.arm, "seed-*")))
    if not runs:
        sys.exit(f"rollout_length: no runs under {os.path.join(a.folder, 'runs', a.arm)}")
    per_run = {os.path.basename(r): bins_of(r, a.bin) for r in runs}
    all_bins = sorted(set().union(*per_run.values()))
    label = lambda b: f"{b * a.bin + 1}-{(b + 1) * a.bin}"
    print("steps".ljust(10) + "".join(label(b).rjust(10) for b in all_bins))
    for name, bins in per_run.items():
        print(name.ljust(10) + "".join((f"{bins[b]:.1f}" if b in bins else "-").rjust(10) for b in all_bins))
    means = [statistics.mean(bins[b] for bins in per_run.values() if b in bins) for b in all_bins]
    print("mean".ljust(10) + "".join(f"{m:.1f}".rjust(10) for m in means))


if __name__ == "__main__":
    main()

"""Finding and opening r1lab's records (NAME.jsonl, .jsonl.xz or .jsonl.gz) for the tools here, and
printing their per-seed tables."""
import glob
import gzip
import lzma
import math
import os
import statistics
import sys


def find(folder, name):
    """The path of folder/name as r1lab may have written it: plain (a run still going), xz, gzip
    (records of earlier versions). None if there is none."""
    for path in (os.path.join(folder, name + suffix) for suffix in ("", ".xz", ".gz")):
        if os.path.exists(path):
            return path
    return None


def open_text(path):
    """Opens a record for reading text, decompressing by its suffix."""
    opener = lzma.open if path.endswith(".xz") else gzip.open if path.endswith(".gz") else open
    return opener(path, "rt")


def samples(folder, arm, tool):
    """A results folder's held-out samples: the base's path (None if it has none) and each seed's
    (name, path) under runs/ARM, in seed order. Exits, named by tool, if there are none."""
    base = find(os.path.join(folder, "base"), "samples.jsonl")
    seeds = [(os.path.basename(run), path) for run in sorted(glob.glob(os.path.join(folder, "runs", arm, "seed-*")))
             for path in [find(run, "samples.jsonl")] if path]
    if base is None and not seeds:
        sys.exit(f"{tool}: no samples under {folder}/base or {folder}/runs/{arm}/seed-*")
    return base, seeds


def print_rows(base_row, seed_rows, cell, name_width, width):
    """Prints a row for the base (None: none), one for each (seed, row) and, with two seeds or
    more, their mean. A row maps a column's name to its value; cell(name, value) formats a value,
    and a NaN (nothing to measure) prints as "-"."""
    rows = ([("base", base_row)] if base_row is not None else []) + seed_rows
    if len(seed_rows) > 1:
        rows.append(("mean", {key: statistics.mean(r[key] for _, r in seed_rows) for key in seed_rows[0][1]}))
    keys = list(rows[0][1])
    print("".ljust(name_width) + "".join(key.rjust(width) for key in keys))
    for name, r in rows:
        print(name.ljust(name_width) + "".join(("-" if math.isnan(r[key]) else cell(key, r[key])).rjust(width)
                                                for key in keys))

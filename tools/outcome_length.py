#!/usr/bin/env python3
"""Response length of right and wrong answers, from a results folder's held-out samples.

    python3 tools/outcome_length.py results/r1_zero_dynamics_hard [--arm grpo]

Where GRPO's responses grow, the growth may be earned (retries that land) or the loss's length
bias: with each response's loss the mean over its tokens, a wrong response's negative advantage
is spread over its own length, and wrong responses drift longer (Liu et al. 2025, Dr. GRPO).
The two read apart in which responses grow. For the base's and each run's held-out samples
(base/samples.jsonl.xz, runs/ARM/seed-*/samples.jsonl.xz) this prints:
  pass@1 %     the share of right responses;
  length       mean tokens of every response;
  right        mean tokens of the right responses;
  wrong        mean tokens of the wrong ones;
  truncated %  wrong responses cut at the sampling limit (no answer to score);
  right +      right responses, on the same problems, against the base's: the mean, over
               the problems with right responses in both, of the difference of their mean
               lengths; so the hardest problems, which stay wrong, cannot pass for growth;
  wrong +      the same for the wrong responses.
Rows: the base, each seed, and the mean over seeds. Any task; standard library only.
"""
import argparse
import json
import statistics
import sys

import records


def fail(msg):
    sys.exit(f"outcome_length: {msg}")


def score(path, base=None):
    by_problem, cut = {}, 0  # problem -> (right lengths, wrong lengths)
    with records.open_text(path) as f:
        for k, text in enumerate(f, 1):
            try:
                s = json.loads(text)
                tokens, problem = int(s["tokens"]), s["problem"]
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
                fail(f"{path} line {k}: not a sample with a problem and a 'tokens' count ({e})")
            right = bool(s.get("correct"))
            by_problem.setdefault(problem, ([], []))[0 if right else 1].append(tokens)
            cut += not right and bool(s.get("truncated"))
    right = [t for kinds in by_problem.values() for t in kinds[0]]
    wrong = [t for kinds in by_problem.values() for t in kinds[1]]
    n = len(right) + len(wrong)
    if n == 0:
        fail(f"{path} holds no samples")
    mean = lambda xs: statistics.mean(xs) if xs else float("nan")

    def longer(kind):
        if base is None:
            return float("nan")
        both = [p for p, kinds in by_problem.items() if kinds[kind] and base.get(p, ([], []))[kind]]
        return mean([mean(by_problem[p][kind]) - mean(base[p][kind]) for p in both])

    return by_problem, {
        "pass@1 %": 100.0 * len(right) / n,
        "length": mean(right + wrong),
        "right": mean(right),
        "wrong": mean(wrong),
        "truncated %": 100.0 * cut / len(wrong) if wrong else float("nan"),
        "right +": longer(0),
        "wrong +": longer(1),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--arm", default="grpo")
    a = ap.parse_args()
    base_path, seeds = records.samples(a.folder, a.arm, "outcome_length")
    base, base_row = score(base_path) if base_path else (None, None)
    records.print_rows(base_row, [(name, score(path, base)[1]) for name, path in seeds],
                       lambda key, v: f"{v:+.1f}" if key.endswith("+") else f"{v:.1f}", 10, 13)


if __name__ == "__main__":
    main()

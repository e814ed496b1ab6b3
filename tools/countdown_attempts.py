#!/usr/bin/env python3
"""How often a countdown attempt in the thinking lands, from a results folder's samples.

    python3 tools/countdown_attempts.py results/r1_zero_dynamics_all_numbers [--arm grpo]

A countdown response thinks in lines "a op b=c", and a check line ("wait X is not T", or any
other line that begins "wait": GRPO can drift from the teacher's form) closes an attempt that
missed; the lines after the last check are the final attempt. A reflection line "wait a op
b=c" (the teacher's correction of a slip) replaces the line it corrects. For the base's and
each run's held-out samples (base/samples.jsonl.xz, runs/ARM/seed-*/samples.jsonl.xz) this
prints:
  lines right %   thinking lines whose arithmetic is right (c = a op b exactly);
  lines linked %  thinking lines whose operands are the problem's numbers or the attempt's
                  earlier results (as written or redone), each used once;
  attempts        attempts per response (1 + its check lines);
  first lands %   first attempts that land: every line right, each operand one of the
                  problem's numbers or an earlier result of the attempt (each used once),
                  the last result the target and, under use_all_numbers (read from the
                  folder's config.pbtxt), every number used;
  retry lands %   the same for attempts after a check: what a retry is worth;
  worked out %    of the right answers, those whose final attempt lands: the share the
                  thinking worked out;
  chosen %        of the right answers, those whose final attempt's combination lands once
                  its arithmetic is redone (an operand that a line wrote stands for that
                  line's right value): the thinking chose the answer, with its sums right or
                  not;
  pass@1 %        the responses' own score.
Rows: the base, each seed, and the mean over seeds. Standard library only.
"""
import argparse
import json
import os
import re
import sys

import records

LINE = re.compile(r"^(-?\d+)([-+*/])(-?\d+)=(-?\d+)$")
CHECK = re.compile(r"^wait\b")  # the teacher's "wait X is not T", or drifted from it
FIX = re.compile(r"^wait (-?\d+)([-+*/])(-?\d+)=(-?\d+)$")
PROMPT = re.compile(r"^((?:\d+ )+)to (\d+)$")
SPOILED = (0, "?", 0, None)  # a line that is neither a step nor a check: the attempt cannot land


def fail(msg):
    sys.exit(f"countdown_attempts: {msg}")


def value(a, op, b):
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a // b if b != 0 and a % b == 0 else None
    return None  # not an operator (SPOILED)


def replay(lines, numbers):
    """Replays an attempt with its sums redone. Each entry of the pool is (as written, right
    value); a line's operand is linked when it is either value of an entry, each entry used
    once. Returns each line's linked flag, whether every line could be redone (its operands
    linked, a division exact) and the right values left in the pool."""
    pool, linked, redone = [(x, x) for x in numbers], [], True
    for a, op, b, c in lines:
        if op not in "+-*/":  # SPOILED
            linked.append(False)
            redone = False
            continue
        right = []
        for x in (a, b):
            hit = next((e for e in pool if x in e), None)
            if hit is not None:
                pool.remove(hit)
                right.append(hit[1])
        linked.append(len(right) == 2)
        v = value(right[0], op, right[1]) if len(right) == 2 else None
        redone = redone and v is not None
        pool.append((c, c if v is None else v))
    return linked, redone, [e[1] for e in pool]


def judge(lines, numbers, target, use_all):
    """(each line linked, the attempt lands, it lands with its sums redone). With every sum
    right, written and right values agree, so landing is landing redone with no sum wrong."""
    linked, redone, left = replay(lines, numbers)
    redone_lands = bool(lines) and redone and left[-1] == target and (not use_all or len(left) == 1)
    return linked, redone_lands and all(value(a, op, b) == c for a, op, b, c in lines), redone_lands


def lands(lines, numbers, target, use_all):
    """True if the attempt's lines form a right combination of the numbers ending at target."""
    return judge(lines, numbers, target, use_all)[1]


def lands_redone(lines, numbers, target, use_all):
    """True if the attempt's combination lands with every line's arithmetic redone."""
    return judge(lines, numbers, target, use_all)[2]


def thinking(completion):
    start = completion.find("<think>")
    body = completion[start + len("<think>"):] if start >= 0 else completion
    for end in ("</think>", "<answer>"):
        if end in body:
            body = body[: body.index(end)]
    return body.split("\n")


def score(path, use_all):
    n = lines_total = lines_ok = lines_linked = attempts = correct = worked = chosen = 0
    first = [0, 0]  # landed, tried
    retry = [0, 0]
    with records.open_text(path) as f:
        for k, text in enumerate(f, 1):
            try:
                s = json.loads(text)
            except json.JSONDecodeError as e:
                fail(f"{path} line {k}: {e}")
            m = PROMPT.match(s.get("prompt", ""))
            if not m:
                fail(f"{path} line {k}: prompt {s.get('prompt')!r} is not 'N N ... to T'")
            numbers, target = [int(x) for x in m.group(1).split()], int(m.group(2))
            n += 1
            current, tries = [], []
            for line in thinking(s.get("completion", "")):
                line = line.strip()
                step, fix = LINE.match(line), FIX.match(line)
                if fix:  # corrects the line before it; anywhere else it spoils the attempt
                    a, op, b, c = int(fix.group(1)), fix.group(2), int(fix.group(3)), int(fix.group(4))
                    if current and current[-1][:3] == (a, op, b):
                        current[-1] = (a, op, b, c)
                    else:
                        current.append(SPOILED)
                elif step:
                    a, op, b, c = int(step.group(1)), step.group(2), int(step.group(3)), int(step.group(4))
                    lines_total += 1
                    lines_ok += value(a, op, b) == c
                    current.append((a, op, b, c))
                elif CHECK.match(line):
                    tries.append(current)
                    current = []
                elif line:
                    current.append(SPOILED)
            tries.append(current)
            attempts += len(tries)
            judged = [judge(t, numbers, target, use_all) for t in tries]
            for i, (t, (linked, hit, _)) in enumerate(zip(tries, judged)):
                lines_linked += sum(ok for ok, line in zip(linked, t) if line != SPOILED)
                bucket = first if i == 0 else retry
                bucket[0] += hit
                bucket[1] += 1
            if s.get("correct"):
                correct += 1
                worked += judged[-1][1]
                chosen += judged[-1][2]
    if n == 0:
        fail(f"{path} holds no samples")
    pct = lambda x, y: 100.0 * x / y if y else float("nan")
    return {
        "lines right %": pct(lines_ok, lines_total),
        "lines linked %": pct(lines_linked, lines_total),
        "attempts": attempts / n,
        "first lands %": pct(*first),
        "retry lands %": pct(*retry),
        "worked out %": pct(worked, correct),
        "chosen %": pct(chosen, correct),
        "pass@1 %": pct(correct, n),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--arm", default="grpo")
    a = ap.parse_args()
    config = os.path.join(a.folder, "config.pbtxt")
    if not os.path.exists(config):
        fail(f"{a.folder} has no config.pbtxt (is it an experiment's results folder?)")
    with open(config) as f:
        use_all = re.search(r"\buse_all_numbers:\s*true\b", f.read()) is not None
    base, seeds = records.samples(a.folder, a.arm, "countdown_attempts")
    records.print_rows(score(base, use_all) if base else None,
                       [(name, score(path, use_all)) for name, path in seeds],
                       lambda key, v: f"{v:.2f}" if key == "attempts" else f"{v:.1f}", 8, 16)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Tests of tools/outcome_length.py on hand-written samples (ctest: tools.outcome_length)."""
import json
import lzma
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "outcome_length.py")


def sample(problem, tokens, correct, truncated=False):
    return {"problem": problem, "prompt": "1 2 to 3", "completion": "x" * tokens, "tokens": tokens,
            "correct": correct, "truncated": truncated}


class OutcomeLength(unittest.TestCase):
    def run_tool(self, folders, *args):
        root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, root)
        for folder, lines in folders.items():
            path = os.path.join(root, folder)
            os.makedirs(path)
            with lzma.open(os.path.join(path, "samples.jsonl.xz"), "wt") as f:
                for s in lines:
                    f.write((s if isinstance(s, str) else json.dumps(s)) + "\n")
        return subprocess.run([sys.executable, TOOL, root, *args], capture_output=True, text=True)

    def test_right_and_wrong_lengths_per_seed_and_over_seeds(self):
        # Problem 0 is right once at the base (10 tokens) and wrong once (20); problem 1 wrong
        # twice (30, 40: mean 35). "wrong +" compares each problem's wrong responses with the
        # base's on the same problem: seed-1 p0 50 - 20, p1 70 - 35 (mean 32.5); "right +" only
        # p0, the one problem right in both (8 - 10).
        base = [sample(0, 10, True), sample(0, 20, False), sample(1, 30, False), sample(1, 40, False, truncated=True)]
        one = [sample(0, 8, True), sample(1, 12, True), sample(0, 50, False), sample(1, 70, False)]
        two = [sample(0, 6, True), sample(0, 60, False, truncated=True), sample(1, 90, False), sample(1, 30, False)]
        r = self.run_tool({"base": base, "runs/grpo/seed-1": one, "runs/grpo/seed-2": two,
                           "runs/other/seed-1": [sample(0, 1, True)]})
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [line.split() for line in r.stdout.splitlines()]
        self.assertEqual(rows[0], ["pass@1", "%", "length", "right", "wrong", "truncated", "%", "right", "+",
                                   "wrong", "+"])
        self.assertEqual(rows[1], ["base", "25.0", "25.0", "10.0", "30.0", "33.3", "-", "-"])
        self.assertEqual(rows[2], ["seed-1", "50.0", "35.0", "10.0", "60.0", "0.0", "-2.0", "+32.5"])
        self.assertEqual(rows[3], ["seed-2", "25.0", "46.5", "6.0", "60.0", "33.3", "-4.0", "+32.5"])
        self.assertEqual(rows[4], ["mean", "37.5", "40.8", "8.0", "60.0", "16.7", "-3.0", "+32.5"])
        self.assertEqual(len(rows), 5)

    def test_without_a_base_the_same_problem_columns_are_blank(self):
        r = self.run_tool({"runs/grpo/seed-1": [sample(0, 5, True), sample(0, 9, False)]})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines()[1].split(), ["seed-1", "50.0", "7.0", "5.0", "9.0", "0.0", "-", "-"])

    def test_an_arm_without_samples_and_a_broken_line_are_named(self):
        r = self.run_tool({"runs/grpo/seed-1": [sample(0, 5, True)]}, "--arm", "ppo")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no samples under", r.stderr)
        r = self.run_tool({"runs/grpo/seed-1": [sample(0, 5, True), {"problem": 1, "correct": True}]})
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("line 2", r.stderr)
        self.assertIn("'tokens'", r.stderr)


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""Tests of tools/rollout_length.py on hand-written records (ctest: tools.rollout_length)."""
import json
import lzma
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rollout_length.py")


class RolloutLength(unittest.TestCase):
    def run_tool(self, runs, *args):
        root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, root)
        for seed, lines in runs.items():
            run = os.path.join(root, "runs", "grpo", seed)
            os.makedirs(run)
            with lzma.open(os.path.join(run, "metrics.jsonl.xz"), "wt") as f:
                for m in lines:
                    f.write((m if isinstance(m, str) else json.dumps(m)) + "\n")
        return subprocess.run([sys.executable, TOOL, root, *args], capture_output=True, text=True)

    def test_bins_average_the_training_lines_per_seed_and_over_seeds(self):
        # Steps 1-2 in the first bin of 2, 3-4 in the second; the eval line (no len_mean) is skipped.
        a = [{"step": 1, "len_mean": 10}, {"step": 2, "len_mean": 20}, {"step": 2, "eval": 1},
             {"step": 3, "len_mean": 30}, {"step": 4, "len_mean": 50}]
        b = [{"step": 1, "len_mean": 30}, {"step": 2, "len_mean": 30}, {"step": 3, "len_mean": 60}]
        r = self.run_tool({"seed-1": a, "seed-2": b}, "--bin", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [line.split() for line in r.stdout.splitlines()]
        self.assertEqual(rows[0], ["steps", "1-2", "3-4"])
        self.assertEqual(rows[1], ["seed-1", "15.0", "40.0"])
        self.assertEqual(rows[2], ["seed-2", "30.0", "60.0"])
        self.assertEqual(rows[3], ["mean", "22.5", "50.0"])

    def test_an_arm_without_runs_and_a_broken_line_are_named(self):
        r = self.run_tool({"seed-1": [{"step": 1, "len_mean": 1}]}, "--arm", "ppo")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no runs under", r.stderr)
        r = self.run_tool({"seed-1": [{"step": 1, "len_mean": 1}, "{not json"]})
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("seed-1 metrics line 2", r.stderr)

if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""Tests of tools/countdown_attempts.py on hand-written samples (ctest: tools.countdown_attempts)."""
import json
import lzma
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import countdown_attempts as ca  # noqa: E402

TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "countdown_attempts.py")


def sample(prompt, think, correct):
    return {"prompt": prompt, "completion": f"<think>{think}</think><answer>x</answer><eos>", "correct": correct}


class Lands(unittest.TestCase):
    def test_a_right_chain_to_the_target_lands(self):
        lines = [(2, "+", 3, 5), (5, "*", 4, 20)]
        self.assertTrue(ca.lands(lines, [2, 3, 4], 20, use_all=True))

    def test_a_wrong_line_an_unknown_operand_or_a_reused_number_does_not(self):
        self.assertFalse(ca.lands([(2, "+", 3, 6), (6, "*", 4, 24)], [2, 3, 4], 24, use_all=False))
        self.assertFalse(ca.lands([(2, "+", 7, 9)], [2, 3, 4], 9, use_all=False))
        self.assertFalse(ca.lands([(2, "+", 2, 4)], [2, 3], 4, use_all=False))
        self.assertTrue(ca.lands([(2, "+", 2, 4)], [2, 2], 4, use_all=True))  # a number given twice

    def test_use_all_numbers_asks_for_every_number(self):
        lines = [(2, "+", 3, 5)]
        self.assertTrue(ca.lands(lines, [2, 3, 4], 5, use_all=False))
        self.assertFalse(ca.lands(lines, [2, 3, 4], 5, use_all=True))

    def test_division_must_be_exact_and_an_empty_attempt_misses(self):
        self.assertTrue(ca.lands([(8, "/", 2, 4)], [8, 2], 4, use_all=True))
        self.assertFalse(ca.lands([(7, "/", 2, 3)], [7, 2], 3, use_all=True))
        self.assertFalse(ca.lands([], [4], 4, use_all=False))

    def test_a_spoiled_line_misses_even_beside_zeros(self):
        lines = [(3, "-", 3, 0), (4, "-", 4, 0), ca.SPOILED, (5, "*", 1, 5)]
        self.assertFalse(ca.lands(lines, [3, 3, 4, 4, 5, 1], 5, use_all=False))


class Chosen(unittest.TestCase):
    def test_a_right_combination_with_a_wrong_sum_is_chosen_but_does_not_land(self):
        lines = [(2, "+", 3, 6), (6, "*", 4, 24)]  # 2+3 is 5, and 5*4 is the target 20
        self.assertFalse(ca.lands(lines, [2, 3, 4], 20, use_all=True))
        self.assertTrue(ca.lands_redone(lines, [2, 3, 4], 20, use_all=True))

    def test_a_later_line_may_use_a_slipped_result_as_written_or_as_it_should_be(self):
        self.assertTrue(ca.lands_redone([(2, "+", 3, 6), (5, "*", 4, 20)], [2, 3, 4], 20, use_all=True))
        linked, redone, left = ca.replay([(2, "+", 3, 6), (9, "*", 4, 36)], [2, 3, 4])
        self.assertEqual((linked, redone, left), ([True, False], False, [5, 36]))  # 9 is nothing

    def test_a_wrong_combination_an_unknown_operand_or_a_spoiled_line_is_not(self):
        self.assertFalse(ca.lands_redone([(2, "+", 3, 5), (5, "+", 4, 20)], [2, 3, 4], 20, use_all=True))
        self.assertFalse(ca.lands_redone([(2, "+", 9, 11)], [2, 3], 11, use_all=False))
        self.assertFalse(ca.lands_redone([(2, "+", 3, 5), ca.SPOILED], [2, 3], 5, use_all=False))
        self.assertFalse(ca.lands_redone([(2, "+", 3, 6)], [2, 3, 4], 5, use_all=True))  # 4 left over


class Table(unittest.TestCase):
    def folder(self, base_samples, run_samples, use_all):
        root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, root)
        with open(os.path.join(root, "config.pbtxt"), "w") as f:
            f.write("task { countdown { use_all_numbers: %s } }\n" % ("true" if use_all else "false"))
        for sub, rows in (("base", base_samples), ("runs/grpo/seed-1", run_samples)):
            os.makedirs(os.path.join(root, sub))
            with lzma.open(os.path.join(root, sub, "samples.jsonl.xz"), "wt") as f:
                for r in rows:
                    f.write(json.dumps(r) + "\n")
        return root

    def test_scores_attempts_retries_and_worked_out_answers(self):
        rows = [
            # A direct attempt that lands; the answer is right and worked out.
            sample("2 3 4 to 20", "2+3=5\n5*4=20\n", True),
            # A miss, a check, then a retry that lands: 1 of 2 lines wrong in the first.
            sample("2 3 4 to 20", "2*3=7\n7+4=11\nwait 11 is not 20\n3+2=5\n4*5=20\n", True),
            # A right answer from the right combination, one sum wrong: chosen, not worked out.
            sample("2 3 4 to 20", "3+2=6\n6*4=24\n", True),
            # A right answer whose thinking never got there: neither worked out nor chosen.
            sample("2 3 4 to 20", "2+3=5\n6+4=10\n", True),  # 6: no number, no result
            # A check line drifted from the teacher's form still closes the attempt.
            sample("2 3 4 to 20", "2+4=6\nwait 6 6 is not 20\n3+2=5\n4*5=20\n", False),
            # A slip the thinking corrects (the teacher's reflection line) lands; the slip counts
            # as a wrong line, the correction as none.
            sample("2 3 4 to 20", "2+3=6\nwait 2+3=5\n5*4=20\n", False),
            # A correction of a line it does not follow spoils the attempt, as a stray line does.
            sample("2 3 4 to 20", "2+3=5\nwait 3+4=7\n5*4=20\n", False),
            # Wrong, with a stray line that spoils its only attempt.
            sample("2 3 4 to 20", "hmm\n2+3=5\n5*4=20\n", False),
        ]
        s = ca.score(os.path.join(self.folder(rows, rows, True), "base", "samples.jsonl.xz"), True)
        self.assertAlmostEqual(s["lines right %"], 100 * 16 / 19)
        self.assertAlmostEqual(s["lines linked %"], 100 * 18 / 19)
        self.assertAlmostEqual(s["attempts"], 10 / 8)
        self.assertAlmostEqual(s["first lands %"], 100 * 2 / 8)
        self.assertAlmostEqual(s["retry lands %"], 100.0)
        self.assertAlmostEqual(s["worked out %"], 50.0)
        self.assertAlmostEqual(s["chosen %"], 75.0)
        self.assertAlmostEqual(s["pass@1 %"], 100 * 4 / 8)

    def test_the_command_prints_base_and_seed_rows_and_reads_the_rule(self):
        rows = [sample("2 3 4 to 5", "2+3=5\n", True)]
        out = subprocess.run([sys.executable, TOOL, self.folder(rows, rows, False)], capture_output=True, text=True,
                             check=True).stdout.splitlines()
        self.assertEqual([line.split()[0] for line in out[1:]], ["base", "seed-1"])
        self.assertEqual(out[1].split()[4], "100.0")  # lands: 4 need not be used
        out = subprocess.run([sys.executable, TOOL, self.folder(rows, rows, True)], capture_output=True, text=True,
                             check=True).stdout.splitlines()
        self.assertEqual(out[1].split()[4], "0.0")

    def test_a_bad_prompt_is_named_with_its_file_and_line(self):
        root = self.folder([sample("what is 2+3", "2+3=5\n", True)], [], False)
        r = subprocess.run([sys.executable, TOOL, root], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("base/samples.jsonl.xz line 1", r.stderr)
        self.assertIn("'what is 2+3'", r.stderr)


if __name__ == "__main__":
    unittest.main()

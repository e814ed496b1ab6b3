#!/usr/bin/env python3
"""Build r1lab verifier test cases from math-verify's published test suite.

Source: the math-verify 0.9.0 sdist from PyPI (tests/*.py; Apache-2.0), unpacked:
  pip download --no-binary :all: --no-deps math-verify==0.9.0 && tar xzf math_verify-0.9.0.tar.gz
Every @pytest.mark.parametrize list of (gold, pred, expected[, ...]) is read with
ast (values evaluated as Python literals, with `math` available), plus the one
compare_strings call in test_precision.

Each side is reduced to a bare answer: a single \\boxed{...} content if there is
one, else the outer $..$ / $$..$$ / \\(..\\) / \\[..\\] stripped; short mixtures
such as "$125$ miles" or "$1$ and $2$" lose their $ signs.  Cases that test
extraction from free text, delimiter handling or a non-default config are
skipped with a reason (written to skipped.jsonl).

Outputs in OUT_DIR: cases_meta.jsonl (one line per kept case, with source and
flags), cases.jsonl (r1lab input, same order), skipped.jsonl.
Run:  python3 tools/make_math_verify_cases.py math_verify-0.9.0 OUT &&
      build/r1lab verify --task math --input OUT/cases.jsonl > OUT/out.jsonl &&
      python3 tools/make_math_verify_cases.py math_verify-0.9.0 OUT --report
tests/verify/data/math_verify_0.9.0.jsonl is cases.jsonl with each case's source
and math-verify's label, and a note on every case where r1lab's verdict differs.
"""
import ast, glob, json, math, os, re, sys
from collections import Counter, defaultdict

# usage: make_math_verify_cases.py SDIST_DIR OUT_DIR [--report]
_args = [a for a in sys.argv[1:] if not a.startswith("--")]
ROOT = _args[0] if len(_args) > 0 else "math_verify-0.9.0"
HERE = _args[1] if len(_args) > 1 else "."


# ---------------------------------------------------------------- extraction
def raw_cases():
    out = []
    for f in sorted(glob.glob(ROOT + "/tests/test_*.py")):
        src = open(f).read()
        tree = ast.parse(src)
        for fn in tree.body:
            if not isinstance(fn, ast.FunctionDef):
                continue
            call = " ".join(ast.get_source_segment(src, s) for s in fn.body)
            for dec in fn.decorator_list:
                if not (isinstance(dec, ast.Call) and ast.unparse(dec.func).endswith("parametrize")):
                    continue
                names = [n.strip() for n in ast.literal_eval(dec.args[0]).split(",")]
                vals = eval(compile(ast.Expression(dec.args[1]), f, "eval"),
                            {"math": math, "StringExtractionConfig": lambda **k: ("SEC", k)})
                for i, v in enumerate(vals):
                    d = dict(zip(names, v))
                    out.append({"file": os.path.basename(f), "test": fn.name, "idx": i, "args": d, "call": call})
    # test_all.py::test_precision, the only non-parametrized string comparison
    out.append({"file": "test_all.py", "test": "test_precision", "idx": 0,
                "args": {"gold": "$\\frac{1}{3}$", "pred": "0.3333$", "expected": 1, "precision": 4},
                "call": "compare_strings(..., precision=4) == 1"})
    return out


def boxed_all(s):
    """Contents of every \\boxed{...}/\\fbox{...} (balanced braces); None if unbalanced."""
    res = []
    for m in re.finditer(r"\\(?:boxed|fbox)\s*\{", s):
        i, depth = m.end(), 1
        while i < len(s) and depth:
            if s[i] == "{" and s[i - 1] != "\\":
                depth += 1
            elif s[i] == "}" and s[i - 1] != "\\":
                depth -= 1
            i += 1
        if depth:
            return None
        res.append((m.start(), i, s[m.end():i - 1]))
    return res


DELIMS = [(r"$$", r"$$"), (r"\[", r"\]"), (r"\(", r"\)"), (r"$", r"$")]


def strip_outer(s):
    changed = True
    while changed:
        changed = False
        t = s.strip()
        for a, b in DELIMS:
            if len(t) >= len(a) + len(b) and t.startswith(a) and t.endswith(b):
                inner = t[len(a):len(t) - len(b)]
                # "$1$ and $2$" must not become "1$ and $2"
                if a == "$" and re.search(r"(?<!\\)\$", inner):
                    continue
                s, changed = inner, True
                break
    return s.strip()


MATH_SEG = re.compile(r"\$\$(.*?)\$\$|(?<!\\)\$(.*?)(?<!\\)\$|\\\((.*?)\\\)|\\\[(.*?)\\\]", re.S)


def plain_words(s):
    """Words of 2+ letters outside LaTeX commands and \\text{...}."""
    t = re.sub(r"\\(?:text|textbf|mathrm|mbox|textnormal|operatorname)\s*\{[^{}]*\}", " ", s)
    t = re.sub(r"\\[A-Za-z]+", " ", t)
    return re.findall(r"[A-Za-z]{2,}", t)


def bare(s):
    """(bare answer, how) or (None, skip reason)."""
    if "<think>" in s or len(s) > 300:
        return None, "long free text (extraction from a solution)"
    if "\n" in s.strip() and ("Answer" in s or "\\[" in s or "$$" in s) and "\\boxed" not in s:
        return None, "delimiter/newline extraction test"
    bx = boxed_all(s)
    if bx is None:
        return None, "unbalanced \\boxed (malformed extraction test)"
    if bx:
        contents = {c.strip() for _, _, c in bx}
        if len(contents) > 1:
            return None, "several different \\boxed{} (joining/extraction test)"
        outside = s[:bx[0][0]] + " " + s[bx[-1][1]:]
        if len(plain_words(outside)) >= 3:
            return contents.pop(), "boxed-from-sentence"
        return contents.pop(), "boxed"
    t = strip_outer(s)
    segs = list(MATH_SEG.finditer(t))
    if segs:
        outside = MATH_SEG.sub(" ", t)
        if re.match(r"\s*Answer\b", t):
            return None, "delimiter extraction test ('Answer $..$')"
        if len(plain_words(outside)) >= 3 or re.search(r":\s*$", t[:segs[0].start()]):
            if len(segs) == 1:
                m = segs[0]
                return next(g for g in m.groups() if g is not None).strip(), "math-segment-from-sentence"
            return None, "several math segments inside a sentence (extraction test)"
        # short mixture: "$125$ miles", "$1$ and $2$ and $3$", "$28$ %"
        t = MATH_SEG.sub(lambda m: next(g for g in m.groups() if g is not None), t)
        return t.strip(), "mixed-delims-removed"
    if len(plain_words(t)) >= 3 and "\\begin" not in t:
        return None, "free text (extraction test)"
    return t, "stripped" if t != s.strip() else "as-is"


def build():
    kept, skipped = [], []
    seen = set()
    for r in raw_cases():
        a = r["args"]
        if "gold" not in a:
            continue  # test_string_extraction: parse() only, no pair
        gold, pred = a["gold"], a["pred"]
        exp = a.get("expected", a.get("result"))
        src = f'math-verify-0.9.0/tests/{r["file"]}::{r["test"]}[{r["idx"]}]'
        cfg = {}
        for k in ("precision", "strict", "allow_set_relation_comp"):
            if k in a:
                cfg[k] = a[k]
        key = (gold, pred, json.dumps(cfg, sort_keys=True))
        if key in seen:
            skipped.append({"src": src, "gold": gold, "pred": pred, "expected": exp, "why": "duplicate"})
            continue
        seen.add(key)
        rec = {"src": src, "gold_raw": gold, "pred_raw": pred, "expected": bool(exp), "config": cfg}
        if cfg.get("strict") is False:
            skipped.append({**rec, "why": "non-default config (strict=False)"}); continue
        if cfg.get("allow_set_relation_comp") is True:
            skipped.append({**rec, "why": "non-default config (allow_set_relation_comp=True)"}); continue
        tid = (r["test"], gold, pred)
        if tid in MANUAL_SKIP:
            skipped.append({**rec, "why": MANUAL_SKIP[tid]}); continue
        g, gh = bare(gold)
        p, ph = bare(pred)
        if g is None or p is None:
            skipped.append({**rec, "why": "gold: " + gh if g is None else "pred: " + ph}); continue
        flags = []
        if re.search(r"[\x00-\x09\x0b-\x1f]", gold + pred):
            flags.append("control-char artifact of a non-raw Python literal (\\t, \\f)")
        if re.search(r"\\\\[A-Za-z]", g + p) and "matrix" not in g + p and "array" not in g + p:
            flags.append("doubled backslashes in a raw literal, undoubled")
            g = re.sub(r"\\\\(?=[A-Za-z])", r"\\", g)
            p = re.sub(r"\\\\(?=[A-Za-z])", r"\\", p)
        if (gold, pred) in QUESTIONABLE:
            flags.append("questionable label: " + QUESTIONABLE[(gold, pred)])
        if g.strip() == p.strip():
            flags.append("identical after stripping")
        if cfg.get("precision", 6) != 6:
            flags.append(f"precision={cfg['precision']}")
        rec.update({"gold": g, "pred": p, "gold_how": gh, "pred_how": ph, "flags": flags})
        kept.append(rec)
    return kept, skipped


# Skipped by hand: free-text extraction that the word count does not catch.
MANUAL_SKIP = {
    ("test_number_extraction", "2.74", "Soucis : 2,74 $ a.."): "pred: free text (extraction test)",
    ("test_math_extraction_additional_cases", "$34$", "Final Answer: The largest $n$ is 34."): "pred: free text (extraction test; the answer is outside the math)",
}

# Labels that encode a math-verify policy or a test-literal artifact rather
# than mathematical equality; reported separately.
QUESTIONABLE = {
    ("$x = 11$", "$x = 5+5+1 = 7 =11$"): "chain with a false step; math-verify keeps the last '=' side",
    ("$x = 1/3$", "$x = 5+5+1 = 1/3 \\approx 11$"): "chain with a false step and a false \\approx; math-verify keeps the last '=' side",
    ("$1 = \\zzz = x = 0$", "$0$"): "chain 1 = ... = 0 is false; math-verify keeps the last side",
    ("$z = 1 + 1 = 2$", "$z = 3+3 = 2$"): "3+3 = 2 is false; math-verify keeps the last side",
    ("$1/3$", "$x=1/3\\approx1.3$"): "false \\approx ignored by math-verify",
    ("$1 - \\frac{1}{\\mathrm{e}}$", "$1 + \\frac{1}{\\mathrm{e}}$"): "1-1/e vs 1+1/e labelled equal (mathematically unequal)",
    ("$x \\in [-2,7]$", "$-2 \\\\le x \\\\le 7$"): "mathematically equal; 0 only by math-verify's gold-set/pred-relation asymmetry (default allow_set_relation_comp=False)",
    ("$\text{13}$", "$13$"): "gold is TAB+'ext{13}' (non-raw Python literal), label 0 is about that artifact",
    ("$(1,3)$", "${1,3}$"): "tuple (1,3) vs set {1,3} labelled equal (math-verify policy)",
}


# ---------------------------------------------------------------- classes
def klass(c):
    g, p = c["gold"], c["pred"]
    s = g + " " + p
    if all(re.fullmatch(r"[\s\d.,\-+$€]*", x.replace("\\!", "")) for x in (g, p)) and re.search(r"\d", s):
        return "number format (separators, decimal comma)"
    if "matrix" in s or "array" in s: return "matrix"
    if re.search(r"\\%|%|percent|pct", s): return "percent"
    if "circ" in s: return "degrees"
    if re.search(r"\\cup|\\in\b|\\infty|^\s*[\[(].*[\])]\s*$", g) and not re.search(r"\(\s*\d+\s*,\s*\d+\s*\)\s*,", g) and re.search(r"[\[\]]|\\infty|\\cup", s): return "interval/set"
    if re.search(r"<|>|\\le|\\ge|\\lt|\\gt|\\neq|!=", s): return "inequality/relation"
    if re.search(r"\\text|textbf|mbox|textnormal|\b(odd|even|Even|yuan|miles|cm|meters|hexagon)\b", s): return "text/units"
    if re.search(r"\\\{|\{\s*-?\d+\s*,", s): return "set"
    if re.search(r"\(\s*-?[\w\\{}]+\s*[,;]", s): return "tuple/tuples"
    if re.search(r"=", s): return "equation/labelled"
    if re.search(r"\bor\b|\band\b|;|,", re.sub(r"(?<=\d),(?=\d{3}\b)", "", s)): return "list"
    if re.search(r"[a-zA-Z]\(|\\sin|\\cos|\\tan|\\sec|\\Gamma|\\sum", s): return "function/expression"
    if re.search(r"\\frac|/|\\sqrt|\\pi|\\mathrm\{e\}", s): return "fraction/radical/constant"
    if re.fullmatch(r"[\s\d.,\-+$€²m]+", g + p) or re.search(r"\d", s): return "number format"
    return "other"


def report():
    meta = [json.loads(l) for l in open(HERE + "/cases_meta.jsonl")]
    outs = [json.loads(l) for l in open(HERE + "/out.jsonl")]
    assert len(meta) == len(outs), (len(meta), len(outs))
    tot = Counter()
    fe, miss = [], defaultdict(list)
    per = defaultdict(Counter)
    errs = []
    for c, o in zip(meta, outs):
        if "correct" not in o:
            errs.append((c, o)); continue
        got = bool(o["correct"])
        why = o.get("why", "")
        k = klass(c)
        per[k]["n"] += 1
        per[k]["agree"] += got == c["expected"]
        tot["n"] += 1
        tot["agree"] += got == c["expected"]
        if c["expected"]:
            tot["pos"] += 1; tot["tp"] += got
            if not got:
                miss[k].append((c, why))
                tot["miss_unverif" if why.startswith("unverifiable") else "miss_ne"] += 1
                per[k]["miss_unverif" if why.startswith("unverifiable") else "miss_ne"] += 1
        else:
            tot["neg"] += 1; tot["tn"] += not got
            if got:
                fe.append((c, why))
    print("overall", dict(tot))
    # agreement without questionable labels / non-default precision
    sub = Counter()
    for c, o in zip(meta, outs):
        if any(f.startswith("questionable") or f.startswith("precision") for f in c["flags"]):
            continue
        got = bool(o.get("correct"))
        sub["n"] += 1; sub["agree"] += got == c["expected"]
        if c["expected"]: sub["pos"] += 1; sub["tp"] += got
        else: sub["neg"] += 1; sub["tn"] += not got
        if "identical after stripping" not in c["flags"]:
            sub["n_nontrivial"] += 1; sub["agree_nontrivial"] += got == c["expected"]
    print("without questionable labels and precision!=6:", dict(sub))
    print("how preds were reduced:", Counter(c["pred_how"] for c in meta), "golds:", Counter(c["gold_how"] for c in meta))
    print("by test:")
    bt = defaultdict(Counter)
    for c, o in zip(meta, outs):
        t = c["src"].split("::")[1].split("[")[0]
        bt[t]["n"] += 1; bt[t]["agree"] += bool(o.get("correct")) == c["expected"]
    for t, v in sorted(bt.items()):
        print(f"  {t:40s} {v['agree']}/{v['n']}")
    print(f"agreement {tot['agree']}/{tot['n']}  recall {tot['tp']}/{tot['pos']}  true-neg {tot['tn']}/{tot['neg']}  errors {len(errs)}")
    for k, v in sorted(per.items()):
        print(f"  {k:44s} agree {v['agree']}/{v['n']}  misses: unverifiable {v['miss_unverif']}, not-equal {v['miss_ne']}")
    print("\nFALSE EQUAL:")
    for c, why in fe:
        print(json.dumps({"gold": c["gold"], "pred": c["pred"], "src": c["src"], "why": why, "flags": c["flags"]}, ensure_ascii=False))
    print("\nMISSES:")
    for k, lst in sorted(miss.items()):
        print(f"== {k} ({len(lst)})")
        for c, why in lst:
            print("   ", json.dumps({"gold": c["gold"], "pred": c["pred"], "why": why[:120] or "not equal", "flags": c["flags"], "src": c["src"].split("tests/")[1]}, ensure_ascii=False))
    for c, o in errs:
        print("ERROR", c["src"], o)


if __name__ == "__main__":
    if "--report" in sys.argv:
        report(); sys.exit()
    kept, skipped = build()
    with open(HERE + "/cases_meta.jsonl", "w") as fm, open(HERE + "/cases.jsonl", "w") as fc:
        for c in kept:
            fm.write(json.dumps(c, ensure_ascii=False) + "\n")
            fc.write(json.dumps({"gold": c["gold"], "completion": "<answer>" + c["pred"] + "</answer>"}, ensure_ascii=False) + "\n")
    with open(HERE + "/skipped.jsonl", "w") as fs:
        for s in skipped:
            fs.write(json.dumps(s, ensure_ascii=False) + "\n")
    print("kept", len(kept), "skipped", len(skipped))
    print(Counter(s["why"] for s in skipped))

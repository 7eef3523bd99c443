"""мат: otklik's ProfanityDetector side by side with `check-swear` (PyPI) on the same posts.

    python bench/bench_profanity_vs_check_swear.py [--check-swear-python /tmp/cs_venv/bin/python]
                                                   [--nltk-data /tmp/nltk_data] [--russe N]

check-swear pins scikit-learn 1.4 and reads NLTK's Russian stop words at run time, so it lives in
its own venv and runs in a subprocess here (NLTK_DATA must hold corpora/stopwords/russian; it is
never downloaded). Posts: data/eval/exclusions_profanity.jsonl (positives) and
data/eval/exclusions_hard_negatives.jsonl (negatives); with --russe N, also N neutral rewrites of
RUSSE-2022 detox as extra negatives (a few of them still hold мат: see training.evaluate_exclusions).
Prints precision, recall, F1 and posts per second (one core, model load excluded) for both.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from model.paths import DATA_DIR, SHARED_DATA_DIR  # noqa: E402
from model.profanity import ProfanityDetector  # noqa: E402
from model.text import normalize  # noqa: E402

# runs inside the check-swear venv: reads a JSON list of texts on stdin, prints predictions + seconds
_CHILD = r"""
import json, sys, time
from check_swear import SwearingCheck
texts = json.load(sys.stdin)
check = SwearingCheck()
check.predict(["прогрев"])
started = time.perf_counter()
preds = [int(p) for p in check.predict(texts)]
print(json.dumps({"preds": preds, "seconds": time.perf_counter() - started}))
"""


def load(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def russe_neutral(n: int) -> list[str]:
    out = []
    with open(SHARED_DATA_DIR / "toxicity/russe_detox_2022/train.tsv", encoding="utf-8") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        for row in reader:
            if len(row) > 2 and row[2].strip():
                out.append(row[2])
            if len(out) >= n:
                break
    return out


def scores(preds: list[int], gold: list[int]) -> dict[str, float]:
    tp = sum(1 for p, g in zip(preds, gold) if p and g)
    fp = sum(1 for p, g in zip(preds, gold) if p and not g)
    fn = sum(1 for p, g in zip(preds, gold) if not p and g)
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"precision": prec, "recall": rec, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def run_otklik(texts: list[str]) -> tuple[list[int], float]:
    detector = ProfanityDetector.from_data(DATA_DIR)
    started = time.perf_counter()
    # normalization is part of the cost: the detector needs it for original-text spans
    preds = [int(bool(detector.find(normalize(t)))) for t in texts]
    return preds, time.perf_counter() - started


def run_check_swear(python: str, nltk_data: str, texts: list[str]) -> tuple[list[int], float]:
    env = dict(os.environ, NLTK_DATA=nltk_data, OMP_NUM_THREADS="1")
    proc = subprocess.run([python, "-c", _CHILD], input=json.dumps(texts), capture_output=True, text=True,
                          env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"check-swear failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return out["preds"], out["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check-swear-python", default="/tmp/cs_venv/bin/python")
    parser.add_argument("--nltk-data", default="/tmp/nltk_data")
    parser.add_argument("--russe", type=int, default=0, help="add N RUSSE neutral rewrites as negatives")
    args = parser.parse_args()

    pos = load(DATA_DIR / "eval" / "exclusions_profanity.jsonl")
    neg = load(DATA_DIR / "eval" / "exclusions_hard_negatives.jsonl")
    sets = {"eval (мат + hard negatives)": ([r["text"] for r in pos] + [r["text"] for r in neg],
                                            [1] * len(pos) + [0] * len(neg))}
    if args.russe:
        neutral = russe_neutral(args.russe)
        sets[f"RUSSE neutral rewrites ({len(neutral)}, negatives)"] = (neutral, [0] * len(neutral))

    print(f"{'set':<40} {'system':<12} {'P':>6} {'R':>6} {'F1':>6} {'fp':>4} {'fn':>4} {'posts/s':>9}")
    for name, (texts, gold) in sets.items():
        for system, (preds, seconds) in (
            ("otklik", run_otklik(texts)),
            ("check-swear", run_check_swear(args.check_swear_python, args.nltk_data, texts)),
        ):
            m = scores(preds, gold)
            rate = len(texts) / seconds if seconds else float("inf")
            if any(gold):
                prf = f"{m['precision']:>6.3f} {m['recall']:>6.3f} {m['f1']:>6.3f}"
            else:  # negatives only: the false positives are the number
                prf = f"{'-':>6} {'-':>6} {'-':>6}"
            print(f"{name:<40} {system:<12} {prf} {m['fp']:>4} {m['fn']:>4} {rate:>9.0f}")


if __name__ == "__main__":
    main()

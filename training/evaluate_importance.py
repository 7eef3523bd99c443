"""Evaluate the importance component and print precision / recall / F1 per class.

Run:  OMP_NUM_THREADS=1 .venv/bin/python -m training.evaluate_importance [--errors] [--dev-only]

Trains the text model as training/importance.py does (the hand-written examples, plus the
labelled real Kursk development sample when the shared data is present; seed 13), then scores:
- data/eval/importance.jsonl — development set (325 hand-written posts);
- data/eval/importance_holdout.jsonl — 133 hand-written posts written after the rules were fixed;
- data/eval/importance_kursk_test_labels.jsonl — 120 real Kursk appeals (round-2 test, now dev);
- data/eval/importance_kursk_final_labels.jsonl — 120 more real Kursk appeals (final test).
See training/importance.py for which set was used for what. --errors prints the misclassified posts.
"""
from __future__ import annotations

import argparse
import json
from typing import Any

from model.importance import ImportanceModel, ImportanceTagger
from model.paths import DATA_DIR, SHARED_DATA_DIR
from model.text import lower_yo

from .importance import (EVAL_FILE, HOLDOUT_FILE, KURSK_FINAL_LABELS, KURSK_TEST_LABELS, engagement_of,
                         evaluate_rows, fit_model, read_kursk, read_rows)


def main() -> None:
    parser = argparse.ArgumentParser(description="Evaluate the importance component.")
    parser.add_argument("--errors", action="store_true", help="print the misclassified posts")
    parser.add_argument("--dev-only", action="store_true", help="only the development set")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    shared = SHARED_DATA_DIR if (SHARED_DATA_DIR / "appeals").exists() else None
    model, rows = fit_model(shared, args.seed)
    sets = [("development", EVAL_FILE.name, read_rows(EVAL_FILE))]
    if not args.dev_only:
        sets.append(("holdout", HOLDOUT_FILE.name, read_rows(HOLDOUT_FILE)))
        if shared is not None:
            sets.append(("real Kursk (round-2 test, now dev)", KURSK_TEST_LABELS.name,
                         read_kursk(shared, KURSK_TEST_LABELS)))
            sets.append(("real Kursk (final test)", KURSK_FINAL_LABELS.name, read_kursk(shared, KURSK_FINAL_LABELS)))
    for label, name, eval_rows in sets:
        result = evaluate_rows(model, eval_rows)
        print(f"importance {label}: {name}: {result['size']} posts, {result['high_share']:.1%} high; "
              f"trained on {len(rows)} examples")
        for system in ("combined", "rules_only", "model_only"):
            m = result[system]
            print(f"  {system:10s}  high: P={m['high']['precision']:.3f} R={m['high']['recall']:.3f} "
                  f"F1={m['high']['f1']:.3f}   normal: P={m['normal']['precision']:.3f} "
                  f"R={m['normal']['recall']:.3f} F1={m['normal']['f1']:.3f}")
        if args.errors:
            print_errors(model, eval_rows)


def print_errors(model: ImportanceModel, eval_rows: list[dict[str, Any]]) -> None:
    tagger = ImportanceTagger.from_data(DATA_DIR, model=model)
    probs = model.proba_high([r["text"] for r in eval_rows]).tolist()
    for row, p in zip(eval_rows, probs):
        ev = tagger.evidence(lower_yo(row["text"]), p, engagement=engagement_of(row))
        got = "high" if ev.score >= tagger.lexicon.threshold else "normal"
        if got != row["level"]:
            print(json.dumps({"id": row.get("id"), "gold": row["level"], "score": round(ev.score, 2),
                              "model": round(p, 2), "rules": ev.rule_ids, "text": row["text"][:160]},
                             ensure_ascii=False))


if __name__ == "__main__":
    main()

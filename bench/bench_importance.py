"""Importance throughput: posts per second through ImportanceTagger (rules + text model).

Run: OMP_NUM_THREADS=1 .venv/bin/python bench/bench_importance.py
Uses the evaluation posts (repeated) as input, normalized beforehand (normalization is the
pipeline's, not this component's); the model is trained on the hand-written examples first.
"""
from __future__ import annotations

import time

from model.doc import Doc
from model.importance import ImportanceModel, ImportanceTagger
from model.records import Post
from training.importance import EVAL_FILE, HOLDOUT_FILE, TRAIN_FILE, read_rows


def main(repeat: int = 10, batch: int = 256) -> None:
    rows = read_rows(TRAIN_FILE)
    model = ImportanceModel().fit([r["text"] for r in rows], [r["level"] for r in rows])
    texts = [r["text"] for r in read_rows(EVAL_FILE) + read_rows(HOLDOUT_FILE)] * repeat
    docs = [Doc.from_post(Post(id=str(i), text=t), "omsk") for i, t in enumerate(texts)]
    for name, tagger in (("rules only", ImportanceTagger.from_data()),
                         ("rules + model", ImportanceTagger.from_data(model=model))):
        tagger(docs[:batch])
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            for k in range(0, len(docs), batch):
                tagger(docs[k:k + batch])
            best = min(best, time.perf_counter() - t0)
        print(f"importance ({name}): {len(docs)} posts, batch {batch}: {len(docs) / best:,.0f} posts/s "
              f"({best / len(docs) * 1e6:.0f} µs/post, best of 3)")


if __name__ == "__main__":
    main()

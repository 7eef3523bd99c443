"""Benchmark the location component on real posts (SPb portal + Kursk ЦУР texts).

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_location.py [--n-spb 20000] [--ner]

Prints posts/second of `LocationTagger` (text already normalized, as in the pipeline), first pass
(cold caches) and second pass (warm), the time to build the tagger, and memory (process RSS
before/after building the tagger).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402
import psutil  # noqa: E402

from model.artifact import load_artifact  # noqa: E402
from model.doc import Doc  # noqa: E402
from model.location import LocationTagger  # noqa: E402
from model.paths import DATA_DIR, DEFAULT_ARTIFACT, SHARED_DATA_DIR  # noqa: E402
from model.records import Post  # noqa: E402


def rss_mb() -> float:
    return psutil.Process(os.getpid()).memory_info().rss / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-spb", type=int, default=20000)
    ap.add_argument("--ner", action="store_true", help="enable the NER fallback")
    args = ap.parse_args()

    spb = pd.read_csv(SHARED_DATA_DIR / "appeals/spb_nash_spb/spb_appeals_2020_10_to_2021_03.csv.gz", usecols=["text"])
    spb = spb["text"].dropna().sample(min(args.n_spb, len(spb)), random_state=13).tolist()
    kursk = pd.read_csv(SHARED_DATA_DIR / "appeals/kursk_cur_2022/train_dataset_train.csv")["Текст Сообщения"].dropna().tolist()
    posts = [("spb", t) for t in spb] + [("kursk", t) for t in kursk]

    t0 = time.perf_counter()
    docs = [Doc.from_post(Post(id=str(i), text=t), region) for i, (region, t) in enumerate(posts)]
    t_norm = time.perf_counter() - t0

    rss0 = rss_mb()
    t0 = time.perf_counter()
    geo = load_artifact(DEFAULT_ARTIFACT).get("geo") if (DEFAULT_ARTIFACT / "meta.json").is_file() else None
    tagger = LocationTagger.from_data(DATA_DIR, geo, use_ner=args.ner)
    t_load = time.perf_counter() - t0
    rss1 = rss_mb()

    for label in ("cold", "warm"):
        t0 = time.perf_counter()
        for k in range(0, len(docs), 256):
            tagger(docs[k : k + 256])
        dt = time.perf_counter() - t0
        print(f"location {label}: {len(docs)} posts ({len(spb)} SPb + {len(kursk)} Kursk) in {dt:.2f} s = {len(docs) / dt:.0f} posts/s")
    found = sum(d.location is not None for d in docs)
    print(f"posts with a location: {found} ({found / len(docs):.1%})")
    print(f"normalize (not part of the component): {len(docs) / t_norm:.0f} posts/s")
    print(f"build tagger (gazetteers + SPb street index): {t_load:.2f} s")
    print(f"memory: RSS {rss0:.0f} MB with the posts loaded → {rss1:.0f} MB with the tagger (+{rss1 - rss0:.0f} MB), {rss_mb():.0f} MB at the end")


if __name__ == "__main__":
    main()

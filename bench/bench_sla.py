"""SLA throughput: posts per second through SlaTagger (all seven profiles, both levels).

Run: OMP_NUM_THREADS=1 .venv/bin/python bench/bench_sla.py [N]
Detection times are spread uniformly over 2024–2026 (nights, weekends, holidays included), so
the number includes the timeline lookups, not a cache of identical inputs. Reports the best of
3 runs, by wall clock and by process CPU time (the machine is shared).
"""
from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timedelta, timezone

from model.doc import Doc
from model.profiles import Profiles
from model.records import Importance, Post
from model.sla import SlaTagger
from model.text import normalize


def make_docs(n: int, ids: list[str], seed: int = 13) -> list[Doc]:
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    text = normalize("x")
    docs = []
    for i in range(n):
        detected = start + timedelta(seconds=rng.randrange(3 * 365 * 86400))
        level = "high" if rng.random() < 0.35 else "normal"
        docs.append(Doc(post=Post(id=str(i), text="x", detected_at=detected), text=text,
                        region=rng.choice(ids), importance=Importance(level, 0.5)))
    return docs


def main(n: int = 100_000, batch: int = 500) -> None:
    profiles = Profiles.load()
    tagger = SlaTagger(profiles)
    docs = make_docs(n, profiles.ids())
    tagger(docs[:1000])  # warm up: engines and timelines are built once per profile
    best_wall = best_cpu = float("inf")
    for _ in range(3):
        w0, c0 = time.perf_counter(), time.process_time()
        for k in range(0, n, batch):
            tagger(docs[k:k + batch])
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    print(f"sla: {n} posts, batch {batch}, 7 profiles, 35 % high: "
          f"{n / best_wall:,.0f} posts/s wall, {n / best_cpu:,.0f} posts/s CPU (best of 3); "
          f"{best_wall / n * 1e6:.1f} µs/post")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)

"""Where a post's time goes once the history mirror is capped: the pipeline in process, no HTTP.

    OMP_NUM_THREADS=1 .venv/bin/python bench/probe_history.py [--history 30000] [--mirror-posts 20000] [--posts 8000]

Fills a new SQLite history with --history real posts published evenly over the last 72 hours
(batches of 200, as bench_service.py --history does through the batch endpoint), reopens it with the
service's settings (write-behind, mirror read in the background, capped at --mirror-posts), then
tags --posts other real posts one at a time as "now" (history writes after each answer, saved 16 at
a time, as the service does between requests). Prints ms a post per pipeline step and per history
store call (with call counts). A diagnostic, not part of run_all.py.
"""
from __future__ import annotations

import argparse
import functools
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import natasha  # noqa: F401 - before pymorphy2 (see README)
from posts import real_posts

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.pipeline import Pipeline, PipelineOptions  # noqa: E402
from model.records import Post  # noqa: E402
from service.schemas import post_from_mapping  # noqa: E402
from storage import SqlHistoryStore, open_store  # noqa: E402

STORE_CALLS = ("by_authors", "_sql_by_authors", "similar", "_sql_similar", "at_places", "_sql_at_places",
               "incident_sizes", "get_many", "save", "_trim_mirror")


def as_post(d: dict, at: datetime) -> Post:
    """The post as the service would take it, published at `at`."""
    return post_from_mapping({**d, "created_at": at.isoformat()})


def timed_store_calls() -> tuple[dict[str, float], Counter]:
    spent: dict[str, float] = defaultdict(float)
    calls: Counter = Counter()
    for name in STORE_CALLS:
        method = getattr(SqlHistoryStore, name)

        def wrapper(*args, _method=method, _name=name, **kwargs):
            started = time.perf_counter()
            try:
                return _method(*args, **kwargs)
            finally:
                spent[_name] += time.perf_counter() - started
                calls[_name] += 1

        setattr(SqlHistoryStore, name, functools.wraps(method)(wrapper))
    return spent, calls


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--history", type=int, default=30000)
    ap.add_argument("--mirror-posts", type=int, default=20000)
    ap.add_argument("--posts", type=int, default=8000)
    args = ap.parse_args()
    every = real_posts()
    load = every[:20000]
    random.Random(1).shuffle(load)
    earlier = every[20000:20000 + args.history]
    random.Random(2).shuffle(earlier)
    spent, calls = timed_store_calls()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "history.db"
        store = open_store(db, write_behind=True, mirror_max_posts=args.mirror_posts)
        pipeline = Pipeline.load(PipelineOptions(history=store))
        now = datetime.now(timezone.utc)
        step = timedelta(hours=72) / max(1, len(earlier))
        started = time.perf_counter()
        for i in range(0, len(earlier), 200):
            pipeline.tag([as_post(p, now - timedelta(hours=72) + (i + k) * step)
                          for k, p in enumerate(earlier[i:i + 200])])
            store.save()
        print(f"history of {len(earlier)} posts filled in {time.perf_counter() - started:.1f} s")
        store.close()
        store = open_store(db, write_behind=True, mirror_in_background=True, hold_mirror=True,
                           mirror_max_posts=args.mirror_posts)
        pipeline = Pipeline.load(PipelineOptions(history=store))
        store.start_mirror()
        store.wait_for_mirror()
        pipeline.defer_writes(True)
        steps: dict[str, float] = defaultdict(float)
        pipeline.timer = lambda name, seconds, n: steps.__setitem__(name, steps[name] + seconds)
        warm = min(500, args.posts // 4)
        total = 0.0
        for k in range(args.posts):
            if k == warm:
                steps.clear()
                spent.clear()
                calls.clear()
                total = 0.0
            post = as_post(load[k], datetime.now(timezone.utc))
            t0 = time.perf_counter()
            pipeline.tag([post])
            pipeline.flush()
            if store.unsaved >= 16:
                store.save(16)
            total += time.perf_counter() - t0
        n = args.posts - warm
        store.close()
    print(f"{n} posts after {warm} of warm-up: {total / n * 1000:.2f} ms a post (tagging, history writes and saves)")
    print("pipeline steps, ms a post:", {k: round(v / n * 1000, 3) for k, v in steps.items()})
    print("history store calls, ms a post (calls):",
          {k: (round(v / n * 1000, 3), calls[k]) for k, v in sorted(spent.items())})


if __name__ == "__main__":
    main()

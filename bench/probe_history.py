"""Where a post's time goes once the history mirror is capped: the pipeline in process, no HTTP.

    OMP_NUM_THREADS=1 .venv/bin/python bench/probe_history.py [--history 30000] [--mirror-posts 20000] [--posts 8000]
        [--older-posts N] [--author-rows N] [--no-checkpointer] [--report-every N]
        [--compare-read-cache | --compare {read-cache,memory-tiers,checkpointer,plain-sql}]

Fills a new SQLite history with --history real posts published evenly over the last 72 hours
(batches of 200, as bench_service.py --history does through the batch endpoint), reopens it with the
service's settings (write-behind, mirror read in the background, capped at --mirror-posts; below it
the window's incident keys, --older-posts, and authors' light rows, --author-rows; the log
checkpointed by a thread every second unless --no-checkpointer), then
tags --posts other real posts one at a time as "now" (history writes after each answer, saved 16 at
a time, as the service does between requests). Prints ms a post per pipeline step and per history
store call (with call counts), and the spread of a post's time and of the two pauses of the tagging
thread, saves and trims of the mirror. With --compare NAME, instead: the same state in two variants (a copy
of the database each) fed the same posts in alternating chunks of 250, so the VM's drift hits both
alike; prints ms a post of each. read-cache (also --compare-read-cache): with and without the cache
of entries read from SQL; memory-tiers: with and without the window's incident keys and the authors'
light rows below the mirror; checkpointer: the SQLite log checkpointed by a thread or by the
writer; plain-sql: the look-ups by key and the saves as plain SQL on SQLite (storage/sqlite.py) or as SQLAlchemy
statements. A diagnostic, not part of run_all.py.
"""
from __future__ import annotations

import argparse
import functools
import random
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import natasha  # noqa: F401 - before pymorphy2 (see README)
import numpy as np
import psutil
from posts import real_posts

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.pipeline import Pipeline, PipelineOptions  # noqa: E402
from model.records import Post  # noqa: E402
from service.schemas import post_from_mapping  # noqa: E402
from storage import SqlHistoryStore, open_store  # noqa: E402
from storage.checkpoint import Checkpointer  # noqa: E402

STORE_CALLS = ("by_authors", "_sql_by_authors", "_read_author_rows", "similar", "_sql_similar", "at_places", "_sql_at_places",
               "incident_sizes", "get_many", "save", "_trim_mirror")


def as_post(d: dict, at: datetime) -> Post:
    """The post as the service would take it, published at `at`."""
    return post_from_mapping({**d, "created_at": at.isoformat()})


# the calls whose single durations matter: the pauses of the tagging thread behind the p99
PAUSES = ("save", "_trim_mirror")


def timed_store_calls() -> tuple[dict[str, float], Counter, dict[str, list[float]]]:
    spent: dict[str, float] = defaultdict(float)
    calls: Counter = Counter()
    durations: dict[str, list[float]] = defaultdict(list)
    for name in STORE_CALLS:
        method = getattr(SqlHistoryStore, name)

        def wrapper(*args, _method=method, _name=name, **kwargs):
            started = time.perf_counter()
            try:
                return _method(*args, **kwargs)
            finally:
                took = time.perf_counter() - started
                spent[_name] += took
                calls[_name] += 1
                if _name in PAUSES:
                    durations[_name].append(took)

        setattr(SqlHistoryStore, name, functools.wraps(method)(wrapper))
    return spent, calls, durations


def spread(seconds: list[float]) -> str:
    """p50 / p90 / p99 / p99.9 / max in ms."""
    if not seconds:
        return "none"
    ms = np.asarray(seconds) * 1000
    p = np.percentile(ms, [50, 90, 99, 99.9])
    return f"p50 {p[0]:.2f} · p90 {p[1]:.2f} · p99 {p[2]:.2f} · p99.9 {p[3]:.2f} · max {ms.max():.1f} ms (n={len(ms)})"


def fill(db: Path, posts: list[dict], mirror_posts: int) -> None:
    """A history of `posts` published evenly over the last 72 hours, in batches of 200."""
    store = open_store(db, write_behind=True, mirror_max_posts=mirror_posts)
    pipeline = Pipeline.load(PipelineOptions(history=store))
    now = datetime.now(timezone.utc)
    step = timedelta(hours=72) / max(1, len(posts))
    started = time.perf_counter()
    for i in range(0, len(posts), 200):
        pipeline.tag([as_post(p, now - timedelta(hours=72) + (i + k) * step) for k, p in enumerate(posts[i:i + 200])])
        store.save()
    store.close()
    print(f"history of {len(posts)} posts filled in {time.perf_counter() - started:.1f} s")


def reopen(db: Path, mirror_posts: int, read_cache: bool = True, **bounds) -> tuple[SqlHistoryStore, Pipeline]:
    """The store as the service opens it (mirror read in the background), and a pipeline on it;
    `bounds`: older_max_posts, author_rows_max, plain_sql (else the store's defaults)."""
    store = open_store(db, write_behind=True, mirror_in_background=True, hold_mirror=True,
                       mirror_max_posts=mirror_posts, **{k: v for k, v in bounds.items() if v is not None})
    pipeline = Pipeline.load(PipelineOptions(history=store))
    if not read_cache:
        store._read_cache = None
    store.start_mirror()
    store.wait_for_mirror()
    pipeline.defer_writes(True)
    return store, pipeline


def tag_one(store: SqlHistoryStore, pipeline: Pipeline, post: Post) -> float:
    """Seconds to tag one post and write its history, as the service does between requests."""
    started = time.perf_counter()
    pipeline.tag([post])
    pipeline.flush()
    if store.unsaved >= 16:
        store.save(16)
    return time.perf_counter() - started


COMPARISONS = {
    # name: {variant: (reopen's keyword arguments, checkpointer on)}
    "read-cache": {"with read cache": ({}, True), "without": ({"read_cache": False}, True)},
    "memory-tiers": {"with the keys and rows below the mirror": ({}, True),
                     "without": ({"older_max_posts": 0, "author_rows_max": 0}, True)},
    "checkpointer": {"log checkpointed by a thread": ({}, True), "by the writer": ({}, False)},
    "plain-sql": {"look-ups by key and saves as plain SQL": ({}, True), "as SQLAlchemy statements": ({"plain_sql": False}, True)},
}


def compare(db: Path, load: list[dict], n_posts: int, mirror_posts: int, variants: dict, chunk: int = 250) -> None:
    """The same state twice (a copy of the database per variant), fed the same posts in alternating
    chunks, so that the VM's drift hits both alike; prints ms a post of each."""
    runs = {}
    for k, (name, (options, checkpoint)) in enumerate(variants.items()):
        path = db.with_name(f"variant{k}.db")
        shutil.copy(db, path)
        store, pipeline = reopen(path, mirror_posts, **options)
        runs[name] = (store, pipeline, Checkpointer(str(path)).start() if checkpoint else None)
    spent = dict.fromkeys(runs, 0.0)
    start = datetime.now(timezone.utc)
    for c in range(0, n_posts, chunk):
        order = list(runs) if (c // chunk) % 2 == 0 else list(reversed(runs))
        for name in order:
            store, pipeline, _ = runs[name]
            # the same post times in both: 100 posts/s from the start
            took = sum(tag_one(store, pipeline, as_post(load[k], start + timedelta(seconds=k / 100)))
                       for k in range(c, min(c + chunk, n_posts)))
            if c >= 2 * chunk:  # warm-up
                spent[name] += took
    n = max(1, n_posts - 2 * chunk)
    print({name: f"{s / n * 1000:.2f} ms a post" for name, s in spent.items()}, f"over {n} posts")
    for store, _, checkpointer in runs.values():
        store.close()
        if checkpointer is not None:
            checkpointer.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--history", type=int, default=30000)
    ap.add_argument("--mirror-posts", type=int, default=20000)
    ap.add_argument("--posts", type=int, default=8000)
    ap.add_argument("--report-every", type=int, default=0,
                    help="print ms a post of every N posts as it goes, with the RSS and what the store holds")
    ap.add_argument("--no-checkpointer", action="store_true", help="OTKLIK_SQLITE_CHECKPOINT_SECONDS=0")
    ap.add_argument("--older-posts", type=int, default=None, help="OTKLIK_HISTORY_OLDER_POSTS (default: the store's)")
    ap.add_argument("--author-rows", type=int, default=None, help="OTKLIK_HISTORY_AUTHOR_ROWS (default: the store's)")
    ap.add_argument("--compare-read-cache", action="store_true",
                    help="the same state with and without the cache of rows read from SQL, alternating")
    ap.add_argument("--compare", choices=sorted(COMPARISONS),
                    help="the same state in two variants, alternating: read-cache, memory-tiers (the incident "
                         "keys and author rows below the mirror), checkpointer, plain-sql (look-ups by key and saves as "
                         "plain SQL or SQLAlchemy statements)")
    args = ap.parse_args()
    every = real_posts()
    load = every[:20000]
    random.Random(1).shuffle(load)
    earlier = every[20000:20000 + args.history]
    random.Random(2).shuffle(earlier)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "history.db"
        fill(db, earlier, args.mirror_posts)
        if args.compare_read_cache or args.compare:
            compare(db, load, args.posts, args.mirror_posts, COMPARISONS[args.compare or "read-cache"])
            return
        spent, calls, durations = timed_store_calls()
        per_post: list[float] = []
        store, pipeline = reopen(db, args.mirror_posts, older_max_posts=args.older_posts,
                                 author_rows_max=args.author_rows)
        checkpointer = None if args.no_checkpointer else Checkpointer(str(db)).start()
        steps: dict[str, float] = defaultdict(float)
        pipeline.timer = lambda name, seconds, n: steps.__setitem__(name, steps[name] + seconds)
        warm = min(500, args.posts // 4)
        total = chunk = 0.0
        for k in range(args.posts):
            if k == warm:
                steps.clear()
                spent.clear()
                calls.clear()
                durations.clear()
                total = 0.0
            post = load[k % len(load)]
            if k >= len(load):  # another pass over the posts: new ids, as new posts of the same authors
                post = {**post, "id": f"{post['id']}~{k // len(load)}"}
            took = tag_one(store, pipeline, as_post(post, datetime.now(timezone.utc)))
            total += took
            chunk += took
            if k >= warm:
                per_post.append(took)
            if args.report_every and (k + 1) % args.report_every == 0:
                print(f"posts {k + 1 - args.report_every}–{k + 1}: {chunk / args.report_every * 1000:.2f} ms a post, "
                      f"RSS {psutil.Process().memory_info().rss / 2**20:.0f} MB; held: mirror {len(store._mirror)}, "
                      f"incident keys {len(store._older)}, author rows {len(store._author_rows)}", flush=True)
                chunk = 0.0
        n = args.posts - warm
        held = f"mirror {len(store._mirror)}, older keys {len(store._older)}, author rows {len(store._author_rows)}"
        store.close()
        if checkpointer is not None:
            checkpointer.close()
    print(f"{n} posts after {warm} of warm-up: {total / n * 1000:.2f} ms a post (tagging, history writes and saves)")
    print("held at the end:", held)
    print("pipeline steps, ms a post:", {k: round(v / n * 1000, 3) for k, v in steps.items()})
    print("history store calls, ms a post (calls):",
          {k: (round(v / n * 1000, 3), calls[k]) for k, v in sorted(spent.items())})
    # the tail: a post's own time, and the pauses between posts that queue the next requests in a
    # service (a trim that moved nothing returns at once: only those over 1 ms count)
    print("a post, with its history write and any save or trim:", spread(per_post))
    print("saves:", spread(durations["save"]))
    print("trims of the mirror:", spread([d for d in durations["_trim_mirror"] if d > 0.001]))


if __name__ == "__main__":
    main()

"""Where the service's memory goes: the app in process, single real posts through its REST API.

    OMP_NUM_THREADS=1 .venv/bin/python bench/probe_memory.py [--posts 12050] [--trace] [--mirror-posts N]

Prints RSS every 1,000 posts (the same shuffled posts as bench_service.py, created_at = now); with
--trace, also the Python allocations that grew between post 4,000 and the end, by file and by
line (tracemalloc: slower, and its own bookkeeping inflates RSS). A diagnostic, not a benchmark:
it is not part of run_all.py.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

import natasha  # noqa: F401 - before pymorphy2 (see README)
import psutil
from posts import real_posts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=12050)
    ap.add_argument("--trace", action="store_true")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--mirror-posts", type=int, default=None, help="OTKLIK_HISTORY_MIRROR_POSTS")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["OTKLIK_DATABASE_URL"] = f"sqlite:///{Path(tmp) / 'probe.db'}"
        os.environ["OTKLIK_AUTH_DISABLED"] = "true"
        if args.mirror_posts is not None:
            os.environ["OTKLIK_HISTORY_MIRROR_POSTS"] = str(args.mirror_posts)
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from fastapi.testclient import TestClient

        from service.app import create_app

        posts = real_posts(max(20000, args.posts))
        random.Random(1).shuffle(posts)
        rss = lambda: round(psutil.Process().memory_info().rss / 2**20)  # noqa: E731
        with TestClient(create_app()) as client:
            print("ready", rss(), "MB", flush=True)
            if args.trace:
                tracemalloc.start(1)
            mark = None
            started = time.perf_counter()
            for i, post in enumerate(posts[:args.posts]):
                now = datetime.now(timezone.utc).isoformat(timespec="seconds")
                r = client.post("/v1/classify", json={**post, "created_at": now})
                r.raise_for_status()
                if i == 4000 and args.trace:
                    mark = tracemalloc.take_snapshot()
                if i % 1000 == 0:
                    print(f"{i} posts: {rss()} MB, {time.perf_counter() - started:.1f} s", flush=True)
            print("end", rss(), "MB")
            if mark is not None:
                last = tracemalloc.take_snapshot()
                for key in ("filename", "lineno"):
                    diff = last.compare_to(mark, key)
                    print(f"grown since post 4000, by {key}: {sum(d.size_diff for d in diff) / 2**20:.1f} MB")
                    for d in diff[:args.top]:
                        print(" ", d)


if __name__ == "__main__":
    main()

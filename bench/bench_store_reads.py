"""What a look-up by key costs in the SQLite history store: plain SQL against SQLAlchemy's statements.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_store_reads.py [--posts 30000] [--calls 3000]

Writes --posts synthetic history entries (random signatures and terms, 500 authors, 200 incidents,
spread over 72 hours) into a new SQLite file, then times, for each way (`plain_sql=True`, the
default on SQLite, and False, SQLAlchemy's statements as on PostgreSQL) with the read cache off:
4 posts by id, an id that is not there, the sizes of 3 incidents, and
a save of 16 new posts with their LSH bucket rows. Prints µs a call. A diagnostic of
storage/sqlite.py, not part of run_all.py.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import natasha  # noqa: F401 - before pymorphy2 (see README)
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.fingerprint import NUM_PERM  # noqa: E402
from model.history import HistoryEntry  # noqa: E402
from storage import open_store  # noqa: E402

NOW = datetime.now(timezone.utc)


def entries(n: int, rng: np.random.Generator, prefix: str = "p") -> list[HistoryEntry]:
    out = []
    for k in range(n):
        out.append(HistoryEntry(
            post_id=f"{prefix}{k}", author_id=f"a{k % 500}", region="spb",
            created_at=NOW - timedelta(hours=72) * (1 - k / max(1, n)), group="ЖКХ", topic="Отопление",
            location_key=f"h:спб|ленина|{k % 300}", place="Санкт-Петербург", source="vk",
            signature=rng.integers(0, 2**32 - 1, NUM_PERM, dtype=np.uint32).astype("<u4").tobytes(),
            terms=tuple(int(t) for t in rng.integers(0, 2**32 - 1, 12)), facts=frozenset({"num:5"}),
            incident_id=f"i{k % 200}", tags={"repeat_of": [], "importance": "normal", "exclusions": []}))
    return out


def timed(calls: int, call) -> float:
    started = time.perf_counter()
    for k in range(calls):
        call(k)
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=30000)
    ap.add_argument("--calls", type=int, default=3000)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    ids = [f"p{k}" for k in range(args.posts)]
    pick = random.Random(2)
    with tempfile.TemporaryDirectory() as tmp:
        for plain in (True, False):
            store = open_store(Path(tmp) / f"{plain}.db", mirror_recent=False, plain_sql=plain)
            store.add_many(entries(args.posts, np.random.default_rng(1)))
            store._read_cache = None  # every call reads the database
            way = "plain SQL" if plain else "SQLAlchemy's statements"
            samples = [pick.sample(ids, 4) for _ in range(args.calls)]
            result = {
                "4 posts by id": timed(args.calls, lambda k: store.get_many(samples[k])),
                "an id not there": timed(args.calls, lambda k: store.get_many([f"none{k}"])),
                "sizes of 3 incidents": timed(args.calls, lambda k: store.incident_sizes([f"i{k % 200}", f"i{(k + 7) % 200}", "x"])),
            }
            batches = [entries(16, rng, prefix=f"new{plain}-{k}-") for k in range(args.calls // 10)]
            result["a save of 16 posts"] = timed(len(batches), lambda k: store.add_many(batches[k]))
            print(f"{way}: " + ", ".join(f"{name} {us:.0f} µs" for name, us in result.items()), flush=True)
            store.close()


if __name__ == "__main__":
    main()

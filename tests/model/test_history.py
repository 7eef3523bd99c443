"""The compact LSH bucket index of the in-memory history answers exactly as one list per bucket."""
import random
import tracemalloc
from datetime import datetime, timedelta, timezone

import numpy as np

from model.fingerprint import BANDS, NUM_PERM
from model.history import BucketIndex, HistoryEntry, MemoryHistoryStore


class NaiveIndex:
    """The reference: bucket → post ids in insertion order, removed eagerly."""

    def __init__(self):
        self.buckets: dict[int, list[str]] = {}
        self.rows: dict[int, tuple[str, list[int]]] = {}

    def add(self, slot: int, post_id: str, row: np.ndarray) -> None:
        self.rows[slot] = (post_id, row.tolist())
        for b in row.tolist():
            self.buckets.setdefault(b, []).append(slot)

    def remove(self, slot: int) -> None:
        _, row = self.rows.pop(slot)
        for b in row:
            self.buckets[b].remove(slot)

    def lookup(self, row: np.ndarray, cap: int) -> list[list[str]]:
        return [[self.rows[s][0] for s in self.buckets.get(b, [])[-cap:]] for b in row.tolist()]


def test_bucket_index_matches_one_list_per_bucket_through_merges_and_compactions():
    rng = random.Random(5)
    index, naive = BucketIndex(merge_every=7), NaiveIndex()
    live: list[int] = []
    # few distinct keys: crowded buckets, so the cap and the skipping of removed slots matter
    for step in range(3000):
        if live and rng.random() < 0.45:
            # mostly the oldest (a window sliding on), sometimes any (a re-tagged post)
            slot = live.pop(0 if rng.random() < 0.8 else rng.randrange(len(live)))
            index.remove(slot)
            naive.remove(slot)
        else:
            row = np.array([rng.randrange(40) * 1_000_003 + band for band in range(BANDS)], dtype=np.int64)
            pid = f"p{step}"
            slot = index.add(pid, row)
            naive.add(slot, pid, row)
            live.append(slot)
        if step % 13 == 0:
            query = np.array([rng.randrange(42) * 1_000_003 + band for band in range(BANDS)], dtype=np.int64)
            for cap in (1, 3, 32):
                assert index.lookup(query, cap) == naive.lookup(query, cap)
    assert len(index) == len(live)
    assert index._base > 0  # the removed leading slots were dropped


def _entry(k: int, t: datetime, sig: np.ndarray) -> HistoryEntry:
    return HistoryEntry(post_id=f"p{k}", author_id=f"a{k % 50}", region="omsk", created_at=t,
                        group="ЖКХ", topic="Отопление", location_key=f"h:omsk|ленина|{k % 30}",
                        signature=sig.astype("<u4").tobytes(), terms=(k % 97, 1000 + k % 13),
                        tags={"repeat_of": [], "importance": "normal", "exclusions": []})


def test_store_finds_near_copies_after_merges_and_window_eviction():
    rng = np.random.default_rng(3)
    store = MemoryHistoryStore(lsh_days=1)
    t0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
    base = rng.integers(0, 2**32 - 1, NUM_PERM, dtype=np.uint32)
    entries = []
    for k in range(2500):  # more than one merge of the index
        sig = rng.integers(0, 2**32 - 1, NUM_PERM, dtype=np.uint32) if k % 10 else base
        entries.append(_entry(k, t0 + timedelta(minutes=k), sig))
    store.add_many(entries)
    since = t0
    found = {e.post_id for e in store.similar(base[None, :], since)[0]}
    # the copies of `base` within the window (the last day), at most BUCKET_CAP of them
    newest = t0 + timedelta(minutes=2499)
    copies = [e.post_id for e in entries if e.post_id in {f"p{k}" for k in range(0, 2500, 10)}
              and e.created_at >= newest - timedelta(days=1)]
    assert found == set(copies[-32:])
    # a re-tagged copy is found once, under its new version
    store.add_many([_entry(2490, newest, base)])
    again = store.similar(base[None, :], since)[0]
    assert [e.post_id for e in again].count("p2490") == 1


def test_recent_window_costs_well_under_a_kilobyte_a_post_in_the_bucket_index():
    rng = np.random.default_rng(1)
    index = BucketIndex()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for k in range(4096):
        index.add(f"post-{k}", rng.integers(0, 2**62, BANDS, dtype=np.int64))
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    # 16 keys × (8-byte key + 8-byte slot) and an id reference; a dict of ints took ~1.3 KB a post
    assert used / 4096 < 500

"""The in-memory history: its compact LSH bucket index answers exactly as one list per bucket; batches,
eviction by count and shared tags."""
import random
import tracemalloc
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from model.fingerprint import BANDS, NUM_PERM
from model.history import BucketIndex, HistoryEntry, MemoryHistoryStore

NOW = datetime(2026, 4, 1, 12, 0, tzinfo=timezone.utc)


def _sig(seed: int) -> bytes:
    return np.random.RandomState(seed).randint(0, 2**32 - 1, size=NUM_PERM, dtype=np.uint64).astype("<u4").tobytes()


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


@pytest.mark.parametrize("merge_every", [7, 64])  # 64: batches under 8 go post by post
def test_bucket_index_matches_one_list_per_bucket_through_merges_and_compactions(merge_every):
    rng = random.Random(5)
    index, naive = BucketIndex(merge_every=merge_every), NaiveIndex()
    live: list[int] = []
    # few distinct keys: crowded buckets, so the cap and the skipping of removed slots matter
    for step in range(3000):
        if live and rng.random() < 0.45:
            # mostly the oldest (a window sliding on), sometimes any (a re-tagged post)
            slot = live.pop(0 if rng.random() < 0.8 else rng.randrange(len(live)))
            index.remove(slot)
            naive.remove(slot)
        elif rng.random() < 0.15:
            # a batch at once (a trimmed mirror's posts joining the tier below it): one merge
            rows = np.array([[rng.randrange(40) * 1_000_003 + band for band in range(BANDS)]
                             for _ in range(rng.randint(1, 12))], dtype=np.int64)
            pids = [f"p{step}.{k}" for k in range(len(rows))]
            slots = index.add_many(pids, rows)
            for slot, pid, row in zip(slots, pids, rows):
                naive.add(slot, pid, row)
            live.extend(slots)
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


def test_the_last_version_of_a_post_in_one_batch_wins():
    store = MemoryHistoryStore()
    first = HistoryEntry("p1", "a1", "omsk", NOW, group="ЖКХ", location_key="h:омск|ленина|5", signature=_sig(1))
    second = HistoryEntry("p1", "a1", "omsk", NOW, group="Дороги", location_key="h:омск|мира|7", signature=_sig(1))
    store.add_many([first, second])
    assert len(store) == 1 and store.get("p1").group == "Дороги"
    # the first version's place is not left in the index
    assert store.at_places([("omsk", "ЖКХ", "h:омск|ленина|5")], NOW - timedelta(days=1)) == {}
    assert [e.group for e in store.at_places([("omsk", "Дороги", "h:омск|мира|7")], NOW - timedelta(days=1))[
        ("omsk", "Дороги", "h:омск|мира|7")]] == ["Дороги"]


def test_evicting_the_oldest_keeps_a_count_and_reports_the_floor():
    store = MemoryHistoryStore(lsh_days=30)
    store.add_many([HistoryEntry(f"p{k}", f"a{k % 3}", "omsk", NOW - timedelta(hours=100 - k),
                                 location_key="h:омск|ленина|5", group="ЖКХ", signature=_sig(k % 4))
                    for k in range(100)])
    assert store.evict_oldest(150) is None and len(store) == 100
    floor = store.evict_oldest(30)
    assert len(store) == 30 and floor == NOW - timedelta(hours=31) + timedelta(microseconds=1)
    assert min(e.created_at for e in store._entries.values()) == NOW - timedelta(hours=30)
    # the indexes forgot the evicted posts, and the eviction heap holds only the kept ones
    found = store.similar(np.stack([np.frombuffer(_sig(1), "<u4")]), NOW - timedelta(days=10))[0]
    assert {e.post_id for e in found} == {f"p{k}" for k in range(70, 100) if k % 4 == 1}
    assert len(store._recent_heap) == 30 and len(store._buckets) == 30
    assert sum(len(v) for v in store.by_authors(["a0", "a1", "a2"]).values()) == 30


def test_stored_entries_share_empty_facts_and_common_tags():
    store = MemoryHistoryStore()
    tags = lambda: {"repeat_of": [], "importance": "normal", "exclusions": ["profanity"]}  # noqa: E731
    store.add_many([HistoryEntry(f"p{k}", "a", "omsk", NOW, facts=frozenset(), tags=tags()) for k in range(3)]
                   + [HistoryEntry("linked", "a", "omsk", NOW, tags={**tags(), "repeat_of": ["p0"]})])
    a, b = store.get("p0"), store.get("p2")
    assert a.tags is b.tags and a.tags == tags() and a.facts is b.facts
    assert store.get("linked").tags["repeat_of"] == ["p0"]  # a tag set of its own stays its own

"""The incident look-ups' keys of the window's posts that a capped history mirror no longer holds.

The incidents step asks, for every post, for the newest posts of the last 72 hours sharing an LSH
bucket or a place with it. With the mirror capped below the window's size, each of those look-ups
also went to SQL for the part of the window older than the mirror (two window-function queries, the
largest SQL share left). Here the keys of that part (bucket keys, place, time: ~600 bytes a post
against ~2.6 KB for a mirrored entry) stay in memory; only the posts a look-up finds are read whole
(by primary key, mostly from the store's read cache). Bounded: past `max_posts` the oldest go and
`floor` moves up; what is older than the floor is SQL's again.
"""
from __future__ import annotations

import heapq
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Iterable

import numpy as np

from model.history import BucketIndex, HistoryEntry, as_utc, index_keys

DEFAULT_MAX_POSTS = 50_000  # ~30 MB


class OlderPosts:
    """LSH buckets and places of posts in [floor, the mirror's floor), in insertion order (newest
    last, as the mirror's own index: look-ups take the newest `n` of a key)."""

    def __init__(self, max_posts: int = DEFAULT_MAX_POSTS, floor: datetime | None = None):
        if max_posts < 0:
            raise ValueError(f"max_posts: expected a count ≥ 0, got {max_posts}")
        self.max_posts = max_posts
        # every window post from here on (up to the mirror's floor) is held; None: none are
        self.floor = as_utc(floor) if floor is not None else None
        self._buckets = BucketIndex()
        self._held: dict[str, tuple[datetime, int | None, tuple | None]] = {}  # id → (time, slot, place)
        self._by_place: dict[tuple, list[str]] = defaultdict(list)
        self._places: dict[tuple, tuple] = {}  # one shared tuple per place key
        self._heap: list[tuple[datetime, str]] = []  # (time, id): what to drop first

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, post_id: str) -> bool:
        return post_id in self._held

    def covers(self, since: datetime) -> bool:
        """Every window post from `since` up to the mirror's floor is held."""
        return self.floor is not None and since >= self.floor

    def add(self, entries: Iterable[HistoryEntry], window_start: datetime) -> None:
        """Hold these entries (their current versions; an older version goes) when they fall in the
        held range and the LSH window; drop other versions of them. Then keep to `max_posts`."""
        entries = list(entries)
        self.discard(e.post_id for e in entries)
        if self.floor is None:
            return
        low = max(self.floor, window_start)
        kept = [e for e in entries if as_utc(e.created_at) >= low]
        for e, slot, place in index_keys(kept, self._buckets, self._places, self._by_place):
            t = as_utc(e.created_at)
            self._held[e.post_id] = (t, slot, place)
            heapq.heappush(self._heap, (t, e.post_id))
        if len(self._held) > self.max_posts + self.max_posts // 32:
            self._drop_oldest(len(self._held) - self.max_posts)

    def discard(self, post_ids: Iterable[str]) -> None:
        for pid in post_ids:
            held = self._held.pop(pid, None)
            if held is None:
                continue
            _, slot, place = held
            if slot is not None:
                self._buckets.remove(slot)
            if place is not None:
                ids = self._by_place[place]
                ids.remove(pid)
                if not ids:
                    del self._by_place[place]
                    self._places.pop(place, None)

    def purge(self, before: datetime) -> None:
        """Drop what is older than `before` (the window slid past it)."""
        before = as_utc(before)
        while (t := self._oldest_time()) is not None and t < before:
            self._pop_oldest()

    def _oldest_time(self) -> datetime | None:
        heap, held = self._heap, self._held
        while heap:
            t, pid = heap[0]
            mine = held.get(pid)
            if mine is not None and mine[0] == t:
                return t
            heapq.heappop(heap)  # a post dropped or held again at another time meanwhile
        return None

    def _pop_oldest(self) -> datetime | None:
        t = self._oldest_time()
        if t is not None:
            self.discard([heapq.heappop(self._heap)[1]])
        return t

    def _drop_oldest(self, n: int) -> None:
        """Drop the `n` oldest (and any as old as the last of them); the floor moves up past them."""
        last = None
        for _ in range(n):
            t = self._pop_oldest()
            if t is None:
                break
            last = t
        if last is None:
            return
        while (t := self._oldest_time()) is not None and t <= last:
            self._pop_oldest()
        floor = last + timedelta(microseconds=1)
        if self.floor is None or floor > self.floor:
            self.floor = floor

    # -- look-ups: ids, newest first; and per key, how many fewer posts than asked it held at all

    def similar(self, shortfall: list[dict[int, int]], since: datetime, until: datetime
                ) -> tuple[list[list[str]], list[dict[int, int]]]:
        """For each signature's {bucket key: n}: the newest n held posts of each key in [since,
        until), and {key: what it still lacks}."""
        times = self._held
        found, lacking = [], []
        for short in shortfall:
            ids: dict[str, None] = {}
            still: dict[int, int] = {}
            if short:
                keys = np.fromiter(short, dtype=np.int64, count=len(short))
                for b, held in zip(short, self._buckets.lookup(keys, max(short.values()))):
                    n = short[b]
                    newest = held[-n:]
                    if len(newest) < n:
                        still[b] = n - len(newest)
                    for pid in reversed(newest):
                        if since <= times[pid][0] < until:
                            ids[pid] = None
            found.append(list(ids))
            lacking.append(still)
        return found, lacking

    def at_places(self, shortfall: dict[tuple, int], since: datetime, until: datetime
                  ) -> tuple[dict[tuple, list[str]], dict[tuple, int]]:
        """For each {place key: n}: the newest n held posts of the place in [since, until), and
        {key: what it still lacks}."""
        times = self._held
        found, lacking = {}, {}
        for key, n in shortfall.items():
            newest = self._by_place.get(key, [])[-n:]
            if len(newest) < n:
                lacking[key] = n - len(newest)
            ids = [pid for pid in reversed(newest) if since <= times[pid][0] < until]
            if ids:
                found[key] = ids
        return found, lacking

"""The history of posts already seen: what repeats, incidents and surges look back at.

`HistoryStore` is the interface; `MemoryHistoryStore` keeps everything in process (tests, batch
jobs); `storage.SqlHistoryStore` keeps it in SQLite or PostgreSQL (the service).

No raw text is kept: an entry holds the post's fingerprint (content-lemma hashes, MinHash
signature, fact keys), its author, time, tags and answered_at. Per-author lookup is the common
case, so both stores index by author first. Cross-author near-duplicates are found through LSH
buckets of the signature, kept only for the recent `lsh_days` (incidents are close in time, so
old posts are never candidates and the index stays small as the history grows).
"""
from __future__ import annotations

import heapq
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Iterable, Protocol, Sequence

import numpy as np

from .fingerprint import NUM_PERM, lsh_buckets

UTC = timezone.utc
DEFAULT_LSH_DAYS = 14
DEFAULT_RETENTION_DAYS = 730
BUCKET_CAP = 32  # newest entries read per LSH bucket
PLACE_CAP = 64  # newest entries read per place


def as_utc(value: datetime) -> datetime:
    """Aware UTC datetime (a naive one is taken as UTC: the stores keep UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(slots=True)
class HistoryEntry:
    post_id: str
    author_id: str | None
    region: str
    created_at: datetime  # UTC; the post's publication time (else detection time)
    detected_at: datetime | None = None
    group: str | None = None  # topic group
    topic: str | None = None
    location_key: str | None = None  # model.fingerprint.location_key
    place: str | None = None  # model.fingerprint.coarse_place (surges)
    source: str | None = None
    signature: bytes = b""  # NUM_PERM little-endian uint32
    terms: tuple[int, ...] = ()
    facts: frozenset[str] = frozenset()
    answered_at: datetime | None = None
    incident_id: str | None = None
    tags: dict = field(default_factory=dict)  # importance level, exclusions, repeat_of …

    @property
    def time(self) -> datetime:
        return self.created_at

    def signature_array(self) -> np.ndarray:
        if not self.signature:
            return np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
        return np.frombuffer(self.signature, dtype="<u4")


@dataclass(frozen=True)
class IssueKey:
    region: str
    group: str | None
    place: str | None


class HistoryStore(Protocol):
    """What the repeats, incidents and surge components need from a history."""

    lsh_days: int
    retention_days: int

    def add_many(self, entries: Sequence[HistoryEntry]) -> None:
        """Insert or replace (by post_id) — re-tagging a post never makes it its own repeat."""

    def get(self, post_id: str) -> HistoryEntry | None: ...

    def get_many(self, post_ids: Iterable[str]) -> dict[str, HistoryEntry]: ...

    def by_authors(self, author_ids: Iterable[str], since: datetime | None = None,
                   related: dict[str, tuple[set[int], set[str]]] | None = None) -> dict[str, list[HistoryEntry]]:
        """Each author's entries with created_at ≥ since (in no particular order).

        `related` (author → (term hashes, topics) of the new posts) is a hint: a store may then
        leave out entries that share neither a term nor a topic with them (they can't be repeats)."""

    def similar(self, signatures: np.ndarray, since: datetime) -> list[list[HistoryEntry]]:
        """For each (NUM_PERM,) signature, entries since `since` sharing an LSH bucket with it.
        Only the recent window (`lsh_days` before the newest post) is indexed."""

    def at_places(self, keys: Iterable[tuple[str, str | None, str]], since: datetime) -> dict[tuple, list[HistoryEntry]]:
        """Entries by (region, group, location_key) since `since` (answered within the recent window)."""

    def record_answer(self, post_id: str, answered_at: datetime) -> bool:
        """Set answered_at; False when the post is unknown."""

    def incident_sizes(self, incident_ids: Iterable[str]) -> dict[str, int]: ...

    def window(self, since: datetime, until: datetime, region: str | None = None) -> list[HistoryEntry]:
        """Entries with since ≤ created_at < until."""

    def issue_counts(self, since: datetime, until: datetime, region: str | None = None) -> dict[IssueKey, int]:
        """Post counts per (region, group, place) with since ≤ created_at < until."""

    def purge(self, before: datetime) -> int:
        """Delete entries created before `before`; returns how many."""

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete entries older than retention_days (and LSH buckets older than lsh_days)."""

    def __len__(self) -> int: ...


def _intern(value: str | None) -> str | None:
    # regions, groups, topics and places repeat across millions of entries: share one string
    return sys.intern(value) if value is not None else None


_NO_FACTS: frozenset[str] = frozenset()
# Most posts carry the same few tag sets (no repeat link, an importance level, zero or one exclusion);
# a dict of them costs ~300 bytes a post, so equal ones are shared. Entries are read-only once stored.
_SHARED_TAGS: dict[tuple, dict] = {}
_SHARED_TAGS_MAX = 4096


def _shared_tags(tags: dict) -> dict:
    if tags.keys() != {"repeat_of", "importance", "exclusions"} or tags["repeat_of"]:
        return tags
    exclusions = tags["exclusions"]
    if not isinstance(exclusions, list) or not all(isinstance(x, str) for x in exclusions):
        return tags
    key = (tags["importance"], tuple(exclusions))
    shared = _SHARED_TAGS.get(key)
    if shared is None:
        if len(_SHARED_TAGS) >= _SHARED_TAGS_MAX or not isinstance(key[0], (str, type(None))):
            return tags
        shared = _SHARED_TAGS[key] = {"repeat_of": [], "importance": key[0], "exclusions": list(key[1])}
    return shared


class MemoryHistoryStore:
    """In-process history: dicts by id, author and day; the recent `lsh_days` also by LSH bucket and
    by place (the incident lookups), evicted as the newest post moves on.

    The store takes ownership of the entries it is given (it normalizes them in place). A process
    that loads a large history should `gc.collect(); gc.freeze()` afterwards: a million entries
    make every full cyclic-GC pass take about a second.
    """

    def __init__(self, lsh_days: int = DEFAULT_LSH_DAYS, retention_days: int = DEFAULT_RETENTION_DAYS):
        self.lsh_days = lsh_days
        self.retention_days = retention_days
        self._entries: dict[str, HistoryEntry] = {}
        self._by_author: dict[str, list[str]] = defaultdict(list)
        self._by_day: dict[date, list[str]] = defaultdict(list)
        self._incident_sizes: dict[str, int] = defaultdict(int)
        # the recent window: LSH buckets and places of posts newer than newest - lsh_days
        self._buckets = BucketIndex()
        self._by_place: dict[tuple, list[str]] = defaultdict(list)
        self._places: dict[tuple, tuple] = {}  # one shared tuple per place key
        self._recent: dict[str, tuple[int | None, tuple | None]] = {}  # id → (bucket-index slot, place key)
        self._recent_heap: list[tuple[datetime, str]] = []  # (created_at, id): what to evict first
        self._newest: datetime | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, post_id: str) -> bool:
        return post_id in self._entries

    def _window_start(self) -> datetime | None:
        return self._newest - timedelta(days=self.lsh_days) if self._newest is not None else None

    # -- writing

    def add_many(self, entries: Sequence[HistoryEntry]) -> None:
        if not entries:
            return
        # the last version of an id in the batch wins (indexed twice, the first would stay findable)
        entries = list({e.post_id: e for e in entries}.values())
        for e in entries:
            _normalize(e)
        newest = max(e.created_at for e in entries)
        if self._newest is None or newest > self._newest:
            self._newest = newest
        window_start = self._window_start()
        fresh = []
        for e in entries:
            old = self._entries.get(e.post_id)
            if old is not None:
                if e.answered_at is None:
                    e.answered_at = old.answered_at  # a re-tagged post keeps its reported answer
                self._remove(e.post_id)
            self._entries[e.post_id] = e
            if e.author_id is not None:
                self._by_author[e.author_id].append(e.post_id)
            self._by_day[e.created_at.date()].append(e.post_id)
            if e.incident_id is not None:
                self._incident_sizes[e.incident_id] += 1
            if e.created_at >= window_start:
                fresh.append(e)
        for e, slot, place in index_keys(fresh, self._buckets, self._places, self._by_place):
            self._recent[e.post_id] = (slot, place)
            heapq.heappush(self._recent_heap, (e.created_at, e.post_id))
        self._evict(window_start)

    def _evict(self, window_start: datetime) -> None:
        heap = self._recent_heap
        while heap and heap[0][0] < window_start:
            t, pid = heapq.heappop(heap)
            e = self._entries.get(pid)
            if e is not None and e.created_at == t:  # else a newer version of the post is indexed
                self._unindex_recent(pid)

    def _unindex_recent(self, post_id: str) -> None:
        slot, place = self._recent.pop(post_id, (None, None))
        if slot is not None:
            self._buckets.remove(slot)
        if place is not None:
            _discard(self._by_place, place, post_id)
            if place not in self._by_place:
                self._places.pop(place, None)

    def _remove(self, post_id: str) -> None:
        e = self._entries[post_id]
        _discard(self._by_day, e.created_at.date(), post_id)
        self._remove_many([e])

    def discard(self, post_ids: Iterable[str]) -> None:
        for pid in post_ids:
            if pid in self._entries:
                self._remove(pid)

    def record_answer(self, post_id: str, answered_at: datetime) -> bool:
        e = self._entries.get(post_id)
        if e is None:
            return False
        e.answered_at = as_utc(answered_at)
        return True


    # -- reading

    def get(self, post_id: str) -> HistoryEntry | None:
        return self._entries.get(post_id)

    def get_many(self, post_ids):
        return {i: self._entries[i] for i in set(post_ids) if i in self._entries}

    def by_authors(self, author_ids, since=None, related=None):
        # the hint is not needed here: screening in memory costs the same as reading
        since = as_utc(since) if since is not None else None
        out = {}
        for a in set(author_ids):
            ids = self._by_author.get(a)
            if not ids:
                continue
            get = self._entries.__getitem__
            if since is not None:
                entries = [e for e in map(get, ids) if e.created_at >= since]
            else:
                entries = list(map(get, ids))
            if entries:
                out[a] = entries
        return out

    def similar(self, signatures, since, shortfall: list[dict[int, int]] | None = None):
        """`shortfall`, when given a list, gets for each signature {bucket key: how many fewer than
        BUCKET_CAP posts it held}: what an older part of the history (a database) may add."""
        since = as_utc(since)
        signatures = np.asarray(signatures, dtype=np.uint32).reshape(-1, NUM_PERM)
        out = []
        for sig, row in zip(signatures, lsh_buckets(signatures)):
            short: dict[int, int] = {}
            if shortfall is not None:
                shortfall.append(short)
            if sig[0] == 0xFFFFFFFF:
                out.append([])
                continue
            seen: dict[str, HistoryEntry] = {}
            # the newest few of a crowded bucket (a text posted again and again) are enough:
            # they carry the incident the older copies are in
            for b, held in zip(row.tolist(), self._buckets.lookup(row, BUCKET_CAP)):
                if len(held) < BUCKET_CAP:
                    short[b] = BUCKET_CAP - len(held)
                for pid in held:
                    if pid not in seen:
                        e = self._entries[pid]
                        if e.created_at >= since:
                            seen[pid] = e
            out.append(list(seen.values()))
        return out

    def at_places(self, keys, since, shortfall: dict[tuple, int] | None = None):
        """`shortfall`, when given a dict, gets {key: how many fewer than PLACE_CAP posts it held}."""
        since = as_utc(since)
        out = {}
        for key in set(keys):
            ids = self._by_place.get(key, ())[-PLACE_CAP:]
            if shortfall is not None and len(ids) < PLACE_CAP:
                shortfall[key] = PLACE_CAP - len(ids)
            if ids:
                entries = [self._entries[i] for i in ids if self._entries[i].created_at >= since]
                if entries:
                    out[key] = entries
        return out

    def incident_sizes(self, incident_ids):
        return {i: self._incident_sizes.get(i, 0) for i in set(incident_ids)}

    def window(self, since, until, region=None):
        since, until = as_utc(since), as_utc(until)
        out = []
        day = since.date()
        while day <= until.date():
            for pid in self._by_day.get(day, ()):
                e = self._entries[pid]
                if since <= e.created_at < until and (region is None or e.region == region):
                    out.append(e)
            day += timedelta(days=1)
        return sorted(out, key=lambda e: e.created_at)

    def issue_counts(self, since, until, region=None):
        counts: dict[IssueKey, int] = defaultdict(int)
        for e in self.window(since, until, region):
            counts[IssueKey(e.region, e.group, e.place)] += 1
        return dict(counts)

    # -- retention

    def purge(self, before: datetime, removed: list | None = None) -> int:
        """Remove the posts created before `before`; `removed`, when given, gets their entries."""
        before = as_utc(before)
        gone: list[HistoryEntry] = []
        for day in [d for d in self._by_day if d <= before.date()]:
            ids = self._by_day[day]
            kept = [pid for pid in ids if self._entries[pid].created_at >= before]
            if len(kept) < len(ids):
                gone.extend(self._entries[pid] for pid in ids if self._entries[pid].created_at < before)
            if kept:
                self._by_day[day] = kept
            else:
                del self._by_day[day]
        if gone:
            self._remove_many(gone)
            if removed is not None:
                removed.extend(gone)
        self._drop_stale_heap()
        return len(gone)

    def _remove_many(self, gone: list[HistoryEntry]) -> None:
        """Remove entries already out of their day lists: each author's and place's list is filtered
        once (a list.remove per post costs O(n) each for a prolific author or place)."""
        ids = {e.post_id for e in gone}
        authors = {e.author_id for e in gone if e.author_id is not None}
        places = set()
        for e in gone:
            del self._entries[e.post_id]
            if e.incident_id is not None:
                self._incident_sizes[e.incident_id] -= 1
                if self._incident_sizes[e.incident_id] <= 0:
                    del self._incident_sizes[e.incident_id]
            slot, place = self._recent.pop(e.post_id, (None, None))
            if slot is not None:
                self._buckets.remove(slot)
            if place is not None:
                places.add(place)
        for index, keys in ((self._by_author, authors), (self._by_place, places)):
            for key in keys:
                kept = [pid for pid in index[key] if pid not in ids]
                if kept:
                    index[key] = kept
                else:
                    del index[key]
                    if index is self._by_place:
                        self._places.pop(key, None)

    def _drop_stale_heap(self) -> None:
        # the eviction heap's oldest items may name posts purged meanwhile: without this they would
        # stay until the window slid past them, however small a count cap keeps the store
        heap, entries = self._recent_heap, self._entries
        while heap:
            t, pid = heap[0]
            e = entries.get(pid)
            if e is not None and e.created_at == t:
                break
            heapq.heappop(heap)

    def purge_expired(self, now: datetime | None = None) -> int:
        now = as_utc(now) if now is not None else datetime.now(UTC)
        self._evict(now - timedelta(days=self.lsh_days))
        return self.purge(now - timedelta(days=self.retention_days))

    def floor_keeping(self, keep: int) -> datetime | None:
        """The time from which at most `keep` entries are newer or as new (None: there are no more
        than `keep`): `purge(floor)` then keeps that many (ties in time go together)."""
        excess = len(self._entries) - keep
        if excess <= 0:
            return None
        times: list[datetime] = []
        for day in sorted(self._by_day):  # whole days, oldest first, until the excess is among them
            times.extend(self._entries[pid].created_at for pid in self._by_day[day])
            if len(times) >= excess:
                break
        return heapq.nsmallest(excess, times)[-1] + timedelta(microseconds=1)

    def evict_oldest(self, keep: int) -> datetime | None:
        """Remove the oldest entries until at most `keep` are left; returns the time from which every
        entry is still here, None when nothing was removed."""
        floor = self.floor_keeping(keep)
        if floor is not None:
            self.purge(floor)
        return floor


def index_keys(entries: Sequence[HistoryEntry], buckets: "BucketIndex", places: dict[tuple, tuple],
               by_place: dict[tuple, list[str]]) -> list[tuple[HistoryEntry, int | None, tuple | None]]:
    """Index the entries under their LSH buckets and their place (one shared tuple per place key in
    `places`); per entry, its bucket slot and place key (None where it has none)."""
    signed = [e for e in entries if e.signature]
    rows = lsh_buckets(np.stack([e.signature_array() for e in signed])) if signed else None
    row_of = {e.post_id: k for k, e in enumerate(signed)}
    ids = list(row_of)  # a post given twice is indexed once, under its last row
    slots = dict(zip(ids, buckets.add_many(ids, rows[list(row_of.values())]))) if signed else {}
    out = []
    for e in entries:
        slot = slots.get(e.post_id)
        place = None
        if e.location_key is not None:
            key = (e.region, e.group, e.location_key)
            place = places.setdefault(key, key)
            by_place[place].append(e.post_id)
        out.append((e, slot, place))
    return out


class BucketIndex:
    """LSH bucket key → post ids of the recent window, in little memory.

    A dict of Python ints cost ~1.3 KB a post (16 keys, each an int object, a dict slot and a list);
    here most keys sit in two sorted numpy arrays (key, slot: 16 bytes a key) and only the newest
    posts, up to `merge_every`, in a dict. Each post gets a slot (its position in `_ids`, never
    reused); removing a post clears its slot and lookups skip cleared slots, so removal is O(1) and
    the arrays are filtered when the dead outnumber the living. Lookups return, per key, the newest
    `cap` live post ids, oldest first: the same answer as one list per bucket in insertion order.
    """

    def __init__(self, merge_every: int = 1024):
        self.merge_every = merge_every
        self._ids: list[str | None] = []  # slot - _base → post id, None once removed
        self._base = 0
        self._keys = np.empty(0, dtype=np.int64)  # sorted by (key, slot)
        self._slots = np.empty(0, dtype=np.int64)
        self._dead = 0  # removed slots still in the arrays
        # the posts since the last merge (the last len(_pending_rows) slots): key → slots, and their rows
        self._pending: dict[int, list[int]] = {}
        self._pending_rows: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self._ids) - self._ids.count(None)

    def add(self, post_id: str, row: np.ndarray) -> int:
        """Index a post under its (BANDS,) bucket keys; returns its slot (for `remove`)."""
        slot = self._base + len(self._ids)
        self._ids.append(post_id)
        self._pending_rows.append(row)
        pending = self._pending
        for b in row.tolist():
            held = pending.get(b)
            if held is None:
                pending[b] = [slot]
            else:
                held.append(slot)
        if len(self._pending_rows) >= self.merge_every:
            self._merge()
        return slot

    def add_many(self, post_ids: Sequence[str], rows: np.ndarray) -> list[int]:
        """Index posts (oldest first) under their rows of bucket keys; returns their slots. Many at
        once (a trimmed mirror's posts joining the tier below it) go into the sorted arrays in one
        merge instead of one dict update per key."""
        if len(post_ids) < self.merge_every // 8:
            return [self.add(pid, row) for pid, row in zip(post_ids, rows)]
        self._merge()  # the pending posts are older than these: they go first
        first = self._base + len(self._ids)
        self._ids.extend(post_ids)
        self._pending_rows = [np.asarray(rows)]
        self._merge()
        return list(range(first, first + len(post_ids)))

    def remove(self, slot: int) -> None:
        i = slot - self._base
        if 0 <= i < len(self._ids) and self._ids[i] is not None:
            self._ids[i] = None
            self._dead += 1

    def lookup(self, row: np.ndarray, cap: int) -> list[list[str]]:
        """For each key of `row`: the newest `cap` live post ids under it, oldest first."""
        ids, base, slots = self._ids, self._base, self._slots
        lo = np.searchsorted(self._keys, row, side="left").tolist()
        hi = np.searchsorted(self._keys, row, side="right").tolist()
        out = []
        for b, start, end in zip(row.tolist(), lo, hi):
            got: list[str] = []
            for s in reversed(self._pending.get(b, ())):  # newer than anything in the arrays
                pid = ids[s - base]
                if pid is not None:
                    got.append(pid)
                    if len(got) == cap:
                        break
            while end > start and len(got) < cap:
                chunk = slots[max(start, end - 2 * cap):end].tolist()
                end -= len(chunk)
                for s in reversed(chunk):
                    pid = ids[s - base]
                    if pid is not None:
                        got.append(pid)
                        if len(got) == cap:
                            break
            got.reverse()
            out.append(got)
        return out

    def _merge(self) -> None:
        """Move the pending posts into the sorted arrays (O(n): an insert of sorted keys)."""
        if self._pending_rows:
            rows = np.vstack(self._pending_rows).astype(np.int64)
            first = self._base + len(self._ids) - len(rows)
            keys = rows.ravel()
            slots = np.repeat(np.arange(first, first + len(rows), dtype=np.int64), rows.shape[1])
            order = np.lexsort((slots, keys))
            keys, slots = keys[order], slots[order]
            # after the equal keys already there: those are older posts (smaller slots)
            at = np.searchsorted(self._keys, keys, side="right")
            self._keys = np.insert(self._keys, at, keys)
            self._slots = np.insert(self._slots, at, slots)
            self._pending = {}
            self._pending_rows = []
        if self._dead and self._dead * 2 >= len(self._ids):
            self._compact()

    def _compact(self) -> None:
        alive = np.fromiter((pid is not None for pid in self._ids), dtype=bool, count=len(self._ids))
        keep = alive[self._slots - self._base]
        self._keys, self._slots = self._keys[keep], self._slots[keep]
        # windows are evicted oldest first: the leading removed slots can go from the id list
        first = int(np.argmax(alive)) if alive.any() else len(self._ids)
        del self._ids[:first]
        self._base += first
        self._dead = 0


def _normalize(e: HistoryEntry) -> None:
    e.region = _intern(e.region)
    e.group = _intern(e.group)
    e.topic = _intern(e.topic)
    e.place = _intern(e.place)
    e.source = _intern(e.source)
    if not e.facts:
        e.facts = _NO_FACTS
    if e.tags:
        e.tags = _shared_tags(e.tags)
    e.created_at = as_utc(e.created_at)
    if e.detected_at is not None:
        e.detected_at = as_utc(e.detected_at)
    if e.answered_at is not None:
        e.answered_at = as_utc(e.answered_at)


def _discard(index: dict, key, post_id: str) -> None:
    ids = index.get(key)
    if ids is None:
        return
    try:
        ids.remove(post_id)
    except ValueError:
        return
    if not ids:
        del index[key]


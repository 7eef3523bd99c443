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
        # bucket → post id, or a list of them once a second post shares it (most buckets hold one
        # post: a plain string there saves a list per bucket, 16 buckets a post)
        self._buckets: dict[int, str | list[str]] = {}
        self._by_place: dict[tuple, list[str]] = defaultdict(list)
        self._recent: dict[str, tuple[tuple[int, ...], tuple | None]] = {}  # id → (buckets, place key)
        self._recent_heap: list[tuple[datetime, str]] = []  # (created_at, id): what to evict first
        self._newest: datetime | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def _window_start(self) -> datetime | None:
        return self._newest - timedelta(days=self.lsh_days) if self._newest is not None else None

    # -- writing

    def add_many(self, entries: Sequence[HistoryEntry]) -> None:
        if not entries:
            return
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
        if fresh:
            signed = [e for e in fresh if e.signature]
            rows = lsh_buckets(np.stack([e.signature_array() for e in signed])).tolist() if signed else []
            buckets_of = {e.post_id: tuple(row) for e, row in zip(signed, rows)}
            for e in fresh:
                row = buckets_of.get(e.post_id, ())
                place = (e.region, e.group, e.location_key) if e.location_key is not None else None
                self._recent[e.post_id] = (row, place)
                heapq.heappush(self._recent_heap, (e.created_at, e.post_id))
                buckets = self._buckets
                for b in row:
                    held = buckets.get(b)
                    if held is None:
                        buckets[b] = e.post_id
                    elif held.__class__ is str:
                        buckets[b] = [held, e.post_id]
                    else:
                        held.append(e.post_id)
                if place is not None:
                    self._by_place[place].append(e.post_id)
        self._evict(window_start)

    def _evict(self, window_start: datetime) -> None:
        heap = self._recent_heap
        while heap and heap[0][0] < window_start:
            t, pid = heapq.heappop(heap)
            e = self._entries.get(pid)
            if e is not None and e.created_at == t:  # else a newer version of the post is indexed
                self._unindex_recent(pid)

    def _unindex_recent(self, post_id: str) -> None:
        row, place = self._recent.pop(post_id, ((), None))
        buckets = self._buckets
        for b in row:
            held = buckets.get(b)
            if held is None:
                continue
            if held.__class__ is str:
                if held == post_id:
                    del buckets[b]
            else:
                _discard(buckets, b, post_id)
                if len(held) == 1:
                    buckets[b] = held[0]
        if place is not None:
            _discard(self._by_place, place, post_id)

    def _remove(self, post_id: str, keep_day: bool = False) -> None:
        e = self._entries.pop(post_id)
        if e.author_id is not None:
            _discard(self._by_author, e.author_id, post_id)
        if not keep_day:
            _discard(self._by_day, e.created_at.date(), post_id)
        if e.incident_id is not None:
            self._incident_sizes[e.incident_id] -= 1
            if self._incident_sizes[e.incident_id] <= 0:
                del self._incident_sizes[e.incident_id]
        self._unindex_recent(post_id)

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

    def similar(self, signatures, since):
        since = as_utc(since)
        signatures = np.asarray(signatures, dtype=np.uint32).reshape(-1, NUM_PERM)
        out = []
        for sig, row in zip(signatures, lsh_buckets(signatures).tolist()):
            if sig[0] == 0xFFFFFFFF:
                out.append([])
                continue
            seen: dict[str, HistoryEntry] = {}
            for b in row:
                # the newest few of a crowded bucket (a text posted again and again) are enough:
                # they carry the incident the older copies are in
                held = self._buckets.get(b, ())
                for pid in ((held,) if held.__class__ is str else held[-BUCKET_CAP:]):
                    if pid not in seen:
                        e = self._entries[pid]
                        if e.created_at >= since:
                            seen[pid] = e
            out.append(list(seen.values()))
        return out

    def at_places(self, keys, since):
        since = as_utc(since)
        out = {}
        for key in set(keys):
            ids = self._by_place.get(key)
            if ids:
                entries = [self._entries[i] for i in ids[-PLACE_CAP:] if self._entries[i].created_at >= since]
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

    def purge(self, before: datetime) -> int:
        before = as_utc(before)
        removed = 0
        for day in [d for d in self._by_day if d <= before.date()]:
            ids = self._by_day[day]
            kept = [pid for pid in ids if self._entries[pid].created_at >= before]
            for pid in ids:
                if self._entries[pid].created_at < before:
                    # the day list is rebuilt below: don't pay a list.remove per post
                    self._remove(pid, keep_day=True)
                    removed += 1
            if kept:
                self._by_day[day] = kept
            else:
                del self._by_day[day]
        return removed

    def purge_expired(self, now: datetime | None = None) -> int:
        now = as_utc(now) if now is not None else datetime.now(UTC)
        self._evict(now - timedelta(days=self.lsh_days))
        return self.purge(now - timedelta(days=self.retention_days))


def _normalize(e: HistoryEntry) -> None:
    e.region = _intern(e.region)
    e.group = _intern(e.group)
    e.topic = _intern(e.topic)
    e.place = _intern(e.place)
    e.source = _intern(e.source)
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


"""Authors' posts that a capped history mirror no longer holds, as light rows kept in memory.

The repeats step asks, for every post, for its author's posts of the last year. The mirror holds
only the newest posts, so before this each lookup of an author with older posts went to SQL: the
largest share of a post's SQL time once the mirror is full. Here, per author, the rows the mirror
does not hold (id, time, topic, content terms: ~200 bytes a post) are read once and then kept
current by the store: whatever leaves the mirror, or is written without entering it, is added.
Screening by the related hint happens on these rows; only the few posts left are read whole.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

import numpy as np

from model.history import HistoryEntry, as_utc

DEFAULT_MAX_ROWS = 100_000  # ~20 MB


@dataclass(slots=True)
class LightRow:
    created_at: datetime  # UTC
    topic: str | None
    terms: bytes  # little-endian uint32 content-term hashes, as stored in SQL


@dataclass(slots=True)
class HeldRows:
    """One author's rows: every post of theirs from `since` on that the mirror does not hold."""

    since: datetime
    rows: dict[str, LightRow] = field(default_factory=dict)
    # the rows as arrays for screening a prolific author at once, made when first needed after a change
    packed: tuple | None = None


def light_row(e: HistoryEntry) -> LightRow:
    terms = np.asarray(e.terms, dtype="<u4").tobytes() if e.terms else b""
    return LightRow(as_utc(e.created_at), e.topic, terms)


class AuthorRows:
    """Per author: every post of theirs from `since` on that the mirror does not hold, as light rows.

    Bounded to `max_rows` rows in all, least recently asked authors dropped first; an author with
    more rows than that is never kept (SQL answers for them each time). The store must call `add`
    with every entry that leaves the mirror or is written without entering it, and `clear` when
    rows change in other ways (retention purges, bulk loads)."""

    def __init__(self, max_rows: int = DEFAULT_MAX_ROWS):
        if max_rows < 0:
            raise ValueError(f"max_rows: expected a count ≥ 0, got {max_rows}")
        self.max_rows = max_rows
        self._authors: OrderedDict[str, HeldRows] = OrderedDict()
        self._rows = 0

    def __len__(self) -> int:
        """Rows held, over all authors."""
        return self._rows

    def __contains__(self, author: str) -> bool:
        return author in self._authors

    def get(self, author: str, since: datetime) -> HeldRows | None:
        """The author's rows, or None when the author is not held or not from as early as `since`."""
        held = self._authors.get(author)
        if held is None or since < held.since:
            return None
        self._authors.move_to_end(author)
        return held

    def put(self, author: str, held: HeldRows) -> None:
        """Hold these rows of the author (all of their posts from `held.since` on that the mirror
        does not hold)."""
        old = self._authors.pop(author, None)
        if old is not None:
            self._rows -= len(old.rows)
        if len(held.rows) > self.max_rows:
            return
        self._authors[author] = held
        self._rows += len(held.rows)
        self._evict()

    def add(self, entries: Iterable[HistoryEntry]) -> None:
        """These entries' current versions are now in the database and not in the mirror: the held
        authors among them get (or get updated) their rows."""
        for e in entries:
            held = self._authors.get(e.author_id) if e.author_id is not None else None
            if held is None:
                continue
            if e.post_id not in held.rows:
                self._rows += 1
            held.rows[e.post_id] = light_row(e)
            held.packed = None
        self._evict()

    def _evict(self) -> None:
        """Drop the least recently asked authors until the rows fit the bound."""
        while self._rows > self.max_rows and self._authors:
            _, gone = self._authors.popitem(last=False)
            self._rows -= len(gone.rows)

    def clear(self) -> None:
        self._authors.clear()
        self._rows = 0


PACK_FROM = 16  # rows of an author from which screening runs on arrays


def screened(held: HeldRows, since: datetime, skip, terms: set[int] | None, topics: set | None) -> list[str]:
    """Ids of the author's rows from `since` on, not in `skip` (the mirror's), that share a term or
    the topic with the author's new posts (every one of them when there is no hint: terms is None)."""
    if len(held.rows) >= PACK_FROM:
        return _screened_packed(held, since, skip, terms, topics)
    out = []
    for pid, row in held.rows.items():
        if row.created_at < since or pid in skip:
            continue
        if terms is None or (topics and row.topic in topics) or (
                terms and row.terms and not terms.isdisjoint(np.frombuffer(row.terms, dtype="<u4").tolist())):
            out.append(pid)
    return out


def _screened_packed(held: HeldRows, since: datetime, skip, terms, topics) -> list[str]:
    if held.packed is None:
        ids, rows = list(held.rows), list(held.rows.values())
        n = len(rows)
        times = np.fromiter((r.created_at.timestamp() for r in rows), dtype=np.float64, count=n)
        lengths = np.fromiter((len(r.terms) // 4 for r in rows), dtype=np.int64, count=n)
        flat = np.frombuffer(b"".join(r.terms for r in rows), dtype="<u4")
        held.packed = (ids, times, [r.topic for r in rows], flat, np.repeat(np.arange(n), lengths))
    ids, times, row_topics, flat, owner = held.packed
    keep = times >= as_utc(since).timestamp()
    if terms is not None:
        hit = np.zeros(len(ids), dtype=bool)
        if terms:
            hit[owner[np.isin(flat, np.fromiter(terms, dtype=np.uint32, count=len(terms)))]] = True
        if topics:
            hit |= np.fromiter((t in topics for t in row_topics), dtype=bool, count=len(ids))
        keep &= hit
    return [ids[i] for i in np.flatnonzero(keep).tolist() if ids[i] not in skip]

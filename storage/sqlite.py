"""The history store's hot statements on SQLite as plain SQL, without SQLAlchemy's per-call cost.

Below a capped mirror a post's look-ups go to the database a few times (the posts the tiers below
it point at, the sizes of its incidents, a new author's light rows), and every few posts a save
writes ~16 posts and their ~250 LSH bucket rows. Through SQLAlchemy a look-up costs 100–250 µs,
mostly rendering the expanding IN clause and processing every value, and a save processes each
bucket row's time again. Here a look-up takes its keys as one JSON parameter (SQLite's json_each)
on the pooled DB-API connection (4 posts by id: 168 → 97 µs, bench/bench_store_reads.py), and a save binds each post's time
once. Values are bound and stored exactly as SQLAlchemy's column types do (tested row for row), so
the two ways read and write the same database. Other databases keep the SQLAlchemy statements
(storage/history.py).
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Iterable, Sequence

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from model.history import UTC, HistoryEntry

# the posts table's columns, in the order the row converter unpacks them
COLUMNS = ("post_id", "author_id", "region", "created_at", "detected_at", "topic_group", "topic", "location_key",
           "place", "source", "signature", "terms", "facts", "answered_at", "incident_id", "tags")
BUCKET_COLUMNS = ("bucket", "post_id", "created_at")


def _keys(values: Iterable[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def _time(value: str | datetime | None) -> datetime | None:
    # naive UTC: as ISO text from a raw SQLite row, as a datetime through SQLAlchemy
    if value is None:
        return None
    return (datetime.fromisoformat(value) if isinstance(value, str) else value).replace(tzinfo=UTC)


def entry_of_row(row: Sequence) -> HistoryEntry:
    """A history entry from the values of COLUMNS: a raw SQLite row (times and tags as text) or
    SQLAlchemy's (times as datetimes, tags decoded)."""
    (post_id, author_id, region, created_at, detected_at, group, topic, location_key, place, source, signature,
     terms, facts, answered_at, incident_id, tags) = row
    if isinstance(tags, str):
        tags = json.loads(tags)
    return HistoryEntry(
        post_id=post_id,
        author_id=author_id,
        region=region,
        created_at=_time(created_at),
        detected_at=_time(detected_at),
        group=group,
        topic=topic,
        location_key=location_key,
        place=place,
        source=source,
        signature=signature or b"",
        terms=tuple(np.frombuffer(terms, dtype="<u4").tolist()) if terms else (),
        facts=frozenset(facts.split("\n")) if facts else frozenset(),
        answered_at=_time(answered_at),
        incident_id=incident_id,
        tags=dict(tags) if tags else {},
    )


class SqliteStatements:
    """The store's look-ups by key and its save, as plain SQL on the pooled SQLite connection."""

    def __init__(self, engine: Engine, posts: sa.Table, buckets: sa.Table):
        if engine.dialect.name != "sqlite":
            raise ValueError(f"SqliteStatements: expected a sqlite engine, got {engine.dialect.name}")
        for table, expected in ((posts, COLUMNS), (buckets, BUCKET_COLUMNS)):
            columns = tuple(c.name for c in table.columns)
            if columns != expected:
                raise ValueError(f"SqliteStatements: expected the {table.name} columns {expected}, got {columns}")
        self.engine = engine
        p, each = posts.name, "(SELECT value FROM json_each(?))"
        self._by_ids = f"SELECT {', '.join(COLUMNS)} FROM {p} WHERE post_id IN {each}"
        # counted on the incident index alone; the few stale rows are then taken off by id (a NOT IN
        # on post_id would read every member's row: 170 against 75 µs for 3 incidents of 150)
        self._incidents = f"SELECT incident_id, count(*) FROM {p} WHERE incident_id IN {each} GROUP BY incident_id"
        self._incidents_of = f"SELECT incident_id FROM {p} WHERE post_id IN {each}"
        self._author_rows = (f"SELECT post_id, author_id, created_at, topic, terms FROM {p} "
                             f"WHERE author_id IN {each} AND created_at >= ?")
        # as storage.history's upsert: a re-tagged post keeps the answer time reported for it
        updates = ", ".join(f"{c} = excluded.{c}" if c != "answered_at" else f"{c} = coalesce(excluded.{c}, {p}.{c})"
                            for c in COLUMNS[1:])
        self._upsert = (f"INSERT INTO {p} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
                        f"ON CONFLICT (post_id) DO UPDATE SET {updates}")
        self._insert_buckets = (f"INSERT INTO {buckets.name} ({', '.join(BUCKET_COLUMNS)}) VALUES (?, ?, ?) "
                                f"ON CONFLICT DO NOTHING")
        dialect = engine.dialect
        self._bind_time = posts.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
        self._bind_tags = posts.c.tags.type.dialect_impl(dialect).bind_processor(dialect)

    def _fetch(self, sql: str, params: tuple) -> list[tuple]:
        with self.engine.connect() as conn:
            return conn.connection.driver_connection.execute(sql, params).fetchall()

    def posts(self, post_ids: Iterable[str]) -> list[HistoryEntry]:
        """The stored posts of these ids (those that exist)."""
        return [entry_of_row(r) for r in self._fetch(self._by_ids, (_keys(post_ids),))]

    def incident_sizes(self, incident_ids: Iterable[str], skip: Iterable[str] = ()) -> dict[str, int]:
        """Stored posts per incident, not counting the posts `skip` (ids whose rows are stale)."""
        sizes = {iid: int(n) for iid, n in self._fetch(self._incidents, (_keys(incident_ids),))}
        skip = list(skip)
        if skip and sizes:
            for (iid,) in self._fetch(self._incidents_of, (_keys(skip),)):
                if iid in sizes:
                    sizes[iid] -= 1
        return {iid: n for iid, n in sizes.items() if n > 0}  # as a GROUP BY would: none counted, none named

    def author_rows(self, author_ids: Iterable[str], since: datetime) -> list[tuple]:
        """(post_id, author_id, created_at in UTC, topic, terms) of the authors' posts from `since`
        on; `since` naive UTC, as the store binds it."""
        rows = self._fetch(self._author_rows, (_keys(author_ids), self._bind_time(since)))
        return [(pid, author, _time(created), topic, terms) for pid, author, created, topic, terms in rows]

    def save(self, rows: Sequence[dict], bucket_rows: Sequence[tuple[int, str, datetime]]) -> None:
        """Upsert the posts (storage.history's row dicts, naive UTC times) and insert their LSH
        bucket rows (bucket, post_id, naive UTC time), in one transaction."""
        t, tags = self._bind_time, self._bind_tags
        times: dict[datetime, str] = {}  # a post's bucket rows share its time: bind it once

        def bound(when: datetime | None) -> str | None:
            if when is None:
                return None
            text = times.get(when)
            if text is None:
                text = times[when] = t(when)
            return text

        post_values = [
            (r["post_id"], r["author_id"], r["region"], bound(r["created_at"]), bound(r["detected_at"]),
             r["topic_group"], r["topic"], r["location_key"], r["place"], r["source"], r["signature"], r["terms"],
             r["facts"], bound(r["answered_at"]), r["incident_id"], tags(r["tags"]))
            for r in rows
        ]
        bucket_values = [(b, pid, bound(when)) for b, pid, when in bucket_rows]
        with self.engine.begin() as conn:
            dbapi = conn.connection.driver_connection
            dbapi.executemany(self._upsert, post_values)
            if bucket_values:
                dbapi.executemany(self._insert_buckets, bucket_values)

"""The history store in a SQL database (SQLAlchemy 2 Core): SQLite file by default, PostgreSQL by URL.

Same behaviour as `model.history.MemoryHistoryStore`. Times are stored as naive UTC. Raw text is
never stored: only the fingerprint (signature, content-lemma hashes, fact keys). LSH bucket rows
are written only for posts within `lsh_days` of the newest post seen and purged after that, so the
bucket table stays the size of a few weeks of posts however long the history is.
"""
from __future__ import annotations

import copy
import logging
import threading
import time
from collections import OrderedDict, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from model.fingerprint import NUM_PERM, lsh_buckets
from model.history import (
    BUCKET_CAP,
    DEFAULT_LSH_DAYS,
    DEFAULT_RETENTION_DAYS,
    UTC,
    HistoryEntry,
    IssueKey,
    PLACE_CAP,
    MemoryHistoryStore,
    as_utc,
)

from .authors import DEFAULT_MAX_ROWS, AuthorRows, HeldRows, LightRow, screened
from .checkpoint import AUTOCHECKPOINT_PAGES
from .migrate import database_url, upgrade
from .older import DEFAULT_MAX_POSTS as OLDER_MAX_POSTS
from .older import OlderPosts
from .sqlite import COLUMNS, SqliteStatements, entry_of_row

log = logging.getLogger(__name__)

metadata = sa.MetaData()
posts = sa.Table(
    "history_posts",
    metadata,
    sa.Column("post_id", sa.String(256), primary_key=True),
    sa.Column("author_id", sa.String(256)),
    sa.Column("region", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("detected_at", sa.DateTime()),
    sa.Column("topic_group", sa.String(256)),
    sa.Column("topic", sa.String(512)),
    sa.Column("location_key", sa.String(512)),
    sa.Column("place", sa.String(512)),
    sa.Column("source", sa.String(32)),
    sa.Column("signature", sa.LargeBinary()),
    sa.Column("terms", sa.LargeBinary()),
    sa.Column("facts", sa.Text()),
    sa.Column("answered_at", sa.DateTime()),
    sa.Column("incident_id", sa.String(300)),
    sa.Column("tags", sa.JSON()),
)
buckets = sa.Table(
    "history_buckets",
    metadata,
    sa.Column("bucket", sa.BigInteger(), primary_key=True),
    sa.Column("post_id", sa.String(256), primary_key=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
)

CHUNK = 500  # ids per IN (...) — well under SQLite's and PostgreSQL's parameter limits
WRITE_BEHIND_MAX = 512  # unsaved entries that make add_many save at once (write_behind)
ENTRY_CACHE_MAX = 4096  # entries read from SQL kept for the next look-ups (single writer only)

# Statements built once with expanding parameters: building an IN clause from literal values costs
# more than running the indexed query itself.
_ids = sa.bindparam("ids", expanding=True)
_since = sa.bindparam("since")
_until = sa.bindparam("until")
Q_BY_IDS = sa.select(posts).where(posts.c.post_id.in_(_ids))
Q_BY_AUTHORS = sa.select(posts).where(posts.c.author_id.in_(_ids))
Q_LIGHT_BY_AUTHORS = sa.select(posts.c.post_id, posts.c.author_id, posts.c.terms, posts.c.topic).where(
    posts.c.author_id.in_(_ids), posts.c.created_at >= _since, posts.c.created_at < _until
)
# the incident look-ups' columns of the window's posts below a capped mirror, newest first
Q_OLDER = (
    sa.select(posts.c.post_id, posts.c.created_at, posts.c.region, posts.c.topic_group, posts.c.location_key,
              posts.c.signature)
    .where(posts.c.created_at >= _since, posts.c.created_at < _until)
    .order_by(posts.c.created_at.desc())
    .limit(sa.bindparam("limit"))
)
Q_AUTHOR_ROWS = sa.select(posts.c.post_id, posts.c.author_id, posts.c.created_at, posts.c.topic, posts.c.terms).where(
    posts.c.author_id.in_(_ids), posts.c.created_at >= _since
)
Q_BY_AUTHORS_SINCE = sa.select(posts).where(
    posts.c.author_id.in_(_ids), posts.c.created_at >= _since, posts.c.created_at < _until
)
_FAR_PAST, _FAR_FUTURE = datetime(1900, 1, 1), datetime(9999, 1, 1)
# The newest BUCKET_CAP hits of each LSH bucket (as the in-memory index reads them: a text posted
# again and again fills its buckets, and its newest copies carry the incident), by a window function
# (SQLite ≥ 3.25, PostgreSQL): only the ids, light rows, and then the kept posts.
_bucket_rank = sa.func.row_number().over(
    partition_by=buckets.c.bucket, order_by=(buckets.c.created_at.desc(), buckets.c.post_id.desc())).label("rank")
_bucket_hits = (
    sa.select(buckets.c.bucket, buckets.c.post_id, _bucket_rank)
    .where(buckets.c.bucket.in_(sa.bindparam("buckets", expanding=True)),
           buckets.c.created_at >= _since, buckets.c.created_at < _until)
    .subquery()
)
Q_SIMILAR = (
    sa.select(_bucket_hits.c.bucket, _bucket_hits.c.post_id)
    .where(_bucket_hits.c.rank <= BUCKET_CAP)
    .order_by(_bucket_hits.c.bucket, _bucket_hits.c.rank)
)
# the newest PLACE_CAP posts of each place, whole
_place_rank = sa.func.row_number().over(
    partition_by=posts.c.location_key, order_by=(posts.c.created_at.desc(), posts.c.post_id.desc())).label("rank")
_place_hits = (
    sa.select(posts.c.post_id, _place_rank)
    .where(posts.c.region == sa.bindparam("region"),
           posts.c.topic_group.is_not_distinct_from(sa.bindparam("group")),
           posts.c.location_key.in_(sa.bindparam("keys", expanding=True)),
           posts.c.created_at >= _since, posts.c.created_at < _until)
    .subquery()
)
Q_PLACES = (
    sa.select(posts, _place_hits.c.rank)
    .join(_place_hits, _place_hits.c.post_id == posts.c.post_id)
    .where(_place_hits.c.rank <= PLACE_CAP)
)
Q_INCIDENTS = (
    sa.select(posts.c.incident_id, sa.func.count()).where(posts.c.incident_id.in_(_ids)).group_by(posts.c.incident_id)
)
Q_INCIDENTS_EXCEPT = (
    sa.select(posts.c.incident_id, sa.func.count())
    .where(posts.c.incident_id.in_(_ids), posts.c.post_id.not_in(sa.bindparam("skip", expanding=True)))
    .group_by(posts.c.incident_id)
)
U_ANSWER = sa.update(posts).where(posts.c.post_id == sa.bindparam("pid")).values(answered_at=sa.bindparam("at"))


def _naive(t: datetime | None) -> datetime | None:
    return as_utc(t).replace(tzinfo=None) if t is not None else None


def _aware(t: datetime | None) -> datetime | None:
    return t.replace(tzinfo=UTC) if t is not None else None


def _bounds(since: datetime | None, until: datetime | None) -> dict:
    """The since/until parameters of a time-range query; None is open on that side."""
    return {"since": _naive(since) if since is not None else _FAR_PAST,
            "until": _naive(until) if until is not None else _FAR_FUTURE}


def _chunks(items: list, size: int = CHUNK):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _row(e: HistoryEntry) -> dict:
    return {
        "post_id": e.post_id,
        "author_id": e.author_id,
        "region": e.region,
        "created_at": _naive(e.created_at),
        "detected_at": _naive(e.detected_at),
        "topic_group": e.group,
        "topic": e.topic,
        "location_key": e.location_key,
        "place": e.place,
        "source": e.source,
        "signature": e.signature or None,
        "terms": np.asarray(e.terms, dtype="<u4").tobytes() if e.terms else None,
        "facts": "\n".join(sorted(e.facts)) if e.facts else None,
        "answered_at": _naive(e.answered_at),
        "incident_id": e.incident_id,
        "tags": e.tags or None,
    }


def _entry(r) -> HistoryEntry:
    return entry_of_row([getattr(r, c) for c in COLUMNS])


def _upserts(dialect: str):
    """INSERT … ON CONFLICT statements of the dialect: one round trip per batch, no delete first."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        raise ValueError(f"database: expected sqlite or postgresql, got {dialect}")
    ins = insert(posts)
    values = {c.name: ins.excluded[c.name] for c in posts.columns if c.name != "post_id"}
    # a re-tagged post keeps the answer time reported for it (POST /v1/posts/{id}/answered)
    values["answered_at"] = sa.func.coalesce(ins.excluded.answered_at, posts.c.answered_at)
    upsert = ins.on_conflict_do_update(index_elements=[posts.c.post_id], set_=values)
    return upsert, insert(buckets).on_conflict_do_nothing()


# A small page cache and no memory map: both count in the process's RSS and grow with the
# database (a 64 MB cache plus a 256 MB map made a service's RSS climb ~13 MB per 1,000 posts);
# the operating system's file cache, outside the process, still keeps a hot database in memory.
SQLITE_CACHE_MB = 8
SQLITE_MMAP_MB = 0


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    # WAL lets the service read while a batch writes; NORMAL sync is safe with WAL
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA mmap_size={SQLITE_MMAP_MB * 2**20}")
    cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_MB * 1024}")
    cur.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")  # see storage/checkpoint.py
    cur.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


class SqlHistoryStore:
    """`model.history.HistoryStore` over a SQL database."""

    def __init__(
        self,
        engine: Engine,
        lsh_days: int = DEFAULT_LSH_DAYS,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        mirror_recent: bool = True,
        write_behind: bool = False,
        mirror_in_background: bool = False,
        hold_mirror: bool = False,
        mirror_max_posts: int | None = None,
        author_rows_max: int = DEFAULT_MAX_ROWS,
        older_max_posts: int = OLDER_MAX_POSTS,
        plain_sql: bool = True,
    ):
        """hold_mirror (with mirror_in_background): the load waits for start_mirror(), so that a
        caller can finish its own start first (the load competes with it for the GIL).
        mirror_max_posts: the mirror keeps at most this many of the newest posts (None: all of the
        window) — what bounds the service's memory when posts come faster than the window turns.
        author_rows_max: light rows of authors' posts outside the mirror kept in memory (see
        storage/authors.py; 0 keeps none).
        older_max_posts: LSH buckets and places of the window's posts below a capped mirror kept in
        memory (see storage/older.py; 0 keeps none).
        plain_sql: on SQLite, the look-ups by key and the save as plain SQL (storage/sqlite.py);
        False keeps SQLAlchemy's statements, as on other databases."""
        if mirror_max_posts is not None and mirror_max_posts < 1:
            raise ValueError(f"mirror_max_posts: expected a positive count or None, got {mirror_max_posts}")
        self.engine = engine
        self._sqlite = SqliteStatements(engine, posts, buckets) if plain_sql and engine.dialect.name == "sqlite" else None
        self.lsh_days = lsh_days
        self.retention_days = retention_days
        self.mirror_recent = mirror_recent
        self.mirror_max_posts = mirror_max_posts
        # with a count cap, the mirror holds every post from _floor on (None: the whole window)
        self._floor: datetime | None = None
        # write_behind (needs the mirror): add_many updates the mirror at once and the database at
        # the next save() — the service calls it when its tagging thread is idle, at most every
        # 0.5 s, and at close. Reads see unsaved entries (from the mirror, or merged in), so
        # repeats and incidents stay exact; a crash loses at most the unsaved entries.
        self.write_behind = write_behind and mirror_recent
        self._unsaved: dict[str, HistoryEntry] = {}
        self._unsaved_oldest: datetime | None = None  # the oldest created_at among them
        self._lock = threading.RLock()
        # per author, light rows of the posts the mirror does not hold (with the mirror only: it
        # tells what left it); kept current in _update_mirror and _trim_mirror
        self._author_rows = AuthorRows(author_rows_max)
        # the incident look-ups' keys of the window's posts below the mirror's floor (with the mirror)
        self.older_max_posts = older_max_posts
        self._older = OlderPosts(older_max_posts)
        # entries read from the database, newest use last: below a capped mirror's floor the same
        # prolific authors and template texts are read again and again. Only this process writes
        # (the same condition as the mirror's), so its own writes are all that can stale an entry.
        self._read_cache: OrderedDict[str, HistoryEntry] | None = OrderedDict() if mirror_recent else None
        self._read_epoch = 0  # bumped by every forget: a read that overlapped one is not cached
        with engine.connect() as conn:
            newest = conn.execute(sa.select(sa.func.max(posts.c.created_at))).scalar()
        self._newest = _aware(newest)
        self._upsert_posts, self._insert_buckets = _upserts(engine.dialect.name)
        # The recent `lsh_days` mirrored in memory: incident lookups (LSH buckets, places) are then
        # dictionary lookups instead of SQL round trips. Only right when this process is the only
        # writer (the service's one process, or one batch job); else pass mirror_recent=False.
        # mirror_in_background: the mirror is read from the database on a thread (a few weeks of
        # posts take seconds); until it is there every lookup goes to the database, and what
        # changes meanwhile is journalled and replayed onto it.
        self._mirror: MemoryHistoryStore | None = None
        self._journal: list[tuple] | None = None
        self._loader: threading.Thread | None = None
        if mirror_recent and mirror_in_background and self._newest is not None:
            self._journal = []
            self._loader = threading.Thread(target=self._load_mirror, name="history-mirror", daemon=True)
            if not hold_mirror:
                self._loader.start()
        elif mirror_recent:
            self._mirror, self._floor, self._older = self._read_mirror()
            log.info("history: %d recent entries mirrored in memory", len(self._mirror))

    def _read_mirror(self) -> tuple[MemoryHistoryStore, datetime | None, OlderPosts]:
        """The mirror of the window (its newest mirror_max_posts posts), its floor, and the keys of
        the window's posts below that floor (the newest older_max_posts of them)."""
        mirror = MemoryHistoryStore(lsh_days=self.lsh_days, retention_days=self.retention_days)
        floor = None
        older = OlderPosts(self.older_max_posts)
        if self._newest is not None:
            query = sa.select(posts).where(posts.c.created_at >= _since)
            if self.mirror_max_posts is not None:
                # one more than the cap: when it comes, the window holds more, and the mirror
                # covers only after that post's time (its equals in time may be cut off by the limit)
                query = query.order_by(posts.c.created_at.desc()).limit(self.mirror_max_posts + 1)
            entries = self._run(query, {"since": _naive(self._cutoff())})
            if self.mirror_max_posts is not None and len(entries) > self.mirror_max_posts:
                floor = as_utc(entries[-1].created_at) + timedelta(microseconds=1)
                entries = [e for e in entries if as_utc(e.created_at) >= floor]
            entries.reverse()
            mirror.add_many(entries)
            if floor is not None:
                older = self._read_older(floor)
        return mirror, floor, older

    def _read_older(self, floor: datetime) -> OlderPosts:
        cutoff, cap = self._cutoff(), self.older_max_posts
        if cap == 0:
            return OlderPosts(0)
        with self.engine.connect() as conn:
            rows = conn.execute(Q_OLDER, {"since": _naive(cutoff), "until": _naive(floor), "limit": cap + 1}).all()
        low = cutoff
        if len(rows) > cap:  # as with the mirror: the floor goes past the one post too many
            low = _aware(rows[-1].created_at) + timedelta(microseconds=1)
        older = OlderPosts(cap, floor=low)
        older.add([HistoryEntry(post_id=r.post_id, author_id=None, region=r.region, created_at=_aware(r.created_at),
                                group=r.topic_group, location_key=r.location_key, signature=r.signature or b"")
                   for r in reversed(rows)], cutoff)
        return older

    def _load_mirror(self) -> None:
        started = time.perf_counter()
        try:
            mirror, floor, older = self._read_mirror()
        except Exception:  # noqa: BLE001 - lookups simply stay in the database
            log.exception("history: the in-memory mirror could not be loaded; lookups stay in the database")
            with self._lock:
                self._journal = None
            return
        with self._lock:
            for op, *args in self._journal or ():
                if op == "add":
                    mirror.add_many(args[0])
                    older.discard(e.post_id for e in args[0])
                elif op == "answer":
                    mirror.record_answer(*args)
                elif op == "purge":
                    mirror.purge(args[0])
                    older.purge(args[0])
            self._journal = None
            self._mirror, self._floor, self._older = mirror, floor, older
            self._trim_mirror()
        log.info("history: %d recent entries mirrored in memory (%.2f s, in the background)",
                 len(mirror), time.perf_counter() - started)

    def start_mirror(self) -> None:
        """Start the background mirror load (mirror_in_background); a no-op once started or without one."""
        if self._loader is not None and self._loader.ident is None:
            self._loader.start()

    def wait_for_mirror(self, timeout: float | None = None) -> bool:
        """Block until a background mirror load is over (starting it if it waits); True when the
        mirror is in place."""
        if self._loader is not None:
            if self._loader.ident is None:
                self._loader.start()
            self._loader.join(timeout)
        return self._mirror is not None

    def _cutoff(self) -> datetime:
        return self._newest - timedelta(days=self.lsh_days)

    def _mirror_from(self) -> datetime:
        """The mirror holds every post created from this time on: the window's start, or later
        when the count cap has evicted older posts of the window."""
        cutoff = self._cutoff()
        return max(cutoff, self._floor) if self._floor is not None else cutoff

    def _update_mirror(self, entries: list[HistoryEntry]) -> None:
        if self._mirror is None or self._newest is None:
            return
        start = self._mirror_from()
        inside = [e for e in entries if as_utc(e.created_at) >= start]
        self._mirror.add_many(inside)
        if len(self._older):  # a re-tag may have moved a post it holds up in time
            self._older.discard(e.post_id for e in inside)
        below = [e for e in entries if as_utc(e.created_at) < start]
        if below:
            # older than the mirror's start: to the database only (a late post or a re-tag), and
            # an older version the mirror may hold goes
            self._mirror.discard([e.post_id for e in below])
            self._outside_mirror(below)
        # evict what slid out of the window, once a day of new posts has passed
        cutoff = self._cutoff()
        if self._mirror_evicted is None or cutoff - self._mirror_evicted > timedelta(days=1):
            removed: list[HistoryEntry] = []
            self._mirror.purge(cutoff, removed)
            self._outside_mirror(removed)
            self._older.purge(cutoff)
            self._mirror_evicted = cutoff
        self._trim_mirror()

    def _trim_mirror(self) -> None:
        """Hold the mirror to mirror_max_posts: past it by 1/32, the oldest posts go and the floor
        moves up to the oldest one kept. Those posts must be in the database first; unsaved entries
        are the newest as a rule, so a save is needed only when one of them is among the oldest."""
        cap = self.mirror_max_posts
        if cap is None or self._mirror is None or len(self._mirror) <= cap + cap // 32:
            return
        floor = self._mirror.floor_keeping(cap)
        if floor is None:
            return
        if self._unsaved_oldest is not None and self._unsaved_oldest < floor:
            self.save()
        removed: list[HistoryEntry] = []
        self._mirror.purge(floor, removed)
        if self._older.floor is None and self.older_max_posts:
            # the first cut: the mirror held the whole window, so below its new floor there is
            # exactly what it gave up
            self._older.floor = self._cutoff()
        self._outside_mirror(removed)
        if self._floor is None or floor > self._floor:
            self._floor = floor

    def _outside_mirror(self, entries: list[HistoryEntry]) -> None:
        """These entries' current versions are in the database (or about to be) and not in the
        mirror: the two tiers below it take them (each keeps what falls in its range)."""
        self._author_rows.add(entries)
        self._older.add(entries, self._cutoff())

    _mirror_evicted: datetime | None = None
    _buckets_evicted: datetime | None = None

    def _evict_buckets(self) -> None:
        # bucket rows older than the window only slow the lookups: drop them once a day of posts passed
        if self._newest is None:
            return
        cutoff = self._cutoff()
        if self._buckets_evicted is None or cutoff - self._buckets_evicted > timedelta(days=1):
            with self.engine.begin() as conn:
                conn.execute(sa.delete(buckets).where(buckets.c.created_at < _naive(cutoff)))
            self._buckets_evicted = cutoff

    def __len__(self) -> int:
        self._save_first()
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(posts)).scalar())

    # -- writing

    def add_many(self, entries: Sequence[HistoryEntry]) -> None:
        if not entries:
            return
        # the last version of an id wins within a batch, as in the memory store
        unique = list({e.post_id: e for e in entries}.values())
        with self._lock:
            newest = max(as_utc(e.created_at) for e in unique)
            if self._newest is None or newest > self._newest:
                self._newest = newest
            if not self.write_behind or self._mirror is None:
                self._write(unique)
                self._update_mirror(unique)
                if self._journal is not None:
                    self._journal.append(("add", [_copy(e) for e in unique]))
                return
            self._update_mirror(unique)
            start = self._mirror_from()
            for e in unique:
                old = self._unsaved.pop(e.post_id, None)
                if old is not None and e.answered_at is None:
                    e.answered_at = old.answered_at
                self._unsaved[e.post_id] = e
                t = as_utc(e.created_at)
                if self._unsaved_oldest is None or t < self._unsaved_oldest:
                    self._unsaved_oldest = t
            # an entry older than what the mirror holds (a late post, or one the window or the cap
            # moved past) is seen by no read until it is in the database
            if len(self._unsaved) >= WRITE_BEHIND_MAX or self._unsaved_oldest < start:
                self.save()

    @property
    def unsaved(self) -> int:
        """How many entries wait for save() (write_behind)."""
        return len(self._unsaved)

    def save(self, limit: int | None = None) -> None:
        """Write the entries add_many kept back (write_behind): the oldest `limit` of them, or all;
        a no-op when there are none."""
        with self._lock:
            if not self._unsaved:
                return
            if limit is None or limit >= len(self._unsaved):
                unsaved, rest = list(self._unsaved.values()), {}
            else:
                items = list(self._unsaved.items())
                unsaved, rest = [e for _, e in items[:limit]], dict(items[limit:])
            self._write(unsaved)
            self._unsaved = rest
            self._unsaved_oldest = min((as_utc(e.created_at) for e in rest.values()), default=None)

    def _save_first(self) -> None:
        if self._unsaved:
            self.save()

    def _write(self, unique: list[HistoryEntry]) -> None:
        lsh_from = self._newest - timedelta(days=self.lsh_days)
        fresh = [e for e in unique if e.signature and as_utc(e.created_at) >= lsh_from]
        bucket_rows = []
        if fresh:
            keys = lsh_buckets(np.stack([e.signature_array() for e in fresh]))
            for e, row in zip(fresh, keys.tolist()):
                t = _naive(e.created_at)
                bucket_rows.extend((b, e.post_id, t) for b in set(row))
        # a re-tagged post may leave its old buckets: they only bring a candidate that the scoring
        # then judges on the stored (new) signature
        if self._sqlite is not None:
            self._sqlite.save([_row(e) for e in unique], bucket_rows)
        else:
            with self.engine.begin() as conn:
                conn.execute(self._upsert_posts, [_row(e) for e in unique])
                if bucket_rows:
                    conn.execute(self._insert_buckets, [{"bucket": b, "post_id": pid, "created_at": t}
                                                        for b, pid, t in bucket_rows])
        # after the commit: a read that began before it is then not cached (see get_many)
        self._forget_read(e.post_id for e in unique)
        self._evict_buckets()

    def bulk_load(self, entries: Iterable[HistoryEntry], bucket_since: datetime | None = None,
                  chunk: int = 50_000) -> int:
        """Load an archive of NEW posts (plain inserts, no upsert): LSH buckets only for posts since
        `bucket_since` (default: none — old posts are never incident candidates). Returns the count."""
        self.wait_for_mirror()
        self._save_first()
        self._forget_read()
        self._author_rows.clear()
        n = 0
        batch: list[HistoryEntry] = []
        cut = as_utc(bucket_since) if bucket_since is not None else None

        def flush() -> None:
            rows = [_row(e) for e in batch]
            fresh = [e for e in batch if cut is not None and e.signature and as_utc(e.created_at) >= cut]
            bucket_rows = []
            if fresh:
                keys = lsh_buckets(np.stack([e.signature_array() for e in fresh]))
                for e, row in zip(fresh, keys.tolist()):
                    t = _naive(e.created_at)
                    bucket_rows.extend({"bucket": b, "post_id": e.post_id, "created_at": t} for b in set(row))
            with self.engine.begin() as conn:
                conn.execute(posts.insert(), rows)
                if bucket_rows:
                    conn.execute(self._insert_buckets, bucket_rows)
            newest = max(as_utc(e.created_at) for e in batch)
            if self._newest is None or newest > self._newest:
                self._newest = newest

        for e in entries:
            batch.append(e)
            if len(batch) >= chunk:
                flush()
                n += len(batch)
                batch = []
        if batch:
            flush()
            n += len(batch)
        if self._mirror is not None and self._newest is not None:
            self._mirror, self._floor, self._older = self._read_mirror()
        return n

    def record_answer(self, post_id: str, answered_at: datetime) -> bool:
        self._save_first()
        with self._lock:
            with self.engine.begin() as conn:
                found = conn.execute(U_ANSWER, {"pid": post_id, "at": _naive(answered_at)}).rowcount > 0
            self._forget_read([post_id])
            if found and self._mirror is not None:
                self._mirror.record_answer(post_id, answered_at)
            if found and self._journal is not None:
                self._journal.append(("answer", post_id, answered_at))
        return found

    # -- reading

    def _select(self, where) -> list[HistoryEntry]:
        with self.engine.connect() as conn:
            return [_entry(r) for r in conn.execute(sa.select(posts).where(where))]

    def _run(self, statement, params: dict) -> list[HistoryEntry]:
        with self.engine.connect() as conn:
            return [_entry(r) for r in conn.execute(statement, params)]

    def get(self, post_id: str) -> HistoryEntry | None:
        return self.get_many([post_id]).get(post_id)

    def get_many(self, post_ids: Iterable[str]) -> dict[str, HistoryEntry]:
        ids = set(post_ids)
        out = {}
        cache = self._read_cache
        with self._lock:
            epoch = self._read_epoch
            unsaved = {i: self._unsaved[i] for i in ids if i in self._unsaved}
            if cache is not None:
                for i in ids - unsaved.keys():
                    e = cache.get(i)
                    if e is not None:
                        cache.move_to_end(i)
                        out[i] = e
        for chunk in _chunks(sorted(ids - unsaved.keys() - out.keys())):
            found = self._read_posts(chunk)
            with self._lock:
                keep = cache is not None and epoch == self._read_epoch
                for e in found:
                    out[e.post_id] = e
                    if keep:
                        cache[e.post_id] = e
                if keep:
                    while len(cache) > ENTRY_CACHE_MAX:
                        cache.popitem(last=False)
        out.update(unsaved)
        return out

    def _read_posts(self, post_ids: list[str]) -> list[HistoryEntry]:
        if self._sqlite is not None:
            return self._sqlite.posts(post_ids)
        return self._run(Q_BY_IDS, {"ids": post_ids})

    def _forget_read(self, post_ids: Iterable[str] | None = None) -> None:
        """Drop cached reads of these posts (all of them with None): their rows changed."""
        if self._read_cache is None:
            return
        with self._lock:
            self._read_epoch += 1
            if post_ids is None:
                self._read_cache.clear()
            else:
                for i in post_ids:
                    self._read_cache.pop(i, None)

    def by_authors(self, author_ids, since=None, related=None):
        authors = sorted({a for a in author_ids if a is not None})
        if not authors:
            return {}
        with self._lock:
            if self._mirror is None or self._newest is None or since is None:
                self._save_first()
                return self._sql_by_authors(authors, since, None, related)[0]
            since = as_utc(since)
            mirror = self._mirror
            recent = _screened(mirror.by_authors(authors, since), related)
            if since >= self._mirror_from():
                return recent
            # what the mirror does not hold: the authors' light rows (memory, else SQL once),
            # screened by the hint, and only the posts left are read whole
            rows = {a: self._author_rows.get(a, since) for a in authors}
            missing = [a for a, held in rows.items() if held is None]
            if missing:
                rows.update(self._read_author_rows(missing, since))
            wanted: dict[str, list[str]] = {}
            for a, held in rows.items():
                terms, topics = related[a] if related and a in related else (None, None)
                ids = screened(held, since, mirror, terms, topics)
                if ids:
                    wanted[a] = ids
            entries = self.get_many([pid for ids in wanted.values() for pid in ids])
            out: dict[str, list[HistoryEntry]] = {}
            for a, ids in wanted.items():
                # the current version decides (a re-tag may have moved the post in time)
                older = sorted((entries[p] for p in ids if p in entries and entries[p].author_id == a
                                and as_utc(entries[p].created_at) >= since), key=lambda e: e.created_at)
                if older:
                    out[a] = older
            for a, mine in recent.items():
                out.setdefault(a, []).extend(mine)
            return out

    def _read_author_rows(self, authors: list[str], since: datetime) -> dict[str, HeldRows]:
        """The authors' posts from `since` on that the mirror does not hold, as light rows: read
        from SQL and kept (under the lock, so no write of ours comes between reading and keeping)."""
        out = {a: HeldRows(since) for a in authors}
        for chunk in _chunks(authors):
            if self._sqlite is not None:
                rows = self._sqlite.author_rows(chunk, _naive(since))
            else:
                with self.engine.connect() as conn:
                    rows = [(r.post_id, r.author_id, _aware(r.created_at), r.topic, r.terms)
                            for r in conn.execute(Q_AUTHOR_ROWS, {"ids": chunk, "since": _naive(since)})]
            for post_id, author_id, created_at, topic, terms in rows:
                if post_id not in self._mirror:
                    out[author_id].rows[post_id] = LightRow(created_at, topic, terms or b"")
        for a, held in out.items():
            self._author_rows.put(a, held)
        return out

    def _sql_by_authors(self, authors, since, until, related) -> tuple[dict[str, list[HistoryEntry]], set[str]]:
        """(entries, authors with any row in the range, screened out or not)."""
        if related:
            present: set[str] = set()
            out = self._related_by_authors({a: related[a] for a in authors if a in related}, since, until, present)
            plain = [a for a in authors if a not in related]
            if plain:
                more, found = self._sql_by_authors(plain, since, until, None)
                out.update(more)
                present |= found
            return out, present
        out: dict[str, list[HistoryEntry]] = defaultdict(list)
        for chunk in _chunks(list(authors)):
            if since is not None or until is not None:
                found = self._run(Q_BY_AUTHORS_SINCE, {"ids": chunk, **_bounds(since, until)})
            else:
                found = self._run(Q_BY_AUTHORS, {"ids": chunk})
            for e in found:
                out[e.author_id].append(e)
        return dict(out), set(out)

    def _related_by_authors(self, related: dict, since, until=None, present: set | None = None) -> dict[str, list[HistoryEntry]]:
        """Only the entries sharing a term or the topic with the new posts: a prolific author's
        thousand posts are screened on two light columns, and only the few left are read whole."""
        wanted: list[str] = []
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(related)):
                params = {"ids": chunk, **_bounds(since, until)}
                rows = conn.execute(Q_LIGHT_BY_AUTHORS, params).all()
                if not rows:
                    continue
                if present is not None:
                    present.update(r.author_id for r in rows)
                blobs = [r.terms or b"" for r in rows]
                lengths = np.fromiter((len(b) // 4 for b in blobs), dtype=np.int64, count=len(blobs))
                flat = np.frombuffer(b"".join(blobs), dtype="<u4")
                owner = np.repeat(np.arange(len(rows)), lengths)
                # per author: rows sharing any of its new posts' terms, or its topics
                by_author_rows: dict[str, list[int]] = defaultdict(list)
                for k, r in enumerate(rows):
                    by_author_rows[r.author_id].append(k)
                hit = np.zeros(len(rows), dtype=bool)
                for author, ks in by_author_rows.items():
                    terms, topics = related[author]
                    if terms:
                        sel = np.isin(owner, ks)
                        shared = sel & np.isin(flat, np.fromiter(terms, dtype=np.uint32, count=len(terms)))
                        hit[np.unique(owner[shared])] = True
                    if topics:
                        for k in ks:
                            if rows[k].topic in topics:
                                hit[k] = True
                wanted.extend(rows[k].post_id for k in np.flatnonzero(hit))
        out: dict[str, list[HistoryEntry]] = defaultdict(list)
        for e in self.get_many(wanted).values():
            out[e.author_id].append(e)
        return dict(out)

    def _split(self, since: datetime) -> tuple[datetime | None, datetime | None]:
        """(the mirror's part from, SQL's part until) of a lookup since `since`: the mirror answers
        from its floor on, the database for what is older (both None parts mean: not that side).
        Unsaved entries are all in the mirror (add_many saves any older one at once)."""
        with self._lock:
            if self._mirror is None or self._newest is None:
                self._save_first()
                return None, None
            start = self._mirror_from()
        since = as_utc(since)
        return (since, None) if since >= start else (start, start)

    def similar(self, signatures, since):
        signatures = np.asarray(signatures, dtype=np.uint32).reshape(-1, NUM_PERM)
        with self._lock:
            mirror_from, until = self._split(since)
            if mirror_from is None:
                return self._sql_similar(signatures, since)
            shortfall: list[dict[int, int]] = []
            recent = self._mirror.similar(signatures, mirror_from, shortfall if until is not None else None)
            if until is None:
                return recent
            # older posts only where the mirror held fewer than BUCKET_CAP (a bucket it filled has
            # its newest posts there already): from the keys below the mirror, then from SQL
            since = as_utc(since)
            kept, shortfall, sql_until = self._older_part(self._older.similar, shortfall, since, until)
        found = self.get_many({pid for ids in kept for pid in ids})
        older = [[found[p] for p in ids if p in found] for ids in kept]
        if sql_until is not None and any(shortfall):
            older = [_merged(o, s) for o, s in zip(older, self._sql_similar(signatures, since, sql_until, shortfall))]
        return [_merged(new, old) for new, old in zip(recent, older)]

    def _older_part(self, lookup, shortfall, since: datetime, until: datetime):
        """(ids from the keys below the mirror, what they still lack, and until when SQL must be
        asked for that: None when those keys cover all of [since, until))."""
        kept, lacking = lookup(shortfall, since, until)  # holding nothing, it lacks all of shortfall
        older = self._older
        return kept, lacking, (None if older.covers(since) else older.floor or until)

    def _sql_similar(self, signatures, since, until=None, shortfall=None):
        """Per signature, the newest BUCKET_CAP posts in [since, until) of each of its buckets (with
        `shortfall`, only its buckets and only that many)."""
        keys = lsh_buckets(signatures).tolist()
        if shortfall is None:
            shortfall = [dict.fromkeys(row, BUCKET_CAP) if sig[0] != 0xFFFFFFFF else {}
                         for sig, row in zip(signatures, keys)]
        wanted = sorted({b for short in shortfall for b in short})
        by_bucket: dict[int, list[str]] = defaultdict(list)  # newest first
        params = _bounds(since, until)
        with self.engine.connect() as conn:
            for chunk in _chunks(wanted):
                for bucket, post_id in conn.execute(Q_SIMILAR, {"buckets": chunk, **params}):
                    by_bucket[bucket].append(post_id)
        out_ids = [dict.fromkeys(pid for b, n in short.items() for pid in by_bucket.get(b, ())[:n])
                   for short in shortfall]
        entries = self.get_many({pid for ids in out_ids for pid in ids})
        return [[entries[p] for p in ids if p in entries] for ids in out_ids]

    def at_places(self, keys, since):
        keys = set(keys)
        with self._lock:
            mirror_from, until = self._split(since)
            if mirror_from is None:
                return self._sql_at_places(dict.fromkeys(keys, PLACE_CAP), since)
            shortfall: dict[tuple, int] = {}
            out = self._mirror.at_places(keys, mirror_from, shortfall if until is not None else None)
            if until is None:
                return out
            since = as_utc(since)
            kept, shortfall, sql_until = self._older_part(self._older.at_places, shortfall, since, until)
        found = self.get_many({pid for ids in kept.values() for pid in ids})
        for key, ids in kept.items():
            out[key] = _merged(out.get(key, []), [found[p] for p in ids if p in found])
        if sql_until is not None and shortfall:
            for key, older in self._sql_at_places(shortfall, since, sql_until).items():
                out[key] = _merged(out.get(key, []), older)
        return out

    def _sql_at_places(self, shortfall: dict[tuple, int], since, until=None) -> dict[tuple, list[HistoryEntry]]:
        """The newest shortfall[key] posts in [since, until) of each (region, group, location_key)."""
        grouped: dict[tuple, list[str]] = defaultdict(list)
        for region, group, key in shortfall:
            grouped[(region, group)].append(key)
        out: dict[tuple, list[HistoryEntry]] = defaultdict(list)
        for (region, group), locs in grouped.items():
            for chunk in _chunks(sorted(locs)):
                params = {"region": region, "group": group, "keys": chunk, **_bounds(since, until)}
                with self.engine.connect() as conn:
                    for r in conn.execute(Q_PLACES, params):
                        key = (r.region, r.topic_group, r.location_key)
                        if r.rank <= shortfall.get(key, 0):
                            out[key].append(_entry(r))
        return dict(out)

    def incident_sizes(self, incident_ids):
        ids = sorted(set(i for i in incident_ids if i is not None))
        out = {i: 0 for i in ids}
        if not ids:
            return out
        wanted = set(ids)
        with self._lock:
            # unsaved entries count from memory; their database rows (older versions) not at all
            unsaved = [e for e in self._unsaved.values() if e.incident_id in wanted]
            skip = sorted(self._unsaved)
        if self._sqlite is not None:
            out.update(self._sqlite.incident_sizes(ids, skip))
        else:
            with self.engine.connect() as conn:
                for chunk in _chunks(ids):
                    if skip:
                        rows = conn.execute(Q_INCIDENTS_EXCEPT, {"ids": chunk, "skip": skip})
                    else:
                        rows = conn.execute(Q_INCIDENTS, {"ids": chunk})
                    for iid, n in rows:
                        out[iid] = int(n)
        for e in unsaved:
            out[e.incident_id] += 1
        return out

    def window(self, since, until, region=None):
        self._save_first()
        cond = sa.and_(posts.c.created_at >= _naive(since), posts.c.created_at < _naive(until))
        if region is not None:
            cond = sa.and_(cond, posts.c.region == region)
        return sorted(self._select(cond), key=lambda e: e.created_at)

    def issue_counts(self, since, until, region=None):
        self._save_first()
        cond = sa.and_(posts.c.created_at >= _naive(since), posts.c.created_at < _naive(until))
        if region is not None:
            cond = sa.and_(cond, posts.c.region == region)
        q = (
            sa.select(posts.c.region, posts.c.topic_group, posts.c.place, sa.func.count())
            .where(cond)
            .group_by(posts.c.region, posts.c.topic_group, posts.c.place)
        )
        with self.engine.connect() as conn:
            return {IssueKey(r, g, p): int(n) for r, g, p, n in conn.execute(q)}

    # -- retention

    def purge(self, before: datetime) -> int:
        self._save_first()
        with self._lock:
            if self._mirror is not None:
                self._mirror.purge(before)
            self._author_rows.clear()
            self._older.purge(before)
            if self._journal is not None:
                self._journal.append(("purge", before))
        cutoff = _naive(before)
        with self.engine.begin() as conn:
            conn.execute(sa.delete(buckets).where(buckets.c.created_at < cutoff))
            removed = conn.execute(sa.delete(posts).where(posts.c.created_at < cutoff)).rowcount
        self._forget_read()
        return removed

    def purge_expired(self, now: datetime | None = None) -> int:
        now = as_utc(now) if now is not None else datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(sa.delete(buckets).where(buckets.c.created_at < _naive(now - timedelta(days=self.lsh_days))))
        removed = self.purge(now - timedelta(days=self.retention_days))
        if removed:
            log.info("purged %d history entries older than %d days", removed, self.retention_days)
        return removed

    def close(self) -> None:
        self.wait_for_mirror(30)
        self.save()
        self.engine.dispose()


def _copy(e: HistoryEntry) -> HistoryEntry:
    # the journal keeps its own copies: the mirror store normalizes the entries it is given in place
    return copy.copy(e)


def _merged(recent: list[HistoryEntry], older: list[HistoryEntry]) -> list[HistoryEntry]:
    """The database's older entries, then the mirror's (its version of a post wins)."""
    if not older:
        return recent
    held = {e.post_id for e in recent}
    return [e for e in older if e.post_id not in held] + recent


def _screened(found: dict[str, list[HistoryEntry]], related: dict | None) -> dict[str, list[HistoryEntry]]:
    """Keep the entries sharing a term or the topic with the author's new posts (the `related` hint),
    as the SQL path does."""
    if not related:
        return found
    out = {}
    for author, entries in found.items():
        terms, topics = related.get(author, (set(), set()))
        kept = [e for e in entries if e.topic in topics or not terms.isdisjoint(e.terms)]
        if kept:
            out[author] = kept
    return out


def open_store(
    url_or_path: str | Path,
    lsh_days: int = DEFAULT_LSH_DAYS,
    retention_days: int = DEFAULT_RETENTION_DAYS,
    migrate: bool = True,
    mirror_recent: bool = True,
    write_behind: bool = False,
    mirror_in_background: bool = False,
    hold_mirror: bool = False,
    mirror_max_posts: int | None = None,
    author_rows_max: int = DEFAULT_MAX_ROWS,
    older_max_posts: int = OLDER_MAX_POSTS,
    plain_sql: bool = True,
) -> SqlHistoryStore:
    """Migrate (unless told not to) and open the history store at a URL or SQLite file path.

    `mirror_recent`: keep the last `lsh_days` in memory for incident lookups (one writer process).
    `write_behind` (with the mirror): database writes wait for `save()` (see SqlHistoryStore).
    `mirror_in_background`: read the mirror on a thread; lookups use the database until it is there.
    `mirror_max_posts`: keep at most this many newest posts in the mirror; lookups older than them
    go to the database.
    `plain_sql`: on SQLite, the look-ups by key and the save as plain SQL (storage/sqlite.py).
    """
    url = upgrade(url_or_path) if migrate else database_url(url_or_path)
    return SqlHistoryStore(make_engine(url), lsh_days=lsh_days, retention_days=retention_days,
                           mirror_recent=mirror_recent, write_behind=write_behind,
                           mirror_in_background=mirror_in_background, hold_mirror=hold_mirror,
                           mirror_max_posts=mirror_max_posts, author_rows_max=author_rows_max,
                           older_max_posts=older_max_posts, plain_sql=plain_sql)

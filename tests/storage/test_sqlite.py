"""The plain-SQL statements on SQLite read and write exactly as SQLAlchemy's statements do."""
from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import natasha  # noqa: F401 - before pymorphy2
import numpy as np
import pytest
import sqlalchemy as sa

from model.history import HistoryEntry
from storage import open_store
from storage.history import Q_AUTHOR_ROWS, Q_BY_IDS, Q_INCIDENTS_EXCEPT, _naive, buckets, posts
from storage.sqlite import SqliteStatements

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=timezone.utc)


def entries() -> list[HistoryEntry]:
    rng = np.random.RandomState(3)
    out = []
    for k in range(40):
        full = k % 3 != 0
        out.append(HistoryEntry(
            post_id=f"vk-{k}" if k % 5 else f"ок «{k}» ёж",  # quotes and non-ASCII survive the JSON parameter
            author_id=f"a{k % 4}" if k % 7 else None,
            region="omsk",
            # whole seconds too: SQLAlchemy stores them with .000000, and fromisoformat must agree
            created_at=NOW - timedelta(hours=k, microseconds=0 if k % 2 else 1234),
            detected_at=NOW - timedelta(hours=k) + timedelta(minutes=3) if full else None,
            group="ЖКХ" if full else None,
            topic="Отсутствие горячей воды" if full else None,
            location_key="h:омск|ленина|5" if full else None,
            place="Омск" if full else None,
            source="vk" if full else None,
            signature=rng.randint(0, 2**32 - 1, size=64, dtype=np.uint64).astype("<u4").tobytes() if full else b"",
            terms=tuple(int(t) for t in rng.randint(0, 2**32 - 1, size=5, dtype=np.uint64)) if full else (),
            facts=frozenset({"num:5", "dmg:flood"}) if full else frozenset(),
            answered_at=NOW + timedelta(hours=1) if k % 4 == 0 else None,
            incident_id=f"inc-{k % 6}" if k % 8 else None,
            tags={"importance": "high", "repeat_of": ["vk-1"]} if full else {},
        ))
    return out


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "reads.db", mirror_recent=False)
    s.add_many(entries())
    yield s
    s.close()


def statements(store, statement, params) -> list:
    with store.engine.connect() as conn:
        return conn.execute(statement, params).all()


def test_posts_by_id_are_the_same_entries_as_through_sqlalchemy(store):
    reads = SqliteStatements(store.engine, posts, buckets)
    ids = [e.post_id for e in entries()] + ["missing", 'a "quoted" id']
    fast = sorted(reads.posts(ids), key=lambda e: e.post_id)
    slow = sorted(store._run(Q_BY_IDS, {"ids": ids}), key=lambda e: e.post_id)
    assert len(fast) == 40 and fast == slow
    assert {e.post_id: e for e in fast} == {e.post_id: e for e in entries()}  # and as written
    assert all(e.created_at.tzinfo is not None for e in fast)
    assert reads.posts([]) == [] and reads.posts(["missing"]) == []


def test_incident_sizes_skip_the_stale_rows(store):
    reads = SqliteStatements(store.engine, posts, buckets)
    incidents = [f"inc-{k}" for k in range(7)]
    skip = ["vk-1", "vk-2", "vk-13", "nope"]
    slow = dict(statements(store, Q_INCIDENTS_EXCEPT, {"ids": incidents, "skip": skip}))
    assert reads.incident_sizes(incidents, skip) == slow and sum(slow.values()) > 10
    everything = reads.incident_sizes(incidents)
    assert sum(everything.values()) == sum(slow.values()) + 3  # vk-1, vk-2 and vk-13 carry an incident


def test_author_rows_compare_times_as_sqlalchemy_stores_them(store):
    reads = SqliteStatements(store.engine, posts, buckets)
    authors = ["a0", "a1", "a2", "a3", "nobody"]
    for since in (NOW - timedelta(hours=11), NOW - timedelta(hours=12, microseconds=1234), NOW - timedelta(days=30)):
        fast = sorted(reads.author_rows(authors, _naive(since)))
        slow = sorted((r.post_id, r.author_id, r.created_at.replace(tzinfo=timezone.utc), r.topic, r.terms)
                      for r in statements(store, Q_AUTHOR_ROWS, {"ids": authors, "since": _naive(since)}))
        assert fast == slow and fast
    # the boundary is inclusive, to the microsecond
    exact = [e for e in entries() if e.author_id == "a1"][0]
    assert exact.post_id in {r[0] for r in reads.author_rows(["a1"], _naive(exact.created_at))}
    assert exact.post_id not in {r[0] for r in reads.author_rows(["a1"], _naive(exact.created_at + timedelta(microseconds=1)))}


def test_only_a_sqlite_engine_with_the_expected_columns_is_taken(store):
    other = sa.MetaData()
    with pytest.raises(ValueError, match="expected the history_posts columns"):
        SqliteStatements(store.engine, sa.Table("history_posts", other, sa.Column("post_id", sa.String)), buckets)
    with pytest.raises(ValueError, match="expected the history_buckets columns"):
        SqliteStatements(store.engine, posts, sa.Table("history_buckets", other, sa.Column("bucket", sa.Integer)))
    engine = sa.create_mock_engine("postgresql://", executor=None)  # no driver needed: only the dialect is read
    with pytest.raises(ValueError, match="expected a sqlite engine, got postgresql"):
        SqliteStatements(engine, posts, buckets)


def raw_rows(path) -> dict[str, list[tuple]]:
    con = sqlite3.connect(path)
    try:
        return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                for t in ("history_posts", "history_buckets")}
    finally:
        con.close()


def test_a_save_stores_the_same_bytes_as_sqlalchemys_upsert(tmp_path):
    """Both ways into two databases, with re-tags (an answer time kept, a changed signature) and
    empty fields: every row of both tables is the same, value for value and type for type."""
    paths = {}
    for plain in (True, False):
        paths[plain] = tmp_path / f"{plain}.db"
        s = open_store(paths[plain], mirror_recent=False, plain_sql=plain)
        assert (s._sqlite is not None) == plain
        first = entries()
        s.add_many(first)
        again = [replace(e, answered_at=None, topic="Ямы", signature=first[(k + 1) % 40].signature,
                         tags={"repeat_of": ["x"]}) for k, e in enumerate(first[:15])]
        s.add_many(again)
        got = s.get_many([e.post_id for e in first])
        assert got[first[0].post_id].answered_at == first[0].answered_at  # kept through the re-tag
        assert got[first[0].post_id].topic == "Ямы" and len(got) == 40
        s.close()
    plain, statements = raw_rows(paths[True]), raw_rows(paths[False])
    assert len(plain["history_posts"]) == 40 and len(plain["history_buckets"]) > 40 * 10
    assert plain == statements
    con = sqlite3.connect(paths[True])
    assert con.execute("SELECT count(DISTINCT typeof(created_at)) FROM history_buckets").fetchone() == (1,)
    con.close()

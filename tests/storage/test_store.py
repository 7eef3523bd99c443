"""The SQL history store: migrations, round trip, the same answers as the memory store, retention."""
import shutil
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import sqlalchemy as sa

from model.doc import Doc
from model.fingerprint import Fingerprinter
from model.history import BUCKET_CAP, HistoryEntry, IssueKey, MemoryHistoryStore
from model.incidents import IncidentTagger
from model.profiles import Profile, Profiles
from model.records import Post
from model.repeats import REASON, RepeatTagger
from storage import SqlHistoryStore, open_store, upgrade

NOW = datetime(2026, 4, 1, 12, 0, tzinfo=timezone.utc)
OMSK = timezone(timedelta(hours=6))


@pytest.fixture(scope="module")
def fingerprinter():
    return Fingerprinter()


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """One migrated database file; tests that don't test migrations work on a copy."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    open_store(path).close()
    return path


@pytest.fixture(params=["mirror", "sql-only", "write-behind", "sql-only-statements"])
def store(tmp_path, migrated, request):
    """sql-only-statements: SQLAlchemy's statements for the look-ups by key, as on PostgreSQL."""
    shutil.copy(migrated, tmp_path / "history.db")
    s = open_store(tmp_path / "history.db", migrate=False, mirror_recent=not request.param.startswith("sql-only"),
                   write_behind=request.param == "write-behind", plain_sql=request.param != "sql-only-statements")
    yield s
    s.close()


def traced(store) -> list[str]:
    """Every statement the store's SQLite connections run from now on, whichever way it was sent
    (SQLAlchemy's statements or storage/sqlite.py's plain SQL)."""
    seen: list[str] = []
    store.engine.dispose()  # the connections opened from now on carry the trace
    sa.event.listen(store.engine, "connect", lambda dbapi, _record: dbapi.set_trace_callback(seen.append))
    return seen


def sig(seed):
    return np.random.RandomState(seed).randint(0, 2**32 - 1, size=64, dtype=np.uint64).astype("<u4").tobytes()


def entry(pid, hours_ago=0.0, author="a1", **kw):
    base = dict(post_id=pid, author_id=author, region="omsk", created_at=NOW - timedelta(hours=hours_ago),
                group="ЖКХ", topic="Отсутствие горячей воды", location_key="h:омск|ленин|5",
                place="Омск / Кировский округ", source="vk", signature=sig(1), terms=(11, 22, 33),
                facts=frozenset({"num:5", "dmg:flood"}))
    base.update(kw)
    return HistoryEntry(**base)


def test_migrations_create_the_schema_at_revision_0001(tmp_path):
    url = upgrade(tmp_path / "sub" / "h.db", "0001_history")
    assert url.startswith("sqlite:///") and (tmp_path / "sub" / "h.db").exists()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select version_num from alembic_version")).scalar() == "0001_history"
    names = set(sa.inspect(engine).get_table_names())
    assert {"history_posts", "history_buckets", "alembic_version"} <= names
    cols = {c["name"] for c in sa.inspect(engine).get_columns("history_posts")}
    assert "text" not in cols and {"signature", "terms", "facts", "answered_at", "incident_id"} <= cols
    upgrade(url)  # on to the newest revision (later revisions build on 0001)
    upgrade(url)  # idempotent
    with engine.connect() as conn:
        assert conn.execute(sa.text("select version_num from alembic_version")).scalar() != "0001_history"
    engine.dispose()


def test_round_trip_keeps_every_field_and_times_in_utc(store):
    e = entry("vk-1", detected_at=(NOW + timedelta(minutes=5)).astimezone(OMSK), answered_at=NOW + timedelta(hours=2),
              incident_id="inc-vk-1", tags={"repeat_of": ["vk-0"], "importance": "high"},
              created_at=NOW.astimezone(OMSK))
    store.add_many([e])
    got = store.get("vk-1")
    assert got.created_at == NOW and got.created_at.tzinfo is not None
    assert got.detected_at == NOW + timedelta(minutes=5)
    assert got.answered_at == NOW + timedelta(hours=2)
    assert (got.group, got.topic, got.location_key, got.place, got.source) == (e.group, e.topic, e.location_key,
                                                                                e.place, "vk")
    assert got.signature == e.signature and got.terms == (11, 22, 33) and got.facts == e.facts
    assert got.incident_id == "inc-vk-1" and got.tags == {"repeat_of": ["vk-0"], "importance": "high"}
    assert store.get("nope") is None and len(store) == 1


def test_upsert_by_id_and_record_answer(store):
    store.add_many([entry("vk-1"), entry("vk-2", 1)])
    store.add_many([entry("vk-1", topic="Другое")])
    assert len(store) == 2 and store.get("vk-1").topic == "Другое"
    assert store.record_answer("vk-2", NOW) is True
    assert store.get("vk-2").answered_at == NOW
    assert store.record_answer("unknown", NOW) is False
    store.add_many([entry("vk-2", 1, topic="Другое")])  # re-tagged without answered_at: the answer stays
    assert store.get("vk-2").answered_at == NOW and store.get("vk-2").topic == "Другое"


def test_queries_answer_like_the_memory_store(store):
    mem = MemoryHistoryStore()
    entries = [
        entry("p1", 50, author="a1", incident_id="i1"),
        entry("p2", 5, author="a1", incident_id="i1", signature=sig(2)),
        entry("p3", 4, author="a2", incident_id="i1", location_key="h:омск|мир|7", place="Омск / Советский округ"),
        entry("p4", 3, author="a3", incident_id="i2", group="Дороги", signature=sig(3)),
        entry("p5", 1, author=None, region="altai_krai", incident_id="i3"),
    ]
    for s in (store, mem):
        s.add_many(entries)
    since = NOW - timedelta(hours=10)
    for s in (store, mem):
        by = s.by_authors(["a1", "a2", "zz"], since=since)
        assert {a: [e.post_id for e in es] for a, es in by.items()} == {"a1": ["p2"], "a2": ["p3"]}
        near = s.similar(np.stack([np.frombuffer(sig(1), "<u4"), np.frombuffer(sig(9), "<u4")]), since=since)
        assert sorted(e.post_id for e in near[0]) == ["p3", "p5"] and near[1] == []
        places = s.at_places([("omsk", "ЖКХ", "h:омск|ленин|5"), ("omsk", "Дороги", "h:омск|ленин|5")], since=since)
        assert {k: sorted(e.post_id for e in v) for k, v in places.items()} == {
            ("omsk", "ЖКХ", "h:омск|ленин|5"): ["p2"], ("omsk", "Дороги", "h:омск|ленин|5"): ["p4"]}
        assert s.incident_sizes(["i1", "i2", "none"]) == {"i1": 3, "i2": 1, "none": 0}
        assert [e.post_id for e in s.window(since, NOW, region="omsk")] == ["p2", "p3", "p4"]
        assert s.issue_counts(since, NOW) == {
            IssueKey("omsk", "ЖКХ", "Омск / Кировский округ"): 1, IssueKey("omsk", "ЖКХ", "Омск / Советский округ"): 1,
            IssueKey("omsk", "Дороги", "Омск / Кировский округ"): 1, IssueKey("altai_krai", "ЖКХ", "Омск / Кировский округ"): 1}
        assert set(s.get_many(["p1", "p4", "x"])) == {"p1", "p4"}
    # a reopened store answers the same (its mirror is reloaded from the database)
    again = SqlHistoryStore(store.engine, mirror_recent=store.mirror_recent)
    near = again.similar(np.frombuffer(sig(1), "<u4")[None, :], since=since)
    assert sorted(e.post_id for e in near[0]) == ["p3", "p5"]
    assert again.record_answer("p3", NOW) and store.engine and again.get("p3").answered_at == NOW


def test_retention_purges_old_entries_and_old_lsh_buckets(tmp_path, migrated):
    shutil.copy(migrated, tmp_path / "h.db")
    s = open_store(tmp_path / "h.db", retention_days=30, lsh_days=7, migrate=False)
    s.add_many([entry("old", 24 * 40), entry("mid", 24 * 5), entry("new", 1)])
    with s.engine.connect() as conn:
        bucketed = {r[0] for r in conn.execute(sa.text("select distinct post_id from history_buckets"))}
    assert bucketed == {"mid", "new"}  # a post older than lsh_days is never an incident candidate
    assert s.purge_expired(now=NOW + timedelta(days=3)) == 1
    assert s.get("old") is None and s.get("mid") is not None and len(s) == 2
    with s.engine.connect() as conn:
        bucketed = {r[0] for r in conn.execute(sa.text("select distinct post_id from history_buckets"))}
    assert bucketed == {"new"}
    assert s.purge(NOW) == 2 and len(s) == 0
    s.close()
    mem = MemoryHistoryStore(retention_days=30, lsh_days=7)
    mem.add_many([entry("old", 24 * 40), entry("mid", 24 * 5), entry("new", 1)])
    assert mem.purge_expired(now=NOW + timedelta(days=3)) == 1 and len(mem) == 2
    assert mem.similar(np.frombuffer(sig(1), "<u4")[None, :], since=NOW - timedelta(days=60)) == [[mem.get("new")]]


def test_the_taggers_persist_across_restarts(tmp_path, fingerprinter, migrated):
    shutil.copy(migrated, tmp_path / "svc.db")
    profiles = Profiles({"omsk": Profile("omsk", "Омск", "Asia/Omsk", frozenset({REASON}), {}, {})}, "omsk")
    texts = ["Во 2й парадной не закрыт вход в подвал. Печать сорвана, замок отсутствует. ул. Победы 12",
             "Во второй парадной снова открыт вход в подвал, печать сорвана, замка нет. Победы 12",
             "Опять открыт подвал во второй парадной, замка нет, печать сорвана"]
    results = {}
    for kind in ("sql", "memory"):
        mem = MemoryHistoryStore()
        for k, text in enumerate(texts):
            # the service restarts between posts: a fresh store object on the same file each time
            s = open_store(tmp_path / "svc.db", migrate=k == 0) if kind == "sql" else mem
            d = Doc.from_post(Post(id=f"vk-{k}", text=text, author_id="u1", created_at=NOW + timedelta(days=5 * k)), "omsk")
            IncidentTagger(s, fingerprinter=fingerprinter)([d])
            RepeatTagger(s, profiles, fingerprinter=fingerprinter)([d])
            if k < 2:
                assert s.record_answer(f"vk-{k}", NOW + timedelta(days=5 * k + 1))
            results.setdefault(kind, []).append((d.repeat_of, d.new_arguments, [e.reason for e in d.exclusions]))
            if kind == "sql":
                s.close()
    assert results["sql"] == results["memory"]
    assert results["sql"][2] == (["vk-0", "vk-1"], False, [REASON])


def test_a_plain_path_and_a_url_both_work(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    assert isinstance(s, SqlHistoryStore) and len(s) == 0
    s.close()


def test_the_recent_index_slides_with_the_newest_post():
    mem = MemoryHistoryStore(lsh_days=7)
    mem.add_many([entry("a", 24 * 20)])
    query = np.frombuffer(sig(1), "<u4")[None, :]
    assert [e.post_id for e in mem.similar(query, since=NOW - timedelta(days=60))[0]] == ["a"]
    mem.add_many([entry("b", 0, signature=sig(2))])  # 20 days newer: "a" leaves the window
    assert mem.similar(query, since=NOW - timedelta(days=60)) == [[]]
    assert mem.at_places([("omsk", "ЖКХ", "h:омск|ленин|5")], since=NOW - timedelta(days=60)) == {
        ("omsk", "ЖКХ", "h:омск|ленин|5"): [mem.get("b")]}
    assert mem.get("a") is not None and mem.by_authors(["a1"])["a1"][0].post_id == "a"  # still in the history


def test_the_related_hint_screens_a_prolific_authors_history(store):
    store.add_many([entry(f"p{k}", k, terms=(k, 1000 + k), topic=f"t{k}") for k in range(1, 40)])
    hint = {"a1": ({5, 7}, {"t20"})}
    got = store.by_authors(["a1"], since=NOW - timedelta(days=5), related=hint)
    assert sorted(e.post_id for e in got["a1"]) == ["p20", "p5", "p7"]
    full = store.by_authors(["a1"], since=NOW - timedelta(days=5))
    assert len(full["a1"]) == 39


def test_bulk_load_for_archives(tmp_path, migrated):
    shutil.copy(migrated, tmp_path / "bulk.db")
    s = open_store(tmp_path / "bulk.db", migrate=False, lsh_days=7)
    n = s.bulk_load((entry(f"b{k}", 24 * k, signature=sig(k)) for k in range(30)), bucket_since=NOW - timedelta(days=7),
                    chunk=8)
    assert n == 30 and len(s) == 30
    near = s.similar(np.frombuffer(sig(3), "<u4")[None, :], since=NOW - timedelta(days=7))
    assert [e.post_id for e in near[0]] == ["b3"]
    assert s.similar(np.frombuffer(sig(20), "<u4")[None, :], since=NOW - timedelta(days=60)) == [[]]
    s.close()


def test_memory_store_keeps_a_reported_answer_when_a_post_is_retagged():
    mem = MemoryHistoryStore()
    mem.add_many([entry("vk-1")])
    assert mem.record_answer("vk-1", NOW)
    mem.add_many([entry("vk-1", topic="Другое")])
    assert mem.get("vk-1").answered_at == NOW and mem.get("vk-1").topic == "Другое" and len(mem) == 1


def _rows_on_disk(path) -> int:
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM history_posts")).scalar()
    engine.dispose()
    return n


def test_write_behind_reads_see_unsaved_entries_and_close_saves_them(tmp_path, migrated):
    shutil.copy(migrated, tmp_path / "wb.db")
    s = open_store(tmp_path / "wb.db", migrate=False, write_behind=True)
    s.add_many([entry("w1", 2, incident_id="i1"), entry("w2", 1, author="a2")])
    assert _rows_on_disk(tmp_path / "wb.db") == 0  # nothing written yet
    # every read sees them: from the mirror, merged, or after an implicit save
    assert set(s.get_many(["w1", "w2", "x"])) == {"w1", "w2"}
    assert [e.post_id for e in s.by_authors(["a1"], since=NOW - timedelta(days=300))["a1"]] == ["w1"]
    assert _rows_on_disk(tmp_path / "wb.db") == 0
    assert s.record_answer("w2", NOW) is True  # a reported answer for a post not yet on disk
    assert _rows_on_disk(tmp_path / "wb.db") == 2
    s.add_many([entry("w3", 0, incident_id="i1")])
    assert s.incident_sizes(["i1"]) == {"i1": 2}
    s.add_many([entry("w2", 1, author="a2", incident_id="i1")])  # saved w2 re-tagged into i1, not yet saved
    s.add_many([entry("w3", 0, incident_id="i2")])  # unsaved w3 moves to i2
    assert s.incident_sizes(["i1", "i2"]) == {"i1": 2, "i2": 1}
    s.add_many([entry("w4", 0, author="a3"), entry("w5", 0, author="a3")])
    before, waiting = _rows_on_disk(tmp_path / "wb.db"), s.unsaved
    assert waiting == 4  # w2 and w3 re-tagged, w4, w5
    s.save(limit=2)  # a step between requests: the oldest two (w2 updates a row, w3 is new)
    assert s.unsaved == 2 and _rows_on_disk(tmp_path / "wb.db") == before + 1
    s.close()
    assert _rows_on_disk(tmp_path / "wb.db") == 5
    again = open_store(tmp_path / "wb.db", migrate=False)
    assert again.get("w2").answered_at == NOW and again.get("w4") is not None
    again.close()


def test_write_behind_saves_an_entry_older_than_the_mirror_at_once(tmp_path, migrated):
    shutil.copy(migrated, tmp_path / "old.db")
    s = open_store(tmp_path / "old.db", migrate=False, write_behind=True, lsh_days=7)
    s.add_many([entry("new", 0)])
    s.add_many([entry("late", 24 * 30)])  # a month old: outside the mirror, so no read would see it unsaved
    assert _rows_on_disk(tmp_path / "old.db") == 2
    assert {e.post_id for e in s.by_authors(["a1"], since=NOW - timedelta(days=60))["a1"]} == {"new", "late"}
    s.close()


@pytest.mark.parametrize("write_behind", [False, True])
def test_authors_rows_outside_the_mirror_are_read_once_and_kept_current(tmp_path, migrated, write_behind):
    """An author's posts the mirror does not hold are read from SQL once, as light rows; what
    leaves the mirror later, or is written below it, joins them, so SQL is not asked again."""
    shutil.copy(migrated, tmp_path / "a.db")
    s = open_store(tmp_path / "a.db", migrate=False, lsh_days=7, write_behind=write_behind)
    s.add_many([entry("old-a2", 24 * 20, author="a2", terms=(1, 2), topic="Ямы")])  # before the window
    since = NOW - timedelta(days=365)
    queries = traced(s)
    assert [e.post_id for e in s.by_authors(["a2"], since=since)["a2"]] == ["old-a2"]
    assert s.by_authors(["a1"], since=since) == {}  # asked SQL once: nothing outside the mirror
    author_reads = lambda: [q for q in queries if "author_id IN" in q]  # noqa: E731
    assert len(author_reads()) == 2 and "a1" in s._author_rows and "a2" in s._author_rows
    s.add_many([entry("a1-1", 0, terms=(5,), topic="Свет")])
    assert [e.post_id for e in s.by_authors(["a1"], since=since)["a1"]] == ["a1-1"]
    # ten days later a1-1 is older than the mirror's window: it left the mirror into a1's rows
    s.add_many([entry("later", -24 * 10, author="a3")])
    assert "a1-1" not in s._mirror
    got = s.by_authors(["a1"], since=since, related={"a1": ({5}, set())})
    assert [e.post_id for e in got["a1"]] == ["a1-1"]
    assert s.by_authors(["a1"], since=since, related={"a1": ({6}, {"Ямы"})}) == {}  # screened out
    # a late post and a re-tag below the mirror join the rows too
    s.add_many([entry("a2-late", 24 * 15, author="a2", terms=(9,), topic="Ямы"),
                entry("old-a2", 24 * 20, author="a2", terms=(3,), topic="Мусор")])
    got = s.by_authors(["a2"], since=since, related={"a2": ({3}, {"Ямы"})})
    assert [(e.post_id, e.topic) for e in got["a2"]] == [("old-a2", "Мусор"), ("a2-late", "Ямы")]
    assert len(author_reads()) == 2  # all of it without asking SQL by author again
    # an earlier `since` than the rows were read from is asked again
    s.by_authors(["a2"], since=since - timedelta(days=30))
    assert len(author_reads()) == 3
    # a retention purge drops the rows (they are read again, without the purged posts)
    s.purge(NOW - timedelta(days=16))
    assert "a2" not in s._author_rows
    assert [e.post_id for e in s.by_authors(["a2"], since=since)["a2"]] == ["a2-late"]
    s.close()


def test_author_rows_are_bounded_and_an_author_too_large_is_not_kept():
    from storage.authors import AuthorRows, HeldRows, light_row

    def held(author, n, prefix):
        return HeldRows(NOW - timedelta(days=1), {f"{prefix}{k}": light_row(entry(f"{prefix}{k}", k, author=author))
                                                  for k in range(n)})

    rows = AuthorRows(max_rows=5)
    rows.put("a1", held("a1", 3, "p"))
    rows.put("b", held("b", 1, "q"))
    assert len(rows) == 4 and rows.get("a1", NOW - timedelta(hours=1)) is not None
    assert rows.get("a1", NOW - timedelta(days=2)) is None  # not known from that early
    rows.put("c", held("c", 6, "c"))
    assert "c" not in rows and len(rows) == 4  # larger than the whole bound: never kept
    rows.add([entry("p9", 9), entry("p8", 8)])  # "a1" grows to 5, then "b" (asked least lately) goes
    assert "a1" in rows and "b" not in rows and len(rows) == 5
    with pytest.raises(ValueError, match="max_rows: expected a count ≥ 0, got -1"):
        AuthorRows(max_rows=-1)


@pytest.mark.parametrize("n", [5, 40])  # screened row by row, and on arrays (PACK_FROM = 16)
def test_screening_an_authors_rows_by_time_mirror_terms_and_topic(n):
    from storage.authors import HeldRows, light_row, screened

    rows = HeldRows(NOW - timedelta(days=30), {
        f"p{k}": light_row(entry(f"p{k}", 24 * k, terms=(k, 1000) if k % 2 else (k,), topic=f"t{k % 3}"))
        for k in range(n)})
    since = NOW - timedelta(days=3, hours=1)  # p0..p3
    assert sorted(screened(rows, since, set(), None, None)) == ["p0", "p1", "p2", "p3"]
    assert sorted(screened(rows, since, {"p1"}, None, None)) == ["p0", "p2", "p3"]  # the mirror's
    assert sorted(screened(rows, since, set(), {1000}, set())) == ["p1", "p3"]
    assert sorted(screened(rows, since, set(), {2}, {"t0"})) == ["p0", "p2", "p3"]
    assert screened(rows, since, set(), set(), set()) == []
    rows.rows["p2"] = light_row(entry("p2", 24 * 2, terms=(7,), topic="t9"))  # as AuthorRows.add does
    rows.packed = None
    assert sorted(screened(rows, since, set(), {7}, set())) == ["p2"]


def test_head_constant_is_the_newest_migration_and_a_current_database_skips_alembic(tmp_path, monkeypatch):
    from alembic.script import ScriptDirectory

    from storage import migrate

    assert ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_heads() == [migrate.HEAD]
    url = upgrade(tmp_path / "m.db")
    assert migrate.current_revisions(url) == [migrate.HEAD]

    def must_not_run(*a, **k):
        raise AssertionError("alembic ran on a database already at head")

    import alembic.command
    monkeypatch.setattr(alembic.command, "upgrade", must_not_run)
    assert upgrade(tmp_path / "m.db") == url
    with pytest.raises(AssertionError):
        upgrade(tmp_path / "new.db")  # a new database is migrated


def test_a_mirror_read_in_the_background_gets_what_changed_meanwhile(tmp_path, migrated, monkeypatch):
    import threading

    shutil.copy(migrated, tmp_path / "bg.db")
    s = open_store(tmp_path / "bg.db", migrate=False)
    s.add_many([entry(f"old{k}", k, signature=sig(k)) for k in range(1, 6)])
    s.close()
    gate = threading.Event()
    original = SqlHistoryStore._read_mirror

    def slow_read(self):
        mirror = original(self)
        gate.wait(5)  # the load is "still running" while the service takes posts
        return mirror

    monkeypatch.setattr(SqlHistoryStore, "_read_mirror", slow_read)
    s = open_store(tmp_path / "bg.db", migrate=False, write_behind=True, mirror_in_background=True)
    assert s._mirror is None
    # meanwhile: lookups and writes go to the database directly
    s.add_many([entry("new", 0, signature=sig(9))])
    assert s.record_answer("old2", NOW)
    query = np.stack([np.frombuffer(sig(9), "<u4"), np.frombuffer(sig(3), "<u4")])
    assert [e.post_id for e in s.similar(query, since=NOW - timedelta(days=1))[0]] == ["new"]
    assert _rows_on_disk(tmp_path / "bg.db") == 6
    gate.set()
    assert s.wait_for_mirror(5)
    # the mirror has the rows it read plus what was journalled while it read
    assert s._split(NOW - timedelta(days=1)) == (NOW - timedelta(days=1), None)  # all from the mirror
    near = s.similar(query, since=NOW - timedelta(days=1))
    assert [e.post_id for e in near[0]] == ["new"] and [e.post_id for e in near[1]] == ["old3"]
    assert s._mirror.get("old2").answered_at == NOW
    s.add_many([entry("later", 0, author="a9")])  # write-behind from now on
    assert s.unsaved == 1
    s.close()
    assert _rows_on_disk(tmp_path / "bg.db") == 7


def test_a_held_background_mirror_waits_for_start(tmp_path, migrated):
    shutil.copy(migrated, tmp_path / "held.db")
    s = open_store(tmp_path / "held.db", migrate=False)
    s.add_many([entry("p1", 1)])
    s.close()
    s = open_store(tmp_path / "held.db", migrate=False, mirror_in_background=True, hold_mirror=True)
    assert s._loader is not None and s._loader.ident is None and s._mirror is None
    s.start_mirror()
    assert s.wait_for_mirror(5) and s._mirror.get("p1") is not None
    s.close()


@pytest.mark.parametrize("write_behind,author_rows_max,older_max_posts,plain_sql",
                         [(False, 100_000, 50_000, True), (True, 100_000, 50_000, True), (True, 12, 15, True),
                          (False, 12, 0, True), (True, 12, 15, False)])
def test_a_count_capped_mirror_answers_like_the_whole_history(tmp_path, migrated, write_behind, author_rows_max,
                                                              older_max_posts, plain_sql):
    """The mirror keeps only the newest posts; lookups reaching further back get the older part from
    the authors' light rows and the window's keys kept in memory (small bounds make both come and
    go, 0 keeps no keys) and from the database. Randomized: every lookup must find what an uncapped
    memory store finds."""
    shutil.copy(migrated, tmp_path / "cap.db")
    capped = open_store(tmp_path / "cap.db", migrate=False, lsh_days=7, write_behind=write_behind,
                        mirror_max_posts=40, author_rows_max=author_rows_max, older_max_posts=older_max_posts,
                        plain_sql=plain_sql)
    whole = MemoryHistoryStore(lsh_days=7)
    rng = np.random.RandomState(7)
    places = [f"h:омск|улица{k}|{k}" for k in range(12)]
    ids: list[str] = []
    made: dict[str, tuple] = {}  # post id → (time, signature seed)
    t = NOW - timedelta(days=20)
    floors = set()
    for step in range(60):
        batch = []
        for _ in range(rng.randint(1, 8)):
            t += timedelta(minutes=int(rng.randint(5, 240)))
            signature = int(rng.randint(25))
            if ids and rng.rand() < 0.15:
                # a re-tag: the same text (a changed one may leave its old LSH rows in the database:
                # a documented extra candidate), maybe another place, group and incident
                pid = ids[rng.randint(len(ids))]
                when, signature = made[pid]
            else:
                pid, when = f"p{len(ids)}", t - timedelta(hours=float(rng.choice([0, 0, 0, 30])))  # some late
                ids.append(pid)
                made[pid] = (when, signature)
            batch.append(dict(post_id=pid, when=when, author=f"a{rng.randint(6)}",
                              sig=signature, place=places[rng.randint(len(places))],
                              group=["ЖКХ", "Дороги"][rng.randint(2)], incident=f"i{rng.randint(10)}"))
        for store in (capped, whole):
            store.add_many([HistoryEntry(post_id=b["post_id"], author_id=b["author"], region="omsk",
                                         created_at=b["when"], group=b["group"], location_key=b["place"],
                                         signature=sig(b["sig"]), terms=(b["sig"],), incident_id=b["incident"])
                            for b in batch])
        floors.add(capped._floor)
        assert len(capped._mirror) <= 40 + 40 // 32 + 8
        since = t - timedelta(hours=float(rng.choice([2, 24, 72, 24 * 6])))
        queried = [f"a{k}" for k in range(6)]
        got, want = capped.by_authors(queried, since=since), whole.by_authors(queried, since=since)
        assert {a: {e.post_id for e in es} for a, es in got.items()} == {a: {e.post_id for e in es} for a, es in want.items()}
        # the repeats step looks a year back: past the window, by the hint
        year = t - timedelta(days=365)
        hint = {a: ({int(rng.randint(25))}, {None} if rng.rand() < 0.2 else set()) for a in queried}
        got, want = capped.by_authors(queried, since=year, related=hint), whole.by_authors(queried, since=year)
        want = {a: [e for e in es if e.topic in hint[a][1] or not hint[a][0].isdisjoint(e.terms)] for a, es in want.items()}
        assert {a: {(e.post_id, e.created_at) for e in es} for a, es in got.items()} == \
               {a: {(e.post_id, e.created_at) for e in es} for a, es in want.items() if es}
        signatures = np.stack([np.frombuffer(sig(k), "<u4") for k in range(0, 25, 3)])
        for g, w in zip(capped.similar(signatures, since), whole.similar(signatures, since)):
            assert {e.post_id for e in g} == {e.post_id for e in w}
        keys = [("omsk", g, p) for g in ("ЖКХ", "Дороги") for p in places[:6]]
        got, want = capped.at_places(keys, since), whole.at_places(keys, since)
        assert {k: {(e.post_id, e.incident_id) for e in v} for k, v in got.items()} == \
               {k: {(e.post_id, e.incident_id) for e in v} for k, v in want.items()}
    assert len(floors - {None}) > 10  # the cap really moved the mirror's floor, many times
    if older_max_posts:
        assert 0 < len(capped._older) <= older_max_posts + older_max_posts // 32
    capped.close()
    assert _rows_on_disk(tmp_path / "cap.db") == len(ids)  # nothing evicted from memory was lost


def test_the_mirror_of_a_reopened_store_is_its_newest_posts(tmp_path, migrated):
    shutil.copy(migrated, tmp_path / "re.db")
    s = open_store(tmp_path / "re.db", migrate=False)
    s.add_many([entry(f"r{k}", hours_ago=50 - k, author=f"a{k}", signature=sig(k % 2)) for k in range(50)])
    s.close()
    again = open_store(tmp_path / "re.db", migrate=False, mirror_max_posts=20)
    assert len(again._mirror) == 20 and again.get("r49") is not None
    assert {e.post_id for e in again._mirror._entries.values()} == {f"r{k}" for k in range(30, 50)}
    odd = np.frombuffer(sig(1), "<u4")[None, :]
    assert len(again._older) == 30  # the incident look-ups' keys of the rest of the window
    near = again.similar(odd, since=NOW - timedelta(hours=45))
    assert {e.post_id for e in near[0]} == {f"r{k}" for k in range(5, 50, 2)}  # 5..29 read by id
    # with room for only 10 of those keys, the rest is SQL's: the same answer
    few = open_store(tmp_path / "re.db", migrate=False, mirror_max_posts=20, older_max_posts=10)
    assert len(few._older) == 10 and few._older.floor == NOW - timedelta(hours=31) + timedelta(microseconds=1)
    assert {e.post_id for e in few.similar(odd, since=NOW - timedelta(hours=45))[0]} == {f"r{k}" for k in range(5, 50, 2)}
    few.close()
    # a crowded bucket gives its newest BUCKET_CAP posts, the mirror's and then the database's
    crowded = [entry(f"c{k}", hours_ago=40 - k / 10, author="c", signature=sig(7)) for k in range(50)]
    again.add_many(crowded)
    whole = MemoryHistoryStore()
    whole.add_many(crowded)
    seven = np.frombuffer(sig(7), "<u4")[None, :]
    got = again.similar(seven, since=NOW - timedelta(hours=45))[0]
    assert len(got) == BUCKET_CAP and {e.post_id for e in got} == {e.post_id for e in whole.similar(seven, NOW - timedelta(hours=45))[0]}
    with pytest.raises(ValueError, match="mirror_max_posts: expected a positive count"):
        open_store(tmp_path / "re.db", migrate=False, mirror_max_posts=0)
    again.close()


def test_reads_from_the_database_are_cached_and_forgotten_when_the_row_changes(tmp_path, migrated):
    """Below a capped mirror the same rows are read again and again: get_many keeps them (bounded),
    and this process's own writes, answers and purges drop them."""
    shutil.copy(migrated, tmp_path / "rc.db")
    s = open_store(tmp_path / "rc.db", migrate=False, mirror_max_posts=5)
    s.add_many([entry(f"c{k}", hours_ago=30 - k, author="a", topic="Ямы") for k in range(20)])
    assert s._mirror.get("c0") is None  # below the floor: read from SQL
    queries = traced(s)
    selects = lambda: [q for q in queries if q.lstrip().upper().startswith("SELECT")]  # noqa: E731
    first = s.get_many(["c0", "c1"])
    assert {k: e.topic for k, e in first.items()} == {"c0": "Ямы", "c1": "Ямы"} and len(selects()) == 1
    assert s.get_many(["c0", "c1"]).keys() == {"c0", "c1"} and len(selects()) == 1  # no second read
    s.add_many([entry("c0", hours_ago=30, author="a", topic="Освещение")])  # a late re-tag
    assert s.get("c0").topic == "Освещение"
    answered = NOW - timedelta(hours=1)
    assert s.record_answer("c1", answered)
    assert s.get("c1").answered_at == answered
    s.purge(NOW - timedelta(hours=29, minutes=30))
    assert s.get("c0") is None and s.get("c1").topic == "Ямы"
    s.close()
    # with another writer possible (no mirror), nothing is cached
    other = open_store(tmp_path / "rc.db", migrate=False, mirror_recent=False)
    assert other._read_cache is None and other.get("c2").topic == "Ямы"
    other.close()


def test_a_read_that_overlaps_a_write_is_not_cached(tmp_path, migrated):
    """Another thread's write may commit while a read is on its way: that read's rows may be the
    old ones, so they are returned but not kept."""
    shutil.copy(migrated, tmp_path / "ov.db")
    s = open_store(tmp_path / "ov.db", migrate=False, mirror_max_posts=5)
    s.add_many([entry(f"o{k}", hours_ago=30 - k, author="a") for k in range(20)])
    read = s._read_posts

    def read_while_a_write_commits(post_ids):
        rows = read(post_ids)
        s._forget_read(["o0"])  # what _write does right after its commit
        return rows

    s._read_posts = read_while_a_write_commits
    assert s.get_many(["o0"]).keys() == {"o0"}
    assert "o0" not in s._read_cache
    s._read_posts = read
    s.get_many(["o0"])
    assert "o0" in s._read_cache
    s.close()

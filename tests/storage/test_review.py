"""The review queue and the append-only decision log (storage/review.py, migration 0002_review)."""
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from model.errors import InputError
from storage import upgrade
from storage.review import QueueFilter, ReviewStore, make_engine, open_review_store
from tests.service.curator_fixtures import OMSK_DGH, OMSK_DTRANS, sample_items

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture()
def store(tmp_path):
    s = open_review_store(tmp_path / "review.db")
    s.clock = Clock(NOW)
    s.enqueue_many(sample_items(NOW))
    yield s
    s.close()


def test_migration_0002_on_top_of_0001_creates_the_review_tables(tmp_path):
    url = upgrade(tmp_path / "r.db", "0001_history")
    engine = make_engine(url)
    assert "review_items" not in sa.inspect(engine).get_table_names()
    upgrade(url, "0002_review")
    names = set(sa.inspect(engine).get_table_names())
    assert {"history_posts", "review_items", "review_audit"} <= names
    with engine.connect() as conn:
        assert conn.execute(sa.text("select version_num from alembic_version")).scalar() == "0002_review"
    engine.dispose()


def test_queue_is_sorted_by_deadline_and_filters(store):
    assert [i.post_id for i in store.queue()] == ["omsk-3", "omsk-2", "omsk-1", "altai-1"]
    assert [i.post_id for i in store.queue(QueueFilter(region="altai_krai"))] == ["altai-1"]
    assert [i.post_id for i in store.queue(QueueFilter(importance="high"))] == ["omsk-2"]
    assert [i.post_id for i in store.queue(QueueFilter(time_left="overdue"))] == ["omsk-3"]
    assert [i.post_id for i in store.queue(QueueFilter(time_left="1h"))] == ["omsk-2"]
    assert [i.post_id for i in store.queue(QueueFilter(group="ЖКХ"))] == ["omsk-1"]
    with pytest.raises(InputError) as err:
        store.queue(QueueFilter(status="maybe"))
    assert err.value.field == "status"


def test_enqueue_refreshes_open_posts_but_never_reopens_decided_ones(store):
    items = dict((p.id, (p, t)) for p, t in sample_items(NOW, model_version="v2"))
    store.decide("omsk-1", "accept", "anna", "curator")
    assert store.enqueue(*items["omsk-2"]) is True
    assert store.get("omsk-2").model_version == "v2"
    assert store.enqueue(*items["omsk-1"]) is False
    item = store.get("omsk-1")
    assert item.status == "accepted" and item.model_version == "test"


def test_decisions_are_logged_with_who_when_before_and_after(store):
    store.clock.now = NOW + timedelta(minutes=5)
    store.decide("omsk-1", "accept", "anna", "curator", comment="верно")
    item = store.get("omsk-2")
    after = dict(item.current, topic={"name": "Отлов безнадзорных собак и кошек", "group": "Безопасность",
                                      "score": 1.0, "alternatives": []})
    store.decide("omsk-2", "correct", "boris", "admin", after=after, expected_version=item.version)
    accepted, corrected = store.get("omsk-1"), store.get("omsk-2")
    assert (accepted.status, accepted.decided_by, accepted.decided_at) == ("accepted", "anna", NOW + timedelta(minutes=5))
    assert (corrected.status, corrected.topic, corrected.group) == ("corrected", "Отлов безнадзорных собак и кошек", "Безопасность")
    assert corrected.suggested["topic"]["name"] == "Уборка территорий"  # the suggestion is kept
    log = store.audit()
    assert [(e.action, e.actor, e.post_id) for e in log] == [("correct", "boris", "omsk-2"), ("accept", "anna", "omsk-1")]
    assert log[0].before["topic"]["name"] == "Уборка территорий"
    assert log[0].after["topic"]["name"] == "Отлов безнадзорных собак и кошек"
    assert log[1].comment == "верно" and log[1].after == log[1].before
    assert store.verify_audit() == []


def test_a_stale_version_is_refused(store):
    from storage.review import ConflictError

    version = store.get("omsk-1").version
    store.decide("omsk-1", "return", "anna", "curator", expected_version=version)
    with pytest.raises(ConflictError):
        store.decide("omsk-1", "accept", "boris", "curator", expected_version=version)
    assert store.get("omsk-1").status == "returned"


def test_the_audit_log_cannot_be_edited_or_deleted(store):
    store.decide("omsk-1", "accept", "anna", "curator")
    store.log_event("anna", "curator", "login")
    assert not any(hasattr(ReviewStore, name) for name in ("delete_audit", "update_audit", "edit_audit"))
    with store.engine.connect() as conn:
        for statement in ("UPDATE review_audit SET actor = 'mallory'", "DELETE FROM review_audit"):
            with pytest.raises(DBAPIError, match="append-only"):
                conn.execute(sa.text(statement))
            conn.rollback()
    assert [e.actor for e in store.audit()] == ["anna", "anna"]
    # an edit made around the triggers (by someone who dropped them) breaks the hash chain
    with store.engine.begin() as conn:
        conn.execute(sa.text("DROP TRIGGER review_audit_no_update"))
        conn.execute(sa.text("UPDATE review_audit SET actor = 'mallory' WHERE action = 'accept'"))
    assert any("edited" in p for p in store.verify_audit())


def test_text_is_cleared_after_decision_plus_retention(store):
    store.text_retention_days = 30
    store.decide("omsk-1", "accept", "anna", "curator")
    assert store.purge_expired(NOW + timedelta(days=29)) == 0
    assert store.purge_expired(NOW + timedelta(days=31)) == 1
    assert store.get("omsk-1").text is None
    assert store.get("omsk-2").text is not None  # undecided posts keep their text


def test_month_report_counts_timeliness_per_department(store):
    store.clock.now = NOW + timedelta(hours=1)
    store.decide("omsk-1", "answer", "anna", "curator")  # answered before its deadline (now + 3 h)
    store.clock.now = NOW + timedelta(hours=5)
    report = store.month_report("2026-11", region="omsk")
    by = {d.department: d for d in report.departments}
    assert (by[OMSK_DGH].total, by[OMSK_DGH].on_time, by[OMSK_DGH].open_overdue) == (2, 1, 1)  # omsk-2 is late now
    assert OMSK_DTRANS not in by  # omsk-3 is excluded (мат): not counted in timeliness
    assert report.excluded == 1 and report.total == 3
    assert report.groups == {"Благоустройство": 1, "Дороги": 1, "ЖКХ": 1}
    store.clock.now = NOW + timedelta(hours=6)
    store.decide("omsk-2", "answer", "anna", "curator")
    late = {d.department: d for d in store.month_report("2026-11", region="omsk").departments}[OMSK_DGH]
    assert (late.on_time, late.late, late.open_overdue) == (1, 1, 0)
    with pytest.raises(InputError):
        store.month_report("ноябрь")


def test_concurrent_writers_keep_one_hash_chain(store):
    from concurrent.futures import ThreadPoolExecutor

    def work(n):
        for i in range(8):
            store.log_event(f"curator-{n}", "curator", "login")
        store.decide(["omsk-1", "omsk-2", "omsk-3", "altai-1"][n], "accept", f"curator-{n}", "curator")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, range(4)))
    assert len(store.audit()) == 36
    assert store.verify_audit() == []


def test_an_answer_reported_later_reaches_a_decided_post(store):
    from dataclasses import replace

    store.decide("omsk-1", "accept", "anna", "curator")
    post, tagging = sample_items(NOW)[0]
    assert store.enqueue(replace(post, answered_at=NOW + timedelta(hours=2)), tagging) is True
    item = store.get("omsk-1")
    assert (item.status, item.answered_at) == ("accepted", NOW + timedelta(hours=2))

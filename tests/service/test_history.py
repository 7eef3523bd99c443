"""POST /v1/posts/{id}/answered and GET /v1/alerts on a real SQLite store."""
import shutil
from datetime import datetime, timedelta, timezone

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from model.history import HistoryEntry
from model.profiles import Profile, Profiles
from service.errors import install_error_handlers
from service.routes.history import router
from storage import open_store

NOW = datetime.now(timezone.utc).replace(microsecond=0)


class FakePipelineHolder:
    """What the routes read from app.state.pipeline: the profiles (a real Profiles object)."""

    def __init__(self, profiles):
        self.profiles = profiles


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """One migrated database file; each test works on a copy (migrations run once per module)."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    open_store(path).close()
    return path


@pytest.fixture()
def client(tmp_path, migrated):
    shutil.copy(migrated, tmp_path / "h.db")
    store = open_store(tmp_path / "h.db", migrate=False)
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    app.state.store = store
    app.state.tokens = {}
    profiles = Profiles({p: Profile(p, p, "Asia/Omsk", frozenset(), {}, {}) for p in ("omsk", "altai_krai")}, "omsk")
    app.state.pipeline = FakePipelineHolder(profiles)
    with TestClient(app) as c:
        c.store = store
        yield c
    store.close()


def entry(pid, hours_ago, group="ЖКХ", place="Омск / Кировский округ"):
    return HistoryEntry(post_id=pid, author_id=f"a{pid}", region="omsk", created_at=NOW - timedelta(hours=hours_ago),
                        group=group, place=place)


def test_answered_sets_the_time(client):
    client.store.add_many([entry("vk-1", 2)])
    at = (NOW - timedelta(hours=1)).astimezone(timezone(timedelta(hours=6))).isoformat()
    r = client.post("/v1/posts/vk-1/answered", json={"answered_at": at})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == "vk-1"
    assert client.store.get("vk-1").answered_at == NOW - timedelta(hours=1)


def test_answered_unknown_post_is_404_with_the_error_shape(client):
    r = client.post("/v1/posts/nope/answered", json={"answered_at": NOW.isoformat()})
    assert r.status_code == 404
    err = r.json()["error"]
    assert err["code"] == "not_found" and err["field"] == "id" and "nope" in err["message"]


@pytest.mark.parametrize("body, field", [({}, "answered_at"), ({"answered_at": "yesterday"}, "answered_at"),
                                         ({"answered_at": "2026-01-01T10:00:00"}, "answered_at")])
def test_answered_bad_body_is_422_naming_the_field(client, body, field):
    client.store.add_many([entry("vk-1", 2)])
    r = client.post("/v1/posts/vk-1/answered", json=body)
    assert r.status_code == 422 and r.json()["error"]["field"] == field


def test_alerts_list_a_surge_with_its_posts(client):
    client.store.add_many([entry(f"b{k}", 0.1 + k * 0.2, group="Газ") for k in range(8)]
                          + [entry(f"d{d}", 24 * d, group="ЖКХ") for d in range(1, 20)])
    r = client.get("/v1/alerts", params={"region": "omsk"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["window_hours"] == 6
    assert [(a["group"], a["count"]) for a in body["alerts"]] == [("Газ", 8)]
    assert sorted(body["alerts"][0]["post_ids"]) == sorted(f"b{k}" for k in range(8))
    assert client.get("/v1/alerts", params={"region": "altai_krai"}).json()["alerts"] == []
    since = (NOW - timedelta(days=2)).isoformat()
    scanned = client.get("/v1/alerts", params={"since": since, "window": 3}).json()
    assert scanned["window_hours"] == 3 and [a["group"] for a in scanned["alerts"]] == ["Газ"]


@pytest.mark.parametrize("params, field", [({"region": "mars"}, "region"), ({"window": 0}, "window"),
                                           ({"window": 1000}, "window"), ({"since": "2999-01-01T00:00:00+00:00"}, "since")])
def test_alerts_bad_query_is_422(client, params, field):
    r = client.get("/v1/alerts", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field


def test_no_store_is_503(client):
    client.app.state.store = None
    r = client.get("/v1/alerts")
    assert r.status_code == 503 and r.json()["error"]["code"] == "history_unavailable"


@pytest.mark.parametrize("workers, mirrored", [(1, True), (2, False)])
def test_history_mirror_only_for_a_single_worker(tmp_path, migrated, workers, mirrored):
    """With several worker processes each would mirror only its own writes: no mirror then."""
    from service.app import open_history
    from service.settings import Settings

    shutil.copy(migrated, tmp_path / "h.db")
    store = open_history(Settings(database_url=f"sqlite:///{tmp_path / 'h.db'}", workers=workers))
    try:
        assert store.mirror_recent is mirrored and (store._mirror is not None) is mirrored
    finally:
        store.close()


def test_the_mirror_cap_comes_from_the_settings(tmp_path, migrated, monkeypatch):
    from pydantic import ValidationError

    from service.app import open_history
    from service.settings import Settings

    shutil.copy(migrated, tmp_path / "h.db")
    monkeypatch.setenv("OTKLIK_HISTORY_MIRROR_POSTS", "1234")
    monkeypatch.setenv("OTKLIK_HISTORY_OLDER_POSTS", "0")
    monkeypatch.setenv("OTKLIK_HISTORY_AUTHOR_ROWS", "77")
    store = open_history(Settings(database_url=f"sqlite:///{tmp_path / 'h.db'}"))
    try:
        assert store.mirror_max_posts == 1234
        assert store.older_max_posts == 0 and store._author_rows.max_rows == 77
    finally:
        store.close()
    monkeypatch.setenv("OTKLIK_HISTORY_OLDER_POSTS", "-1")
    with pytest.raises(ValidationError, match="history_older_posts"):
        Settings()
    monkeypatch.delenv("OTKLIK_HISTORY_OLDER_POSTS")
    monkeypatch.delenv("OTKLIK_HISTORY_AUTHOR_ROWS")
    monkeypatch.setenv("OTKLIK_HISTORY_MIRROR_POSTS", "10")
    with pytest.raises(ValidationError, match="history_mirror_posts"):
        Settings()
    monkeypatch.delenv("OTKLIK_HISTORY_MIRROR_POSTS")
    assert Settings().history_mirror_posts == 20_000


def test_the_service_checkpoints_a_sqlite_log_on_its_own_thread_unless_switched_off(tmp_path):
    from service.app import start_checkpointer
    from service.settings import Settings

    on = start_checkpointer(Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}"))
    try:
        assert on is not None and on.interval == 1.0 and on.path == str(tmp_path / "c.db")
    finally:
        on.close()
    assert start_checkpointer(Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", sqlite_checkpoint_seconds=0)) is None
    assert start_checkpointer(Settings(database_url="postgresql://u:p@localhost/otklik")) is None

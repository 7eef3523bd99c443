"""The REST service end to end: real pipeline, real posts, the contract's shapes and errors."""
import json
import time

import pytest
from fastapi.testclient import TestClient

from model.rubricator import load_rubricator
from service.app import create_app
from service.settings import Settings

HOT_WATER = "Третий день нет горячей воды на ул. Ленина 5, управляйка трубку не берёт"


def make_settings(tmp_path, **kw):
    return Settings(database_url=f"sqlite:///{tmp_path / 'otklik.db'}", **kw)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app = create_app(make_settings(tmp_path_factory.mktemp("svc")))
    with TestClient(app) as c:
        yield c


def test_health_and_ready(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert ready.json()["steps"][0] == "normalize"


def test_classify_hot_water_goes_to_housing(client):
    r = client.post("/v1/classify", json={"id": "1", "text": HOT_WATER})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == "1"
    assert body["topic"]["group"] == "ЖКХ"
    rub = load_rubricator()
    assert rub.has_topic(body["topic"]["name"])
    assert body["route"]["executors"], body["route"]
    assert body["route"]["executors"][0]["role"] == "responsible"
    assert body["sla"]["profile"] == "omsk"
    assert body["model_version"]
    for key in ("location", "importance", "exclusions", "actionable", "repeat_of", "new_arguments"):
        assert key in body
    assert r.headers["x-request-id"]


def test_letters_without_a_unicode_name_are_tagged_not_a_500(client):
    # found by the API fuzz test: a Cyrillic word glued to a Tangut letter crashed pymorphy
    r = client.post("/v1/classify", json={"id": "tangut", "text": "Во дворе \U00017000слово и яма на дороге"})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == "tangut"


def test_curl_dash_d_without_a_json_content_type_is_read_as_json(client):
    # the README's and issue's `curl -s localhost:8000/v1/classify -d '{...}'` sends a form content type
    body = json.dumps({"id": "curl-1", "text": HOT_WATER}, ensure_ascii=False).encode()
    r = client.post("/v1/classify", content=body, headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200, r.text
    assert r.json()["topic"]["group"] == "ЖКХ"
    r = client.post("/v1/classify", content=b"id=1&text=x", headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"  # a real form is not JSON


def test_a_second_request_sees_the_first_as_a_repeat(client):
    # the service records history after answering (deferred writes): the next request must see it
    first = {"id": "rep-1", "author_id": "vk-777", "region": "omsk", "created_at": "2026-11-20T09:00:00+06:00",
             "text": "Во 2й парадной не закрыт вход в подвал. Печать сорвана, замок отсутствует. ул. Победы 12"}
    again = {**first, "id": "rep-2", "created_at": "2026-11-21T09:00:00+06:00",
             "text": "Во второй парадной снова открыт вход в подвал, печать сорвана, замка нет. Победы 12"}
    assert client.post("/v1/classify", json=first).json()["repeat_of"] == []
    assert client.post("/v1/classify", json=again).json()["repeat_of"] == ["rep-1"]


def test_profane_post_is_not_actionable_but_keeps_topic(client):
    r = client.post("/v1/classify", json={"id": "2", "region": "omsk",
                                          "text": "Когда уже починят эту х*йню, трубу прорвало на Мира 10, вода хлещет"})
    body = r.json()
    reasons = {e["reason"]: e for e in body["exclusions"]}
    assert "profanity" in reasons and reasons["profanity"]["applies"] is True
    assert body["actionable"] is False
    assert body["topic"] is not None
    span = reasons["profanity"]["evidence"][0]
    assert "х*йню"[:3] in span["text"]


def test_unknown_region_is_422_naming_known_ones(client):
    r = client.post("/v1/classify", json={"id": "3", "text": HOT_WATER, "region": "moscow"})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["field"] == "region" and "omsk" in err["message"] and "spb" in err["message"]


@pytest.mark.parametrize("body,field", [
    ({"text": HOT_WATER}, "id"),
    ({"id": "x", "text": "   "}, "text"),
    ({"id": "x", "text": HOT_WATER, "geo": {"lat": 100, "lon": 1}}, "geo.lat"),
    ({"id": "x", "text": HOT_WATER, "created_at": "2026-01-01T10:00:00"}, "created_at"),
])
def test_bad_input_is_422_with_field(client, body, field):
    r = client.post("/v1/classify", json=body)
    assert r.status_code == 422
    assert r.json()["error"]["field"] == field
    assert r.json()["error"]["code"] == "invalid_input"


def test_malformed_json_is_422_not_500(client):
    r = client.post("/v1/classify", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert "error" in r.json()


def test_batch_keeps_order_and_puts_errors_in_place(client):
    posts = [
        {"id": "a", "text": HOT_WATER},
        {"id": "b", "text": ""},
        {"id": "c", "text": "Автобус 23 не ходит уже неделю", "region": "krymsk"},
        {"id": "d", "text": HOT_WATER, "region": "atlantis"},
        "not an object",
    ]
    r = client.post("/v1/classify/batch", json={"posts": posts})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x.get("id") for x in results] == ["a", None, "c", None, None]
    assert results[1]["error"]["field"] == "posts[1].text"
    assert results[3]["error"]["field"] == "posts[3].region"
    assert results[4]["error"]["field"] == "posts[4].post"
    assert results[2]["sla"]["profile"] == "krymsk"


def test_batch_limit_is_413(tmp_path):
    app = create_app(make_settings(tmp_path, max_batch_posts=2))
    with TestClient(app) as c:
        r = c.post("/v1/classify/batch", json={"posts": [{"id": str(i), "text": "x"} for i in range(3)]})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "batch_too_large"


def test_body_limit_is_413(tmp_path):
    app = create_app(make_settings(tmp_path, max_body_bytes=1000))
    with TestClient(app) as c:
        r = c.post("/v1/classify", json={"id": "1", "text": "а" * 2000})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"


def test_metrics_count_requests_and_steps(client):
    client.post("/v1/classify", json={"id": "m", "text": HOT_WATER})
    text = client.get("/metrics").text
    assert 'otklik_http_requests_total{method="POST",route="/v1/classify",status="200"}' in text
    assert 'otklik_pipeline_step_duration_seconds_count{step="topic"}' in text
    assert "otklik_model_info{model_version=" in text


def test_profiles_endpoints(client):
    all_ = client.get("/v1/profiles").json()
    ids = {p["id"] for p in all_["profiles"]}
    assert {"vyatskiye_polyany", "krymsk", "altai_krai", "zelenchuk", "omsk", "spb", "kursk"} <= ids
    assert client.get("/v1/profiles/omsk").json()["timezone"] == "Asia/Omsk"
    missing = client.get("/v1/profiles/mars")
    assert missing.status_code == 404 and "omsk" in missing.json()["error"]["message"]


def test_auth_with_tokens(tmp_path):
    app = create_app(make_settings(tmp_path, api_tokens="mon-secret:monitoring,cur-secret:curator"))
    with TestClient(app) as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/readyz").status_code == 200
        r = c.post("/v1/classify", json={"id": "1", "text": HOT_WATER})
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        r = c.post("/v1/classify", json={"id": "1", "text": HOT_WATER}, headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401
        r = c.post("/v1/classify", json={"id": "1", "text": HOT_WATER},
                   headers={"Authorization": "Bearer cur-secret"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        r = c.post("/v1/classify", json={"id": "1", "text": HOT_WATER},
                   headers={"Authorization": "Bearer mon-secret"})
        assert r.status_code == 200


def test_bad_token_setting_is_refused():
    with pytest.raises(ValueError, match="expected role"):
        Settings(api_tokens="abc:superuser")


def test_logs_do_not_contain_post_text(client, caplog):
    caplog.set_level("INFO")
    client.post("/v1/classify", json={"id": "pd", "text": "Секретный текст жителя про Ленина 5", "author_id": "u-777"})
    logged = "\n".join(r.getMessage() + json.dumps(getattr(r, "__dict__", {}), default=str) for r in caplog.records)
    assert "Секретный" not in logged and "u-777" not in logged


def test_answered_posts_reach_the_review_queue(tmp_path):
    # the review writes are buffered until the tagging thread is idle; by then they are in the store
    app = create_app(make_settings(tmp_path))
    with TestClient(app) as c:
        for i in range(5):
            assert c.post("/v1/classify", json={"id": f"q-{i}", "text": HOT_WATER}).status_code == 200
        found = []
        for _ in range(100):  # the idle flush follows the last answer within milliseconds
            found = [i for i in range(5) if app.state.review.get(f"q-{i}") is not None]
            if len(found) == 5:
                break
            time.sleep(0.02)
        assert found == list(range(5))


def test_the_gil_switch_interval_comes_from_the_settings(tmp_path):
    import sys

    from pydantic import ValidationError

    before = sys.getswitchinterval()
    try:
        app = create_app(make_settings(tmp_path, gil_switch_interval_ms=2))
        with TestClient(app) as c:
            assert c.get("/readyz").status_code == 200
            assert sys.getswitchinterval() == pytest.approx(0.002)
    finally:
        sys.setswitchinterval(before)
    with pytest.raises(ValidationError, match="gil_switch_interval_ms"):
        make_settings(tmp_path, gil_switch_interval_ms=0)


def test_the_service_runs_the_sqlite_checkpointer_while_it_serves(tmp_path):
    import threading

    def checkpointers():
        return [t for t in threading.enumerate() if t.name == "sqlite-checkpoint" and t.is_alive()]

    before = len(checkpointers())
    app = create_app(make_settings(tmp_path))
    with TestClient(app) as c:
        assert c.post("/v1/classify", json={"id": "1", "text": HOT_WATER}).status_code == 200
        assert len(checkpointers()) == before + 1
    assert len(checkpointers()) == before  # stopped at shutdown, after a last full checkpoint
    wal = tmp_path / "otklik.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0  # the database file alone is whole

"""The curator pages through the real app (TestClient runs the lifespan): login, queue, post view,
decisions with CSRF, reports, the audit log."""
import re
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.web.auth import hash_password, parse_curators, verify_password
from tests.service.curator_fixtures import (
    DOGS,
    LOCAL,
    OMSK_DGH,
    REMOTE,
    csrf_of,
    fill_queue,
    login_local,
    make_app,
    version_of,
)

@pytest.fixture()
def client(tmp_path):
    app = make_app(tmp_path)
    with TestClient(app, client=LOCAL) as c:
        fill_queue(app)
        login_local(c)
        yield c


def test_pages_need_a_login(tmp_path):
    with TestClient(make_app(tmp_path), client=LOCAL) as c:
        r = c.get("/curator/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/curator/login?next=")
        r = c.post("/curator/decide", data={"post_id": "omsk-1", "action": "accept"}, follow_redirects=False)
        assert r.status_code == 303


def test_local_login_only_without_accounts_and_from_loopback(tmp_path):
    with TestClient(make_app(tmp_path), client=LOCAL) as c:
        page = c.get("/curator/login")
        assert "без пароля" in page.text and 'id="login-local"' in page.text
        login_local(c)
        assert "Локальный режим" in c.get("/curator/").text
    with TestClient(make_app(tmp_path), client=REMOTE) as c:
        page = c.get("/curator/login")
        assert 'id="login-local"' not in page.text and "вход невозможен" in page.text
        token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
        r = c.post("/curator/login", data={"token": token}, follow_redirects=False)
        assert r.headers["location"].startswith("/curator/login?failed=1")
    # a request through a reverse proxy on this machine is not local
    with TestClient(make_app(tmp_path), client=LOCAL, headers={"X-Forwarded-For": "203.0.113.9"}) as c:
        assert 'id="login-local"' not in c.get("/curator/login").text
    # a service bound to all interfaces never allows the passwordless login, even from loopback
    with TestClient(make_app(tmp_path, host="0.0.0.0"), client=LOCAL) as c:
        assert 'id="login-local"' not in c.get("/curator/login").text


def test_accounts_with_password_hashes_and_roles(tmp_path):
    h = hash_password("верный пароль", iterations=1000)
    assert verify_password("верный пароль", h) and not verify_password("неверный", h)
    with pytest.raises(ValueError, match="role"):
        parse_curators(f"anna:{h}:monitoring")
    with pytest.raises(ValueError, match="hash"):
        parse_curators("anna:plain-password:curator")
    app = make_app(tmp_path, curators=f"anna:{h}:curator,boss:{h}:admin")
    with TestClient(app, client=LOCAL) as c:
        page = c.get("/curator/login")
        assert 'id="login-local"' not in page.text  # accounts configured: no passwordless login
        token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
        r = c.post("/curator/login", data={"token": token, "login": "anna", "password": "неверный"}, follow_redirects=False)
        assert r.headers["location"].startswith("/curator/login?failed=1")
        r = c.post("/curator/login", data={"token": "forged", "login": "boss", "password": "верный пароль"})
        assert r.status_code == 403
        r = c.post("/curator/login", data={"token": token, "login": "boss", "password": "верный пароль"})
        assert r.status_code == 200 and "boss · администратор" in r.text
        assert app.state.review.audit()[0].action == "login"


def test_failed_logins_are_limited(tmp_path):
    h = hash_password("secret", iterations=1000)
    app = make_app(tmp_path, curators=f"anna:{h}:curator")
    with TestClient(app, client=REMOTE) as c:
        token = re.search(r'name="token" value="([^"]+)"', c.get("/curator/login").text).group(1)
        for _ in range(5):
            c.post("/curator/login", data={"token": token, "login": "anna", "password": "guess"}, follow_redirects=False)
        r = c.post("/curator/login", data={"token": token, "login": "anna", "password": "secret"})
        assert r.status_code == 429


def test_queue_sorted_by_deadline_with_filters(client):
    html = client.get("/curator/").text
    assert [m for m in re.findall(r'data-href="/curator/post/([^"]+)"', html)] == ["omsk-3", "omsk-2", "omsk-1", "altai-1"]
    assert "просрочен на" in html and "&lt;script&gt;" in html and "<script>alert" not in html
    html = client.get("/curator/", params={"region": "altai_krai"}).text
    assert re.findall(r'data-href="/curator/post/([^"]+)"', html) == ["altai-1"]
    html = client.get("/curator/", params={"importance": "high", "time_left": "1h"}).text
    assert re.findall(r'data-href="/curator/post/([^"]+)"', html) == ["omsk-2"]
    assert client.get("/curator/", params={"time_left": "soon"}).status_code == 422


def test_post_view_escapes_the_text_and_highlights_evidence(client):
    r = client.get("/curator/post/omsk-1")
    assert r.status_code == 200 and "script-src 'self'" in r.headers["content-security-policy"]
    text = re.search(r'<div class="post-text" id="post-text">(.*?)</div>', r.text, re.S).group(1)
    assert "<script>" not in text and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in text
    assert "&lt;b&gt;Третий день&lt;/b&gt;" in text
    assert '<mark class="ev ev-location" title="место">ул. 10 лет Октября, 15</mark>' in text
    assert "Низкая температура воды/слабое давление" in r.text  # the alternative
    r = client.get("/curator/post/omsk-3")
    assert '<mark class="ev ev-profanity" title="Нецензурная брань">бл@ть</mark>' in r.text
    assert client.get("/curator/post/unknown").status_code == 404


def test_every_post_needs_the_session_csrf_token(client):
    page = client.get("/curator/post/omsk-1").text
    data = {"post_id": "omsk-1", "action": "accept", "version": version_of(page)}
    assert client.post("/curator/decide", data=data).status_code == 403
    assert client.post("/curator/decide", data={**data, "csrf": "forged"}).status_code == 403
    assert client.post("/curator/logout", data={"csrf": "forged"}).status_code == 403
    assert client.app.state.review.get("omsk-1").status == "new"
    r = client.post("/curator/decide", data={**data, "csrf": csrf_of(page)})
    assert r.status_code == 200 and client.app.state.review.get("omsk-1").status == "accepted"


def test_accept_and_correct_are_stored_and_audited(client):
    store = client.app.state.review
    page = client.get("/curator/post/omsk-1").text
    r = client.post("/curator/decide", data={"csrf": csrf_of(page), "post_id": "omsk-1", "action": "accept",
                                              "version": version_of(page)})
    assert r.url.path == "/curator/post/omsk-3"  # on to the next open post, the nearest deadline first
    page = client.get("/curator/post/omsk-2").text
    r = client.post("/curator/decide", data={
        "csrf": csrf_of(page), "post_id": "omsk-2", "action": "correct", "version": version_of(page),
        "topic": DOGS, "municipality": "Омск", "street": "улица Лукашевича", "house": "",
        "importance": "high", "responsible": "gochs", "co_executor": ["dgh"], "comment": "собаки — отлов",
    })
    assert r.status_code == 200
    item = store.get("omsk-2")
    assert (item.status, item.topic, item.group, item.decided_by) == ("corrected", DOGS, "Безопасность", "curator")
    executors = [(e["name"], e["role"]) for e in item.current["route"]["executors"]]
    assert executors[0][1] == "responsible" and executors[1] == (OMSK_DGH, "co-executor")
    assert item.executor == executors[0][0] != OMSK_DGH
    assert item.current["location"] == item.suggested["location"]  # location unchanged: its evidence is kept
    entries = store.audit()
    assert [(e.action, e.post_id, e.actor) for e in entries[:2]] == [("correct", "omsk-2", "curator"), ("accept", "omsk-1", "curator")]
    assert entries[0].before["topic"]["name"] == "Уборка территорий" and entries[0].after["topic"]["name"] == DOGS
    assert entries[0].comment == "собаки — отлов"
    audit_page = client.get("/curator/audit").text
    assert "Цепочка хэшей цела" in audit_page and "omsk-2" in audit_page


def test_an_unchanged_correction_is_an_accept_and_bad_fields_are_named(client):
    page = client.get("/curator/post/omsk-1").text
    base = {"csrf": csrf_of(page), "post_id": "omsk-1", "action": "correct", "version": version_of(page)}
    r = client.post("/curator/decide", data={**base, "topic": "Нет такой темы"})
    assert r.status_code == 422 and "topic" in r.text
    r = client.post("/curator/decide", data={**base, "topic": "Отсутствие горячей воды", "municipality": "Омск",
                                              "street": "улица 10 лет Октября", "house": "15", "importance": "normal",
                                              "responsible": "dgh"})
    assert r.status_code == 200
    assert client.app.state.review.get("omsk-1").status == "accepted"
    assert client.app.state.review.audit()[0].action == "accept"


def test_two_curators_on_one_post_the_second_gets_a_conflict(client):
    page = client.get("/curator/post/omsk-1").text
    data = {"csrf": csrf_of(page), "post_id": "omsk-1", "version": version_of(page)}
    assert client.post("/curator/decide", data={**data, "action": "return", "comment": "не наш"}).status_code == 200
    assert client.post("/curator/decide", data={**data, "action": "accept"}).status_code == 409
    assert client.app.state.review.get("omsk-1").status == "returned"


def test_reports_page_csv_and_charts(client):
    page = client.get("/curator/post/omsk-1").text
    client.post("/curator/decide", data={"csrf": csrf_of(page), "post_id": "omsk-1", "action": "answer",
                                         "version": version_of(page)})
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    html = client.get("/curator/reports", params={"month": month, "region": "omsk"}).text
    assert OMSK_DGH in html and "ЖКХ" in html
    csv_text = client.get("/curator/reports.csv", params={"month": month, "region": "omsk", "kind": "departments"}).text
    rows = [line.split(";") for line in csv_text.lstrip("\ufeff").strip().splitlines()]
    assert rows[0][:3] == ["Исполнитель", "Всего", "В срок"]
    dgh = next(r for r in rows if r[0] == OMSK_DGH)
    assert dgh[1:4] == ["2", "1", "0"]  # omsk-1 answered on time, omsk-2 still open
    for chart in ("timeliness", "groups"):
        r = client.get(f"/curator/reports/{chart}.png", params={"month": month})
        assert r.headers["content-type"] == "image/png" and r.content[:4] == b"\x89PNG"
    assert client.get("/curator/reports", params={"month": "2026-13"}).status_code == 422


def test_the_audit_log_has_no_edit_path(client):
    # the only POST endpoints of the pages: login, logout, decide (which only appends to the log)
    from service.web import router

    posts = sorted(r.path for r in router.routes if "POST" in r.methods)
    assert posts == ["/curator/decide", "/curator/login", "/curator/logout"]
    assert [r.path for r in router.routes if r.methods & {"PUT", "PATCH", "DELETE"}] == []
    assert client.post("/curator/audit", data={}).status_code == 405
    engine = client.app.state.review.engine
    with engine.connect() as conn:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            conn.execute(sa.text("DELETE FROM review_audit"))


def test_highlight_escapes_every_piece_and_merges_overlaps():
    from service.web.highlight import Mark, highlight, marks_from_tagging

    text = 'на <i>Ленина</i> 5 "бл@ть" & всё'
    start = text.index("Ленина")
    marks = [Mark(text.index("<i>"), text.index("5") + 1, "location", "место"),
             Mark(start, start + 6, "insult", "оскорбление")]
    html = str(highlight(text, marks))
    assert html == ('на <mark class="ev ev-location" title="место">&lt;i&gt;</mark>'
                    '<mark class="ev ev-insult ev-location" title="место, оскорбление">Ленина</mark>'
                    '<mark class="ev ev-location" title="место">&lt;/i&gt; 5</mark> &#34;бл@ть&#34; &amp; всё')
    # spans that do not match the text are dropped, not drawn in the wrong place
    tagging = {"exclusions": [{"reason": "profanity", "evidence": [{"start": 0, "end": 2, "text": "бл"},
                                                                   {"start": 30, "end": 99, "text": "x"}]}]}
    assert marks_from_tagging(tagging, text, {}) == []


def test_correcting_exclusions_follows_the_regulation_profile(client):
    page = client.get("/curator/post/omsk-3").text
    assert 'id="ex-profanity" checked' in page
    r = client.post("/curator/decide", data={
        "csrf": csrf_of(page), "post_id": "omsk-3", "action": "correct", "version": version_of(page),
        "topic": "Ямы и выбоины на дороге", "importance": "normal", "responsible": "dtrans",
        "exclusion": ["insult", "off_topic"],  # not мат after all; Omsk does not exclude for off_topic
    })
    assert r.status_code == 200
    after = client.app.state.review.get("omsk-3").current
    assert [(e["reason"], e["applies"]) for e in after["exclusions"]] == [("insult", True), ("off_topic", False)]
    assert after["actionable"] is False


def test_only_an_admin_changes_a_decided_post(tmp_path):
    h = hash_password("pw", iterations=1000)
    app = make_app(tmp_path, curators=f"anna:{h}:curator,boss:{h}:admin")

    def login(c, who):
        token = re.search(r'name="token" value="([^"]+)"', c.get("/curator/login").text).group(1)
        assert c.post("/curator/login", data={"token": token, "login": who, "password": "pw"}).status_code == 200

    with TestClient(app, client=REMOTE) as anna, TestClient(app, client=REMOTE) as boss:
        fill_queue(app)
        login(anna, "anna")
        login(boss, "boss")
        page = anna.get("/curator/post/omsk-1").text
        anna.post("/curator/decide", data={"csrf": csrf_of(page), "post_id": "omsk-1", "action": "accept",
                                           "version": version_of(page)})
        page = anna.get("/curator/post/omsk-1").text
        assert 'id="accept"' not in page and 'id="decided-note"' in page
        r = anna.post("/curator/decide", data={"csrf": csrf_of(page), "post_id": "omsk-1", "action": "correct",
                                               "version": version_of(page), "topic": "Плохое качество воды"})
        assert r.status_code == 403
        page = boss.get("/curator/post/omsk-1").text
        assert 'id="accept"' in page
        r = boss.post("/curator/decide", data={"csrf": csrf_of(page), "post_id": "omsk-1", "action": "correct",
                                               "version": version_of(page), "topic": "Плохое качество воды",
                                               "importance": "normal", "responsible": "dgh",
                                               "municipality": "Омск", "street": "улица 10 лет Октября", "house": "15"})
        assert r.status_code == 200
        item = app.state.review.get("omsk-1")
        assert (item.status, item.topic, item.decided_by) == ("corrected", "Плохое качество воды", "boss")

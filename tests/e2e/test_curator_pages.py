"""A curator's session in a real browser: log in, look at the queue, accept one suggestion with the
keyboard, correct another through the form, then check the database, the audit log and the
feedback export. Screenshots of the queue and the post view go to docs/screenshots/."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from service.web.auth import hash_password
from storage.review import open_review_store
from tests.service.curator_fixtures import DOGS, sample_items

PASSWORD = "Куратор-2026"
CURATORS = f"anna:{hash_password(PASSWORD, iterations=2000)}:curator"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def store(server):
    s = open_review_store(server.database_url)
    s.enqueue_many(sample_items(datetime.now(timezone.utc)))
    yield s
    s.close()


def wait_for(browser, css: str, timeout: float = 10):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def wait_path(browser, path: str, timeout: float = 10) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, timeout).until(lambda d: d.current_url.split("?")[0].endswith(path))


def test_curator_accepts_one_and_corrects_another(server, store, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    # the queue needs a login
    browser.get(server.url + "/curator/")
    wait_for(browser, "#login")
    assert "/curator/login" in browser.current_url
    browser.find_element(By.ID, "login").send_keys("anna")
    browser.find_element(By.ID, "password").send_keys(PASSWORD + Keys.ENTER)
    wait_for(browser, "#queue")

    # the queue: nearest deadline first, the post text escaped
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.row")
    assert [r.get_attribute("data-href").rsplit("/", 1)[1] for r in rows] == ["omsk-3", "omsk-2", "omsk-1", "altai-1"]
    assert "<script>alert('x')</script>" in rows[2].text  # shown as text, never run
    assert "просрочен" in rows[0].text
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "queue.png"))

    # filters: high importance only (wait for the old page to go: its #queue is still there at first)
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from selenium.common.exceptions import WebDriverException

    old_queue = browser.find_element(By.ID, "queue")
    Select(browser.find_element(By.ID, "f-importance")).select_by_value("high")
    browser.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").click()
    # while the page is replaced Chrome may answer for the old node with a plain WebDriverException
    # ("Node with given id does not belong to the document") instead of a stale-element one
    WebDriverWait(browser, 10, ignored_exceptions=(WebDriverException,)).until(ec.staleness_of(old_queue))
    wait_for(browser, "#queue")
    assert "importance=high" in browser.current_url
    assert [r.get_attribute("data-href").rsplit("/", 1)[1] for r in browser.find_elements(By.CSS_SELECTOR, "tr.row")] == ["omsk-2"]

    # the post view: evidence highlighted in the escaped text
    browser.get(server.url + "/curator/post/omsk-1")
    text = wait_for(browser, "#post-text")
    marks = text.find_elements(By.CSS_SELECTOR, "mark.ev-location")
    assert [m.text for m in marks] == ["ул. 10 лет Октября, 15"]
    assert "<script>alert('x')</script>" in text.text
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):  # the post's <script>alert('x')</script> did not run
        browser.switch_to.alert.text
    browser.save_screenshot(str(SCREENSHOTS / "post.png"))

    # accept with the keyboard: "a"; the page moves on to the next open post
    browser.find_element(By.TAG_NAME, "body").send_keys("a")
    wait_path(browser, "/curator/post/omsk-3")
    assert "Предложение принято" in browser.find_element(By.CSS_SELECTOR, ".banner.ok").text
    profanity = browser.find_elements(By.CSS_SELECTOR, "#post-text mark.ev-profanity")
    assert [m.text for m in profanity] == ["бл@ть"]

    # correct the stray-dogs post: topic by search, the responsible department, a comment
    browser.get(server.url + "/curator/post/omsk-2")
    wait_for(browser, "#post-text")
    browser.find_element(By.TAG_NAME, "body").send_keys("e")
    search = browser.find_element(By.ID, "topic-filter")
    assert browser.switch_to.active_element == search
    search.send_keys("отлов")
    assert Select(browser.find_element(By.ID, "topic")).first_selected_option.get_attribute("value") == DOGS
    Select(browser.find_element(By.ID, "responsible")).select_by_value("gochs")
    browser.find_element(By.ID, "comment").send_keys("бродячие собаки — отлов, не уборка")
    browser.execute_script("document.getElementById('correct-box').scrollIntoView()")
    browser.save_screenshot(str(SCREENSHOTS / "post-correct.png"))
    browser.find_element(By.ID, "save-correction").click()
    wait_for(browser, ".banner.ok")
    assert "Исправление сохранено" in browser.find_element(By.CSS_SELECTOR, ".banner.ok").text

    # the database: statuses, who decided, before and after in the audit log
    accepted, corrected = store.get("omsk-1"), store.get("omsk-2")
    assert (accepted.status, accepted.decided_by) == ("accepted", "anna")
    assert (corrected.status, corrected.decided_by, corrected.topic, corrected.group) == \
        ("corrected", "anna", DOGS, "Безопасность")
    assert corrected.executor != corrected.suggested["route"]["executors"][0]["name"]
    log = store.audit()
    assert [(e.action, e.post_id, e.actor) for e in log[:3]] == \
        [("correct", "omsk-2", "anna"), ("accept", "omsk-1", "anna"), ("login", None, "anna")]
    assert log[0].before["topic"]["name"] == "Уборка территорий" and log[0].after["topic"]["name"] == DOGS
    assert log[0].comment == "бродячие собаки — отлов, не уборка"
    assert store.verify_audit() == []
    with store.engine.connect() as conn:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            conn.execute(sa.text("UPDATE review_audit SET actor = 'mallory'"))

    # the audit page shows the decisions and offers no way to change them
    browser.get(server.url + "/curator/audit")
    table = wait_for(browser, "#audit")
    assert "omsk-2" in table.text and "anna" in table.text
    assert browser.find_elements(By.CSS_SELECTOR, "#audit form, #audit button") == []

    # the correction is training data: it is in the feedback export
    from training.feedback import export_feedback, load_feedback

    out = tmp_path / "feedback.jsonl"
    assert export_feedback(server.database_url, out) == 1
    [example] = load_feedback(out)
    assert (example.id, example.topic, example.group, example.decided_by) == ("omsk-2", DOGS, "Безопасность", "anna")
    assert example.suggested["topic"] == "Уборка территорий"
    assert json.loads(out.read_text(encoding="utf-8"))["text"].startswith("Стая бродячих собак")


def test_reports_page_renders_charts_in_the_browser(server, store, browser):
    from selenium.webdriver.common.by import By

    month = datetime.now(timezone.utc).strftime("%Y-%m")
    browser.get(f"{server.url}/curator/reports?month={month}&region=omsk")
    table = wait_for(browser, "#departments")
    assert "Департамент городского хозяйства" in table.text
    images = browser.find_elements(By.CSS_SELECTOR, "img.chart")
    assert len(images) == 2
    assert all(browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 100", i) for i in images)
    browser.save_screenshot(str(SCREENSHOTS / "reports.png"))

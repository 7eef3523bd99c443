"""Curators' corrections → feedback file → a retrained topic model that answers differently.

The topic component is retrained on small data (the hand-written examples of three groups) so the
test is fast; the corrections are made through the curator page (TestClient, real forms + CSRF).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from model.artifact import save_artifact
from model.doc import Doc
from model.errors import DataError
from model.records import Post, Sla, Tagging
from model.rubricator import load_rubricator
from model.topic import TopicModel, TopicTagger
from training import appeals
from training import topic as topic_training
from training.feedback import evaluate_feedback, export_feedback, feedback_frame, load_feedback
from tests.service.curator_fixtures import DOGS, LOCAL, csrf_of, fill_queue, login_local, make_app, version_of

SMALL_GROUPS = ["ЖКХ", "Благоустройство", "Дороги"]
DOG_POSTS = {
    "fb-1": "Стая бродячих собак у школы №12 на Лукашевича, дети боятся ходить, собаки кидаются на людей",
    "fb-2": "Во дворе на Заозёрной бегают бездомные собаки, уже покусали ребёнка, когда их отловят?",
    "fb-3": "Бродячие собаки возле остановки на Бархатовой, целая свора, нападают на прохожих",
}
PROBE = "У гаражей на улице Труда стая бездомных собак бросается на детей, просим отловить собак"


def fit_tagger(rows) -> TopicTagger:
    rubricator = load_rubricator()
    rows = topic_training.training_rows(rows, seed=13)
    # small hashed feature spaces: the same model class as the shipped one, fitted in about a second
    model = TopicModel(char_bits=14, word_bits=14, random_state=13).fit(
        rows["clean"].tolist(), rows["topic"].tolist(), rows["group"].tolist(),
        sample_weight=topic_training.sample_weights(rows))
    return TopicTagger(model, rubricator.groups, {t.name: t.urgent for t in rubricator.topics},
                       rubricator_version=rubricator.version)


def topic_of(tagger: TopicTagger, text: str) -> str | None:
    doc = Doc.from_post(Post(id="probe", text=text), "omsk")
    tagger([doc])
    return doc.topic.name if doc.topic else None


@pytest.fixture(scope="module")
def small_examples():
    examples = appeals.load_examples()
    return examples[examples["group"].isin(SMALL_GROUPS)].reset_index(drop=True)


def test_load_feedback_names_the_bad_line_and_field(tmp_path):
    path = tmp_path / "fb.jsonl"
    path.write_text(json.dumps({"text": "нет воды", "topic": "Отсутствие горячей воды", "group": "ЖКХ"}, ensure_ascii=False)
                    + "\n" + json.dumps({"text": "нет воды", "topic": "Нет такой темы"}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    with pytest.raises(DataError, match=r"fb.jsonl:2: topic: expected a rubricator topic name"):
        load_feedback(path)
    path.write_text(json.dumps({"text": "нет воды", "topic": "Отсутствие горячей воды", "group": "Дороги"},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"fb.jsonl:1: group: expected 'ЖКХ'"):
        load_feedback(path)
    path.write_text('{"text": ""}\n', encoding="utf-8")
    with pytest.raises(DataError, match="text: expected a non-empty string"):
        load_feedback(path)
    with pytest.raises(DataError, match="found none"):
        load_feedback(tmp_path / "missing.jsonl")


def test_corrections_on_the_page_retrain_the_topic_model(tmp_path, small_examples):
    old = fit_tagger([small_examples])
    old_path = tmp_path / "old"
    save_artifact(old_path, {"topic": old}, {"topic": {"note": "small test model"}})
    assert DOGS not in old.model.topics_ and topic_of(old, PROBE) != DOGS

    # the queue holds the old model's suggestions for three stray-dog posts
    now = datetime.now(timezone.utc)
    items = []
    for post_id, text in DOG_POSTS.items():
        doc = Doc.from_post(Post(id=post_id, text=text, region="omsk", detected_at=now), "omsk")
        old([doc])
        tagging = Tagging(id=post_id, region="omsk", topic=doc.topic, model_version="old",
                          sla=Sla("omsk", False, False, now, now + timedelta(hours=9)))
        items.append((doc.post, tagging))
    app = make_app(tmp_path)
    with TestClient(app, client=LOCAL) as client:
        fill_queue(app, items)
        login_local(client)
        for post_id in DOG_POSTS:
            page = client.get(f"/curator/post/{post_id}").text
            r = client.post("/curator/decide", data={"csrf": csrf_of(page), "post_id": post_id, "action": "correct",
                                                      "version": version_of(page), "topic": DOGS, "importance": "normal"})
            assert r.status_code == 200
        store = app.state.review
        assert {store.get(p).status for p in DOG_POSTS} == {"corrected"}

    out = tmp_path / "feedback.jsonl"
    assert export_feedback(app.state.settings.database_url, out) == 3
    examples = load_feedback(out)
    assert {(e.id, e.topic, e.group, e.decided_by) for e in examples} == \
        {(p, DOGS, "Безопасность", "curator") for p in DOG_POSTS}
    assert all(e.suggested["topic"] != DOGS for e in examples)

    new = fit_tagger([small_examples, feedback_frame(examples)])
    new_path = tmp_path / "new"
    save_artifact(new_path, {"topic": new}, {"topic": {"note": "small test model + feedback"}})
    assert topic_of(new, PROBE) == DOGS  # an unseen post of that kind now gets the curators' topic

    ev = evaluate_feedback(old_path, new_path, out, report=tmp_path / "report")
    assert (ev.n, ev.before_topic, ev.after_topic) == (3, 0.0, 1.0)
    assert {c["id"] for c in ev.changed} == set(DOG_POSTS)
    assert "| topic | 0.000 | 1.000 |" in (tmp_path / "report" / "feedback.md").read_text(encoding="utf-8")

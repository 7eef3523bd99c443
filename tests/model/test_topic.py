"""The topic component on real text through the real trained artifact."""
import numpy as np
import pytest

from model.artifact import load_artifact
from model.doc import Doc
from model.errors import ArtifactError
from model.paths import DEFAULT_ARTIFACT
from model.records import Post
from model.rubricator import load_rubricator
from model.topic import TopicTagger, has_subject, model_text


@pytest.fixture(scope="module")
def rubricator():
    return load_rubricator()


@pytest.fixture(scope="module")
def tagger(rubricator):
    return TopicTagger(load_artifact(DEFAULT_ARTIFACT).get("topic"), rubricator)


def tag(tagger, *texts, region="omsk"):
    docs = [Doc.from_post(Post(id=str(i), text=t), region) for i, t in enumerate(texts)]
    tagger(docs)
    return docs


@pytest.mark.parametrize("text, group", [
    ("Третий день нет горячей воды на ул. Ленина 5, управляйка трубку не берёт", "ЖКХ"),
    ("На Садовой огромная яма посреди проезжей части, вчера два колеса пробили", "Дороги"),
    ("к терапевту в поликлинике запись только через месяц, талонов нет", "Здравоохранение/Медицина"),
    ("автобус 37 опять не пришёл по расписанию, ждали на остановке час", "Общественный транспорт"),
    ("в садик не берут, очередь 150-я, мест нет", "Образование"),
    ("мусорные баки не вывозят неделю, контейнерная площадка завалена", "Мусор/Свалки/ТКО"),
    ("Граффити на стене дома", "ЖКХ"),  # the SPb portal's most common template complaint
])
def test_real_posts_get_their_group(tagger, text, group):
    (doc,) = tag(tagger, text)
    assert doc.topic is not None
    assert doc.topic.group == group, (text, doc.topic)


def test_topic_is_consistent_with_the_rubricator(tagger, rubricator):
    (doc,) = tag(tagger, "<p>Добрый день!&nbsp;Во дворе дома 12 не горит ни один фонарь, [id1|Иван] подтвердит</p>")
    topic = doc.topic
    assert rubricator.topic(topic.name).group == topic.group
    assert topic.urgent == rubricator.topic(topic.name).urgent
    assert 0 < topic.score <= topic.group_score <= 1
    assert len(topic.alternatives) == 3
    assert all(rubricator.topic(a.name).group == a.group for a in topic.alternatives)
    assert [a.score for a in topic.alternatives] == sorted((a.score for a in topic.alternatives), reverse=True)
    assert topic.name not in [a.name for a in topic.alternatives]


def test_group_scores_are_the_full_distribution(tagger, rubricator):
    (doc,) = tag(tagger, "в подъезде не работает лифт уже неделю")
    assert set(doc.group_scores) == set(rubricator.groups) and len(doc.group_scores) == 26
    assert sum(doc.group_scores.values()) == pytest.approx(1.0, abs=1e-4)
    assert max(doc.group_scores, key=doc.group_scores.get) == doc.topic.group


@pytest.mark.parametrize("text", ["!!!", "123 456", "😀🔥", "   ...   "])
def test_no_subject_gives_no_topic(tagger, text):
    (doc,) = tag(tagger, text)
    assert doc.topic is None
    assert set(doc.group_scores.values()) == {0.0}


def test_batch_equals_one_by_one(tagger):
    texts = ["нет отопления в квартире", "!!!", "яма на дороге у школы", "Спасибо за новый сквер"]
    batch = tag(tagger, *texts)
    for text, doc in zip(texts, batch):
        (single,) = tag(tagger, text)
        assert (single.topic is None) == (doc.topic is None)
        if doc.topic:
            assert single.topic.name == doc.topic.name
            assert single.topic.score == pytest.approx(doc.topic.score, abs=1e-4)


def test_long_html_text_is_capped_and_tagged(tagger):
    text = "<p>Нет горячей воды в доме по улице Мира 3.</p>" + "<p>Подпись, адрес, телефон.</p>" * 2000
    (doc,) = tag(tagger, text)
    assert doc.topic.group == "ЖКХ"
    assert len(model_text(doc.text.lower)) <= 1000


def test_has_subject():
    assert has_subject("ямы") and has_subject("pothole") and not has_subject("12 !! 😀")


def test_refuses_missing_model_and_foreign_rubricator(tagger, rubricator):
    with pytest.raises(ArtifactError, match="topic"):
        TopicTagger(None, rubricator)
    from model.rubricator import RubricTopic, Rubricator

    tiny = Rubricator("x", ["ЖКХ"], [RubricTopic("t1", "Отсутствие горячей воды", "ЖКХ", "g1", False)])
    with pytest.raises(ArtifactError, match="rubricator"):
        TopicTagger(tagger.model, tiny)


def test_scores_are_calibrated_on_the_informal_set(tagger):
    """Mean confidence should not exceed accuracy by much (no wild over-confidence)."""
    from training.appeals import INFORMAL_EVAL_FILE, load_jsonl_posts

    posts = load_jsonl_posts(INFORMAL_EVAL_FILE)
    docs = tag(tagger, *posts["text"].tolist())
    conf = np.array([d.topic.group_score for d in docs])
    acc = np.mean([d.topic.group == g for d, g in zip(docs, posts["group"])])
    assert conf.mean() - acc < 0.15, (conf.mean(), acc)

"""The off-topic detector: lexical cues plus the topic model's confidence (set by hand here; the
evaluation runs the real topic step)."""
import pytest

from model.doc import Doc
from model.offtopic import OffTopicDetector
from model.records import Post, Topic
from model.text import normalize


@pytest.fixture(scope="module")
def detector() -> OffTopicDetector:
    return OffTopicDetector.from_data()


OFF = [
    "С днём рождения, Омск! Любимый город, процветай!",
    "Доброе утро всем! Хорошего дня 😊",
    "👍👍👍",
    "Рецепт пирога: 3 яйца, стакан сахара, стакан муки, яблоки",
    "Потерялась собака, рыжая дворняжка, откликается на Джек. Помогите найти!",
    "Кто смотрел вчера футбол? Наши молодцы!",
]
ON = [
    "Когда уберут снег во дворе на Ленина 5?",
    "Нет горячей воды с утра, улица Мира 12",
    "Поздравляем с праздником! И просим наконец отремонтировать дорогу на Садовой",
    "Потерялся ребенок, мальчик 8 лет, в районе парка, полиция не реагирует",
    "Во дворе бегает стая бездомных собак, дети боятся",
    "Повреждена защитная сетка на хоккейной площадке, необходимо заменить",
    "Оставляла рецепты на лекарство в аптеке, лекарства нет второй месяц",
]


@pytest.mark.parametrize("text", OFF)
def test_off_topic_fires_without_a_topic_model(detector, text):
    assert detector.score(normalize(text)).score >= detector.threshold


@pytest.mark.parametrize("text", ON)
def test_on_topic_does_not_fire_without_a_topic_model(detector, text):
    s = detector.score(normalize(text))
    assert s.score < detector.threshold, s.parts


def test_topic_model_abstention_and_confidence_move_the_score(detector):
    text = normalize("Интересно, а у кого сколько детей?")
    alone = detector.score(text)
    abstains = detector.score(text, {"ЖКХ": 0.2, "Дороги": 0.15})
    confident = detector.score(text, {"Образование": 0.9, "ЖКХ": 0.05})
    assert abstains.score > alone.score > confident.score
    assert "topic_abstains" in abstains.parts and "topic_confident" in confident.parts


def test_predict_reads_doc_group_scores(detector):
    text = "Интересно, а у кого сколько детей?"
    abstains = Doc.from_post(Post(id="1", text=text), "vyatskiye_polyany")
    abstains.group_scores = {"ЖКХ": 0.2, "Дороги": 0.1}
    sure = Doc.from_post(Post(id="2", text=text), "vyatskiye_polyany")
    sure.topic = Topic(name="Ямы во дворах", group="Благоустройство", score=0.8, group_score=0.9)
    complaint = Doc.from_post(Post(id="3", text="Яма во дворе на Ленина 5"), "vyatskiye_polyany")
    complaint.group_scores = {"Благоустройство": 0.95, "Дороги": 0.03}
    found = detector.predict([abstains, sure, complaint])
    assert [f.reason for f in found[0]] == ["off_topic"]
    assert found[1] == [] or found[1][0].score < found[0][0].score
    assert found[2] == []


def test_abstention_alone_does_not_exclude_a_short_complaint(detector):
    # short curt portal complaints get a low topic confidence: that alone must not make them off-topic
    for text in ("граффити", "Щель между плитами", "Выродки, а не чиновники."):
        assert detector.score(normalize(text), {"ЖКХ": 0.15, "Дороги": 0.1}).score < detector.threshold


def test_evidence_points_at_the_cue(detector):
    original = "<b>С праздником</b>, дорогие земляки!"
    doc = Doc.from_post(Post(id="1", text=original), "vyatskiye_polyany")
    (finding,) = detector.predict([doc])[0]
    assert any(original[s.start : s.end] == s.text == "С праздником" for s in finding.evidence)

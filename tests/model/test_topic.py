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


# ------------------------------------------------------------ the St Petersburg portal prior

class _Router:
    """A router stand-in with two portal labels: one mapped to ЖКХ, one to Благоустройство."""

    group_rows_ = {"ЖКХ": 1000, "Благоустройство": 1000, "Здравоохранение/Медицина": 10}

    def __init__(self, p):
        self.p = np.asarray(p, dtype=float)

    def reason_proba(self, texts):
        return np.tile(self.p, (len(texts), 1))


def test_portal_prior_mixes_covered_groups_and_keeps_topics_within_their_group(tagger):
    from model.topic import PortalGroupPrior

    m = tagger.model
    prior = PortalGroupPrior(_Router([0.9, 0.1]), ["Благоустройство", "ЖКХ"], m.groups_, weight=0.5)
    assert prior.covered == {"ЖКХ", "Благоустройство"}  # health has too few portal rows
    texts = ["Граффити на стене дома", "к терапевту в поликлинике запись только через месяц, талонов нет"]
    pg, pt = m.predict_proba([model_text(t.lower()) for t in texts])
    g0, t0 = pg.copy(), pt.copy()
    columns = np.array([m.groups_.index(g) for g in m.topic_group_])
    prior.apply(texts, m.groups_, pg, pt, columns)
    blag, zhkh = m.groups_.index("Благоустройство"), m.groups_.index("ЖКХ")
    # the ЖКХ post (a covered group) moves halfway towards the portal's answer
    assert pg[0, blag] == pytest.approx(0.5 * g0[0, blag] + 0.45)
    assert pg[0, zhkh] == pytest.approx(0.5 * g0[0, zhkh] + 0.05)
    assert pg[0].sum() == pytest.approx(1.0)
    # topics keep P(topic | group): per group, the topic scores still add up to the group's score
    for j, g in enumerate(m.groups_):
        assert pt[0, columns == j].sum() == pytest.approx(pg[0, j], rel=1e-6)
    # the health post's best group is not covered: untouched
    assert np.array_equal(pg[1], g0[1]) and np.array_equal(pt[1], t0[1])


def test_portal_prior_is_used_for_its_region_only():
    from model.pipeline import Pipeline, PipelineOptions

    pipeline = Pipeline.load(PipelineOptions(steps=["topic"]))
    (topic_step,) = [c for c in pipeline.components if c.name == "topic"]
    assert "spb" in topic_step.priors and "omsk" not in topic_step.priors
    text = "Мусор во дворе у парадной не убирают, контейнер переполнен"
    spb, omsk = pipeline.tag([Post(id="1", text=text, region="spb"), Post(id="2", text=text, region="omsk")])
    assert spb.topic.group_score != omsk.topic.group_score
    # a post whose best group the portal does not cover is the same in both regions
    health = "к терапевту в поликлинике запись только через месяц, талонов нет"
    spb, omsk = pipeline.tag([Post(id="1", text=health, region="spb"), Post(id="2", text=health, region="omsk")])
    assert spb.topic == omsk.topic


def test_portal_prior_lifts_group_accuracy_on_later_spb_posts():
    """The last 400 posts of the SPb test period, with and without the prior (the shipped models have
    seen them: this checks the wiring and the direction, training.portal_prior measures the gain)."""
    from model.paths import SHARED_DATA_DIR
    from model.pipeline import Pipeline, PipelineOptions
    from training import appeals

    if not (SHARED_DATA_DIR / appeals.SPB_FILE).is_file():
        pytest.skip("the shared SPb data is not beside the repo")
    _, test = appeals.split_by_time_and_author(appeals.load_spb(SHARED_DATA_DIR))
    test = test.tail(400)
    pipeline = Pipeline.load(PipelineOptions(steps=["topic"]))
    (topic_step,) = [c for c in pipeline.components if c.name == "topic"]
    posts = [Post(id=str(i), text=t, region="spb") for i, t in enumerate(test["text"])]
    with_prior = np.mean([t.topic.group == g for t, g in zip(pipeline.tag(posts), test["group"])])
    topic_step.priors = {}
    without = np.mean([t.topic.group == g for t, g in zip(pipeline.tag(posts), test["group"])])
    assert with_prior > without


def test_a_router_without_portal_categories_is_refused(tagger):
    from model.topic import PortalGroupPrior

    with pytest.raises(ArtifactError, match="reason_proba"):
        PortalGroupPrior(object(), [], tagger.model.groups_)


def test_kursk_posts_get_the_kursk_portal_prior():
    from model.pipeline import Pipeline, PipelineOptions

    pipeline = Pipeline.load(PipelineOptions(steps=["topic"]))
    (topic_step,) = [c for c in pipeline.components if c.name == "topic"]
    assert set(topic_step.priors) == {"spb", "kursk"}
    assert {"Благоустройство", "Дороги"} <= topic_step.priors["kursk"].covered
    text = "Не горит уличное освещение на улице Советской, темно"
    kursk, omsk = pipeline.tag([Post(id="1", text=text, region="kursk"), Post(id="2", text=text, region="omsk")])
    assert kursk.topic.group_score != omsk.topic.group_score

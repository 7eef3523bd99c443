"""Routing on real text through the real trained artifact, and the profile routing tables."""
from pathlib import Path

import numpy as np

import pytest

from model.artifact import load_artifact
from model.doc import Doc
from model.paths import DEFAULT_ARTIFACT
from model.profiles import Profiles
from model.records import Location, Post
from model.paths import SHARED_DATA_DIR
from model.route import (REVIEW_MIN_SCORE, UNKNOWN_DISTRICT, ExecutorModel, PlaceExecutorModel, RouteTagger,
                         district_key, from_template, is_building, place_key, to_template)
from model.rubricator import load_rubricator
from model.topic import TopicTagger

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "profiles"


@pytest.fixture(scope="module")
def artifact():
    return load_artifact(DEFAULT_ARTIFACT)


@pytest.fixture(scope="module")
def topic(artifact):
    return TopicTagger(artifact.get("topic"), load_rubricator())


@pytest.fixture(scope="module")
def router(artifact):
    return RouteTagger(artifact.get("route"), Profiles.load(FIXTURES, default="testland"))


def route(topic, router, text, region, district=None, municipality=None):
    doc = Doc.from_post(Post(id="1", text=text), region)
    if district or municipality:
        doc.location = Location(district=district, municipality=municipality)
    topic([doc])
    router([doc])
    return doc


def test_spb_executor_follows_the_district(topic, router):
    text = "В парадной не горит свет на 3 этаже, лампочку не меняют месяц"
    nevsky = route(topic, router, text, "spb", district="Невский район")
    vyborg = route(topic, router, text, "spb", district="Выборгский")
    assert nevsky.route.executors[0].name == "СПб ГКУ ЖА Невского района"
    assert vyborg.route.executors[0].name == "СПб ГКУ ЖА Выборгского района"
    assert nevsky.route.executors[0].role == "responsible"
    assert nevsky.extras["route_source"] == "learned"
    assert len(nevsky.extras["route_candidates"]) == 3


def test_spb_city_wide_executor_for_traffic_signs(topic, router):
    doc = route(topic, router, "Наклейки и объявления на дорожном знаке и светофоре на перекрёстке", "spb",
                district="Московский")
    assert doc.route.executors[0].name == 'СПб ГКУ "Дирекция по организации дорожного движения"'


def test_spb_municipality_resolves_the_district(topic, router):
    doc = route(topic, router, "В парадной не горит свет на 3 этаже", "spb", municipality="муниципальный округ №65")
    assert doc.route.executors[0].name == "СПб ГКУ ЖА Приморского района"


def test_spb_without_district_asks_for_review(topic, router):
    doc = route(topic, router, "В парадной не горит свет на 3 этаже, лампочку не меняют месяц", "spb")
    top = doc.route.executors[0]
    assert UNKNOWN_DISTRICT in top.name
    assert doc.route.needs_review


def test_kursk_learned_route(topic, router):
    doc = route(topic, router, "Огромные ямы на дороге по улице Карла Маркса в городе Курске, ремонта нет годами", "kursk")
    assert doc.extras["route_source"] == "learned"
    assert "Курск" in doc.route.executors[0].name


def test_table_route_from_the_profile(topic, router):
    doc = route(topic, router, "в поликлинике к терапевту запись на месяц вперёд, талонов нет", "testland")
    assert [e.name for e in doc.route.executors] == ["Министерство здравоохранения Тестовой области"]
    doc = route(topic, router, "Третий день нет горячей воды, управляйка трубку не берёт", "testland")
    assert [(e.name, e.role) for e in doc.route.executors] == [
        ("Департамент ЖКХ", "responsible"), ("Государственная жилищная инспекция", "co-executor")]
    assert doc.extras["route_source"] == "table"


def test_out_of_scope_group_in_spb_goes_to_the_table(artifact, topic):
    profiles = Profiles.load(FIXTURES, default="testland")
    router = RouteTagger(artifact.get("route"), profiles)
    doc = route(topic, router, "в поликлинике к терапевту запись на месяц вперёд, талонов нет", "spb")
    # the SPb data has no health care: the learned model must not pick a housing agency
    assert doc.extras["route_source"] == "table"


def test_spb_topic_outside_the_portal_data_goes_to_the_table(topic, router):
    # SPb's "transport" rows are bus-stop upkeep only: a timetable complaint is not the model's to route
    doc = route(topic, router, "автобус 37 опять не пришёл по расписанию, интервал полчаса вместо десяти минут",
                "spb", district="Невский")
    assert doc.topic.group == "Общественный транспорт"
    assert doc.extras["route_source"] == "table"
    stop = route(topic, router, "На остановке разбито стекло павильона и всё заклеено объявлениями", "spb",
                 district="Невский")
    assert stop.extras["route_source"] == "learned"


def test_unknown_region_and_no_topic_need_review(topic, router):
    doc = route(topic, router, "нет горячей воды", "atlantis")
    assert doc.route.executors == [] and doc.route.needs_review
    doc = route(topic, router, "!!!", "testland")
    assert doc.route.needs_review
    assert [e.name for e in doc.route.executors] == ["Администрация муниципального образования (по месту)"]


def test_low_confidence_needs_review():
    pred = RouteTagger._learned_route([("A", REVIEW_MIN_SCORE - 0.01), ("B", 0.1), ("C", 0.05)])
    assert pred.route.needs_review
    pred = RouteTagger._learned_route([("A", 0.9), ("B", 0.05), ("C", 0.05)])
    assert not pred.route.needs_review
    pred = RouteTagger._learned_route([("A", 0.55), ("B", 0.45), ("C", 0.0)])
    assert pred.route.needs_review


def test_templates_round_trip():
    assert to_template("СПб ГКУ ЖА Невского района", "Невский") == "СПб ГКУ ЖА {D}ого района"
    assert from_template("СПб ГКУ ЖА {D}ого района", "Курортный") == "СПб ГКУ ЖА Курортного района"
    assert from_template("Администрация {D}ого района", None) == f"Администрация {UNKNOWN_DISTRICT}"
    assert to_template("СПб ГБУ «Ленсвет»", "Невский") == "СПб ГБУ «Ленсвет»"
    assert district_key("Невский р-н") == district_key("невский район") == "невский"
    assert district_key(None) is None


def test_batch_routes_match_single(topic, router):
    texts = ["В парадной не горит свет", "Мусор на газоне у дома", "нет горячей воды"]
    docs = [Doc.from_post(Post(id=str(i), text=t), "spb") for i, t in enumerate(texts)]
    for d in docs:
        d.location = Location(district="Центральный")
    topic(docs)
    router(docs)
    for t, d in zip(texts, docs):
        single = route(topic, router, t, "spb", district="Центральный")
        assert single.route.executors[0].name == d.route.executors[0].name


def test_territory_resolves_the_local_department(topic, router):
    text = "в парке бродячие собаки нападают на детей"
    north = route(topic, router, text, "testland", district="Северный район")
    south = route(topic, router, text, "testland", municipality="Южное")
    nowhere = route(topic, router, text, "testland")
    assert north.topic.group == "Безопасность"  # the fixture routes it by its "*" default
    assert [e.name for e in north.route.executors] == ["Администрация Северного района"]
    assert [e.name for e in south.route.executors] == ["Администрация поселения Южное"]
    assert [e.name for e in nowhere.route.executors] == ["Администрация муниципального образования (по месту)"]
    assert nowhere.route.needs_review


@pytest.fixture(scope="module")
def kursk_model():
    """A place-aware executor model fitted on the real Kursk rows (places from the location component)."""
    from training import appeals
    from training.route import fit_place_model, kursk_places

    df = appeals.load_kursk(SHARED_DATA_DIR)
    df = kursk_places(df[df["executor"].notna()].reset_index(drop=True))
    return fit_place_model(df, seed=13)


def test_place_key():
    assert place_key("Курск", "Центральный округ") == "курск/центральный"
    assert place_key("Конышёвский район") == "конышевский район"
    assert place_key(None, None) is None


def test_kursk_place_picks_the_local_administration(kursk_model):
    from training.appeals import clean_text

    text = [clean_text("Огромные ямы на дороге по улице Карла Маркса, ремонта нет годами")]
    city = kursk_model.rank(text, [None], [None])[0]
    assert "Курск" in city[0][0] and "района" not in city[0][0]
    assert kursk_model.rank(text, [None], ["Курский район"])[0][0][0] == "Администрация Курского района"
    assert kursk_model.rank(text, [None], ["Льгов"])[0][0][0] == "Администрация города Льгов"
    # health care is the regional committee's wherever the post comes from
    health = [clean_text("В больнице не хватает врачей, к терапевту не попасть")]
    assert kursk_model.rank(health, [None], ["Льгов"])[0][0][0] == "Комитет здравоохранения Курской области"


def test_kursk_place_model_in_the_router(kursk_model, topic):
    router = RouteTagger({"kursk": kursk_model}, Profiles.load(FIXTURES, default="testland"))
    doc = route(topic, router, "Огромные ямы на дороге, ремонта нет годами", "kursk", municipality="Курский район")
    assert doc.extras["route_source"] == "learned"
    assert doc.route.executors[0].name == "Администрация Курского района"
    assert len(doc.extras["route_candidates"]) == 3


@pytest.mark.parametrize("address, expected", [
    ("г.Санкт-Петербург, Мебельная улица, дом 47, корпус 1, литера А", True),
    ("Невский пр., 10", True), ("ул. Ленина 5", True), ("пр. Просвещения, 87к1", True),
    ("2-я линия В.О., 5, лит. А", True),
    ("Невский проспект", False), ("Парк Победы", False), ("улица 8 Марта", False), ("2-я линия В.О.", False),
    (None, None), ("  ", None),
])
def test_is_building(address, expected):
    assert is_building(address) is expected


def test_building_flag_reweighs_the_reasons_only_when_known():
    model = ExecutorModel(building_weight=1.0)
    model.building_rates_ = np.array([0.9, 0.1], dtype=np.float32)  # reason 0: a staircase, 1: a yard
    p = np.array([[0.5, 0.5]] * 3)
    out = model._weigh_buildings(p, [True, False, None])
    assert out[0] == pytest.approx([0.9, 0.1])
    assert out[1] == pytest.approx([0.1, 0.9])
    assert out[2] == pytest.approx([0.5, 0.5])  # no address: unchanged
    assert model._weigh_buildings(p, None) is p
    model.building_rates_ = None  # an artifact trained before the flag existed
    assert model._weigh_buildings(p, [True] * 3) is p


def test_router_passes_the_address_to_the_model(topic):
    seen = {}

    class Spy(PlaceExecutorModel):
        def rank(self, texts, districts, municipalities=None, k=3, buildings=None):
            seen["buildings"] = buildings
            return [[("X", 0.9), ("Y", 0.05), ("Z", 0.05)] for _ in texts]

        def covers(self, group, topic=None):
            return True

    spy = Spy()
    spy.scorer_ = object()  # fitted for check_is_fitted
    router = RouteTagger({"spb": spy}, Profiles.load(FIXTURES, default="testland"))
    docs = [Doc.from_post(Post(id=str(i), text="грязно в парадной", address=a), "spb")
            for i, a in enumerate(["Невский пр., 10", "Невский проспект", None])]
    topic(docs)
    router(docs)
    assert seen["buildings"] == [True, False, None]


def test_spb_portal_category_probabilities(artifact):
    model = artifact.get("route")["spb"]
    texts = ["В парадной не горит свет на 3 этаже", "Яма на проезжей части у дома 5", "Граффити на фасаде"]
    p = model.reason_proba(texts)
    assert p.shape == (3, len(model.reason_model_.classes_))
    assert np.allclose(p.sum(axis=1), 1.0)
    X = model._features(texts, [None] * 3)
    assert list(model.reason_model_.classes_[p.argmax(axis=1)]) == list(model.reason_model_.predict(X))
    assert "парадн" in str(model.reason_model_.classes_[p[0].argmax()]).lower() or "освещ" in str(
        model.reason_model_.classes_[p[0].argmax()]).lower()


def test_spb_portal_categories_for_a_few_posts_equal_the_batch(artifact):
    model = artifact.get("route")["spb"]
    texts = ["В парадной не горит свет", "Яма на дороге", "Граффити", "Мусор во дворе", "Снег не убран на тротуаре"]
    batch = model.reason_proba(texts)  # more than FEW: the sparse product
    one_by_one = np.vstack([model.reason_proba([t]) for t in texts])  # the row path
    assert np.allclose(batch, one_by_one, atol=1e-6)


def test_object_classifier_moves_the_reasons_between_yard_and_street():
    # a yard puddle goes to the housing agency, a road puddle to the city-wide service; the texts
    # that name the place teach the object classifier, which then also sorts out the reason mass
    texts = (["лужа во дворе дома"] * 4 + ["во дворе грязно"] * 4 + ["лужа на проезжей части"] * 4
             + ["на дороге грязно"] * 4 + ["лужа"] * 4)
    reasons = ["двор"] * 8 + ["дорога"] * 8 + ["двор", "дорога"] * 2
    objects = ["Двор"] * 8 + ["Улица"] * 8 + [None] * 4
    executors = ["СПб ГКУ ЖА Невского района" if r == "двор" else "ЦКБ" for r in reasons]
    districts = ["Невский"] * len(texts)
    fitted = {}
    for weight in (0.0, 1.0):
        model = ExecutorModel(object_weight=weight, keep=0).fit(texts, reasons, executors, districts, objects=objects)
        fitted[weight] = model
        P = model.predict_template_proba(["лужа во дворе", "лужа на проезжей части"], ["Невский"] * 2)
        assert P.sum(axis=1) == pytest.approx([1.0, 1.0])
        assert model.rank(["лужа во дворе"], ["Невский"])[0][0][0] == "СПб ГКУ ЖА Невского района"
    assert fitted[0.0].object_model_ is None
    assert list(fitted[1.0].object_model_.classes_) == ["Двор", "Улица"]
    assert fitted[1.0].object_rates_.shape == (2, 2)
    # a few posts (rows_dot path) score as the batch does
    texts = ["лужа во дворе", "на дороге лужа"]
    one = [fitted[1.0].predict_template_proba([t], ["Невский"]) for t in texts]
    batch = fitted[1.0].predict_template_proba(texts * 3, ["Невский"] * 6)
    assert np.vstack(one) == pytest.approx(batch[:2], abs=1e-5)

"""The location component on real sentences: the issue's examples, spans, ambiguity, geo and address input."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.doc import Doc
from model.errors import DataError, InputError
from model.gazetteer import Gazetteer
from model.geo import GeoIndex
from model.location import LocationTagger
from model.paths import DATA_DIR, SHARED_DATA_DIR
from model.records import Geo, Post
from model.text import normalize

SPB_FILE = SHARED_DATA_DIR / "appeals/spb_nash_spb/spb_appeals_2020_10_to_2021_03.csv.gz"


@pytest.fixture(scope="module")
def tagger() -> LocationTagger:
    return LocationTagger.from_data(DATA_DIR)


@pytest.fixture(scope="module")
def geo_index() -> GeoIndex:
    """A real geo index fitted on the first 3,000 portal messages and the hflabs town centroids."""
    if not SPB_FILE.is_file():
        pytest.skip("shared SPb data not available")
    from training.geo import _points, city_centroids

    df = pd.read_csv(SPB_FILE, nrows=3000).dropna(subset=["latitude", "longitude", "district"])
    points, labels = _points(df)
    return GeoIndex().fit(points, labels, city_centroids(SHARED_DATA_DIR), {"spb": [("Мебельная улица", "Приморский район", "Санкт-Петербург")]})


def locate(tagger: LocationTagger, text: str, region: str):
    return tagger.locate(normalize(text), region)


def parts(loc) -> tuple:
    return (loc.municipality, loc.district, loc.settlement, loc.street, loc.house) if loc else None


@pytest.mark.parametrize(
    "text, region, expected",
    [
        # the examples
        ("Яма на Ленина 15 уже месяц", "omsk", ("Омск", "Центральный округ", None, "улица Ленина", "15")),
        ("в Кирове опять нет воды", "vyatskiye_polyany", ("Киров", None, None, None, None)),
        ("ст. Сторожевая без света второй день", "zelenchuk", ("Зеленчукский район", None, "станица Сторожевая", None, None)),
        ("10 лет октября д.3 течет крыша", "omsk", ("Омск", None, None, "улица 10 лет Октября", "3")),
        ("у 5-й школы на Мира не убран снег", "omsk", ("Омск", "Советский округ", None, "проспект Мира", None)),
        ("Индустриальный р-н, нет отопления", "altai_krai", ("Барнаул", "Индустриальный район", None, None, None)),
        ("на улице Ленина мусор", "vyatskiye_polyany", ("Вятские Поляны", None, None, "улица Ленина", None)),
        ("на проспекте Мира яма", "omsk", ("Омск", "Советский округ", None, "проспект Мира", None)),
        # street types and house parts: ул., пр-т, пер., б-р, ш., мкр., д., корп., стр.
        ("Индустриальный р-н, ул. Попова 12 корп. 2", "altai_krai", ("Барнаул", "Индустриальный район", None, "улица Попова", "12 корп. 2")),
        ("Дыбенко ул., дом 4, корп.2, строение 1", "spb", ("Санкт-Петербург", None, None, "улица Дыбенко", "4 корп. 2 стр. 1")),
        ("прорыв трубы пр-т Карла Маркса 30", "omsk", ("Омск", None, None, "проспект Карла Маркса", "30")),
        ("ст. Нижнебаканская, пер. Школьный 2", "krymsk", ("Крымский район", None, "станица Нижнебаканская", "Школьный переулок", "2")),
        ("б-р Архитекторов 5/1 не вывозят мусор", "omsk", ("Омск", "Кировский округ", None, "бульвар Архитекторов", "5/1")),
        ("авария на Вознесенском ш. 5", "spb", ("Санкт-Петербург", None, None, "Вознесенское шоссе", "5")),
        ("мкр. Дубрава, д. 5 — не убирают", "vyatskiye_polyany", ("Вятские Поляны", None, None, "микрорайон Дубрава", "5")),
        ("на Невском проспекте грязно", "spb", ("Санкт-Петербург", None, None, "Невский проспект", None)),
        ("Малая Бухарестская улица, 9 скользко", "spb", ("Санкт-Петербург", None, None, "Малая Бухарестская улица", "9")),
        # lower case, typos, settlements by case forms
        ("в вятских полянах на ленина 15 нет воды", "vyatskiye_polyany", ("Вятские Поляны", None, None, "улица Ленина", "15")),
        ("в станице Кардоникской на ул. Ленина 12 нет воды", "zelenchuk", ("Зеленчукский район", None, "станица Кардоникская", "улица Ленина", "12")),
        ("в селе Ивановка Льговского района", "kursk", ("Льговский район", None, "село Ивановка", None, None)),
        ("в Кировском округе нет отопления", "omsk", ("Омск", "Кировский округ", None, None, None)),
        ("на Гагарина у дома 8 прорвало трубу", "omsk", ("Омск", "Центральный округ", None, "улица Гагарина", "8")),
    ],
)
def test_real_sentences(tagger, text, region, expected):
    assert parts(locate(tagger, text, region)) == expected


@pytest.mark.parametrize(
    "text, region",
    [
        ("мусор не вывозят третий день", "omsk"),
        ("Памятник Гагарину облили краской", "omsk"),  # a surname, not a street
        ("Поздравляем Гагарина Ивана с юбилеем!", "vyatskiye_polyany"),
        ("Ленина 15 минут ждали автобус", "omsk"),  # a number that is no house
        ("Парадная 2, на 3 этаже не горит свет", "spb"),  # «Парадная улица» exists, but not here
        ("в городе грязно", "kursk"),
        ("с улицы через дверь дует", "spb"),
    ],
)
def test_nothing_is_invented(tagger, text, region):
    assert locate(tagger, text, region) is None


def test_surname_needs_cue_or_gazetteer(tagger):
    # «Гагарина» is a street with a cue («ул.») even where the gazetteer does not know it
    loc = locate(tagger, "ул. Гагарина 20 — течет крыша", "kursk")
    assert (loc.street, loc.house, loc.municipality) == ("улица Гагарина", "20", None)
    # a common street name tells no town in a region-wide profile
    assert locate(tagger, "На улице Ленина д. 5 стр. 1 не убирают снег", "kursk").municipality is None


def test_mentions_are_original_spans(tagger):
    original = "<p>Добрый день!&nbsp;В Крымске на&nbsp;ул. Синева,&nbsp;д.&nbsp;15 нет воды</p>"
    loc = tagger.locate(normalize(original), "krymsk")
    assert (loc.settlement, loc.street, loc.house) == ("Крымск", "улица Синева", "15")
    assert [m.text for m in loc.mentions] == ["Крымске", original[original.index("ул."):original.index("15") + 2]]
    for m in loc.mentions:
        assert original[m.start : m.end] == m.text


def test_component_protocol_sets_doc_location(tagger):
    docs = [
        Doc.from_post(Post(id="1", text="на Ленина 15 течет крыша"), "omsk"),
        Doc.from_post(Post(id="2", text="спасибо за парк"), "omsk"),
        Doc.from_post(Post(id="3", text="в Бийске нет света"), "altai_krai"),
    ]
    preds = tagger.predict(docs)
    assert len(preds) == 3 and all(d.location is None for d in docs)  # predict is pure
    tagger(docs)
    assert docs[0].location.street == "улица Ленина" and docs[0].location.source == "text"
    assert docs[1].location is None
    assert docs[2].location.municipality == "Бийск"
    assert docs[0].to_tagging("v").location.house == "15"
    assert tagger._ner is None  # NER is loaded only when asked for


def test_address_field_comes_first(tagger):
    post = Post(
        id="a1",
        text="В парадной 4 не работает освещение, на ул. Садовой тоже",
        address="г.Санкт-Петербург, Мебельная улица, дом 47, корпус 1, литера А",
    )
    loc = tagger.predict([Doc.from_post(post, "spb")])[0]
    assert (loc.street, loc.house, loc.source) == ("Мебельная улица", "47 корп. 1 лит. А", "address")
    assert [m.text for m in loc.mentions] == ["ул. Садовой"]  # text mentions still reported
    loc = tagger.locate(normalize("нет воды"), "zelenchuk", address="ст. Исправная, ул. Советская, 30")
    assert (loc.settlement, loc.street, loc.house, loc.municipality) == (
        "станица Исправная", "Советская улица", "30", "Зеленчукский район")


def test_geo_point_maps_to_district(geo_index):
    tagger = LocationTagger.from_data(DATA_DIR, geo_index)
    # a message point of the portal: Колпино (Колпинский район)
    df = pd.read_csv(SPB_FILE, nrows=3000)
    row = df[df["municipality"] == "город Колпино"].iloc[0]
    post = Post(id="g1", text="Не убран снег на Мебельной 47", geo=Geo(float(row.latitude), float(row.longitude)))
    loc = tagger.predict([Doc.from_post(post, "spb")])[0]
    assert (loc.district, loc.municipality, loc.settlement, loc.source) == ("Колпинский район", "город Колпино", "Колпино", "geo")
    assert loc.street == "Мебельная улица" and loc.house == "47"  # the text adds what the point does not say
    assert [m.text for m in loc.mentions] == ["Мебельной 47"]
    # Барнаул's centre, far from SPb: the town centroid answers
    assert geo_index.locate(53.348, 83.78) == {"municipality": "Барнаул", "district": None, "settlement": None}
    assert geo_index.locate(0.0, 0.0) is None
    with pytest.raises(InputError, match="latitude"):
        geo_index.locate(95.0, 30.0)


def test_geo_index_predicts_districts_of_held_out_points(geo_index):
    df = pd.read_csv(SPB_FILE, skiprows=range(1, 3001), nrows=500).dropna(subset=["latitude", "longitude"])
    pred = geo_index.predict(df[["latitude", "longitude"]].to_numpy())
    answered = [(p[0], d) for p, d in zip(pred, df["district"]) if p is not None]
    accuracy = np.mean([p == f"{d} район" for p, d in answered])
    assert len(answered) > 300 and accuracy > 0.9


def test_bad_gazetteer_is_a_data_error():
    with pytest.raises(DataError, match="places\\[0\\]"):
        Gazetteer.from_dict({"profile": "x", "places": [{"kind": "village", "name": "Y"}]}, "x.yaml")
    with pytest.raises(DataError, match="expected a gazetteer directory"):
        LocationTagger.from_data(DATA_DIR / "no-such-dir")


def test_batch_geo_lookup_equals_one_by_one(geo_index):
    df = pd.read_csv(SPB_FILE, skiprows=range(1, 3001), nrows=60).dropna(subset=["latitude", "longitude"])
    points = [(float(a), float(b)) for a, b in zip(df.latitude, df.longitude)] + [(53.348, 83.78), (0.0, 0.0)]
    assert geo_index.locate_many(points) == [geo_index.locate(lat, lon) for lat, lon in points]
    assert geo_index.locate_many([]) == []
    # a batch mixing posts with and without a point: each gets its own answer, in order
    tagger = LocationTagger.from_data(DATA_DIR, geo_index)
    posts = [Post(id=str(k), text=t, geo=g) for k, (t, g) in enumerate([
        ("Яма у дома", Geo(*points[0])), ("Нет света на Мебельной 47", None), ("Яма", Geo(53.348, 83.78))])]
    docs = [Doc.from_post(p, "spb") for p in posts]
    batch = tagger.predict(docs)
    single = [tagger.locate(d.text, d.region, None, d.post.geo) for d in docs]
    assert batch == single
    assert batch[2].municipality == "Барнаул" and batch[1].street == "Мебельная улица"
    with pytest.raises(InputError, match="latitude"):
        geo_index.locate_many([points[0], (95.0, 30.0)])


def test_kdtree_lookup_equals_the_haversine_ball_tree(geo_index):
    import pickle

    df = pd.read_csv(SPB_FILE, skiprows=range(1, 3001), nrows=400).dropna(subset=["latitude", "longitude"])
    points = [(float(a), float(b)) for a, b in zip(df.latitude, df.longitude)]
    points += [(lat + 0.004, lon - 0.003) for lat, lon in points[:100]] + [(53.348, 83.78), (59.93, 30.31)]

    def ball_tree(lat, lon):
        dist, idx = geo_index.tree_.query(np.radians([[lat, lon]]), k=geo_index.k_)
        return geo_index._answer(lat, lon, dist[0], idx[0])

    assert geo_index.locate_many(points) == [ball_tree(lat, lon) for lat, lon in points]
    assert "_kd" not in pickle.loads(pickle.dumps(geo_index)).__dict__  # rebuilt per process

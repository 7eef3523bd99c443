"""Incidents: posts of different people and networks about one problem share an incident id."""
from datetime import datetime, timedelta, timezone

import pytest

from model.doc import Doc
from model.fingerprint import Fingerprinter
from model.history import MemoryHistoryStore
from model.incidents import SIZE_KEY, IncidentTagger
from model.profiles import Profile, Profiles
from model.records import Geo, Location, Post, Topic
from model.repeats import RepeatTagger

T0 = datetime(2026, 1, 15, 8, 0, tzinfo=timezone.utc)
HOT = ("ЖКХ", "Отсутствие горячей воды")
LIGHT = ("Благоустройство", "Не работает уличное освещение")


@pytest.fixture(scope="module")
def fingerprinter():
    return Fingerprinter()


@pytest.fixture()
def tag(fingerprinter):
    store = MemoryHistoryStore()
    profiles = Profiles({"omsk": Profile("omsk", "Омск", "Asia/Omsk", frozenset(), {}, {})}, "omsk")
    incidents = IncidentTagger(store, fingerprinter=fingerprinter)
    repeats = RepeatTagger(store, profiles, fingerprinter=fingerprinter)

    def run(*docs):
        docs = list(docs)
        incidents(docs)
        repeats(docs)  # records the posts with their incident ids
        return docs

    run.store = store
    return run


def doc(pid, text, author, hours=0.0, source="vk", topic=None, location=None, geo=None):
    d = Doc.from_post(Post(id=pid, text=text, author_id=author, created_at=T0 + timedelta(hours=hours), source=source), "omsk")
    if topic:
        d.topic = Topic(name=topic[1], group=topic[0], score=0.8)
    d.location = location
    return d


PIPE = "Прорвало трубу холодной воды у дома Западная 3, вода хлещет по улице, дорогу размывает"


def test_cross_network_copies_by_different_people_join_one_incident(tag):
    a, = tag(doc("vk-1", PIPE, "u1"))
    b, = tag(doc("ok-7", "Прорвало трубу холодной воды у дома Западная 3!!! Вода хлещет по улице, дорогу размывает", "u2",
                 hours=2, source="ok"))
    c, = tag(doc("tg-3", PIPE + " #омск", "u3", hours=5, source="telegram"))
    assert a.incident_id == "inc-vk-1" and a.extras[SIZE_KEY] == 1
    assert b.incident_id == c.incident_id == a.incident_id
    assert b.extras[SIZE_KEY] == 2 and c.extras[SIZE_KEY] == 3


def test_same_group_same_house_different_words_join(tag):
    loc = Location(municipality="Омск", street="улица Ленина", house="5")
    a, = tag(doc("vk-1", "Третий день нет горячей воды, УК трубку не берет", "u1", topic=HOT, location=loc))
    b, = tag(doc("vk-2", "Горячей воды нет, дети не мылись с понедельника", "u2", hours=20, topic=HOT,
                 location=Location(municipality="Омск", street="Ленина", house="5")))
    assert b.incident_id == a.incident_id and b.extras[SIZE_KEY] == 2
    assert b.extras["incident"]["joined"] == "vk-1"


def test_other_house_other_group_or_too_late_start_new_incidents(tag):
    loc = Location(municipality="Омск", street="улица Ленина", house="5")
    a, = tag(doc("vk-1", "Третий день нет горячей воды, УК трубку не берет", "u1", topic=HOT, location=loc))
    other_house, = tag(doc("vk-2", "Третий день нет горячей воды, УК трубку не берет", "u2", hours=1, topic=HOT,
                           location=Location(municipality="Омск", street="улица Ленина", house="7")))
    other_group, = tag(doc("vk-3", "Не горит фонарь у дома, темно", "u3", hours=2, topic=LIGHT, location=loc))
    too_late, = tag(doc("vk-4", "Нет горячей воды, УК трубку не берет", "u4", hours=24 * 5, topic=HOT, location=loc))
    ids = {a.incident_id, other_house.incident_id, other_group.incident_id, too_late.incident_id}
    assert len(ids) == 4


def test_geo_points_close_together_join(tag):
    a = doc("vk-1", "Огромная яма на дороге, пробил колесо", "u1", topic=("Дороги", "Ямы"))
    a.post.geo = Geo(54.9885, 73.3242)
    b = doc("vk-2", "Яма на проезжей части, объехать негде, колеса бьем", "u2", hours=3, topic=("Дороги", "Ямы"))
    b.post.geo = Geo(54.9890, 73.3247)
    tag(a)
    tag(b)
    assert b.incident_id == a.incident_id


def test_one_batch_and_retagging_count_each_post_once(tag):
    docs = tag(doc("vk-3", PIPE, "u3", hours=2), doc("vk-1", PIPE, "u1"), doc("vk-2", PIPE + "!", "u2", hours=1))
    assert len({d.incident_id for d in docs}) == 1 and docs[0].incident_id == "inc-vk-1"
    assert sorted(d.extras[SIZE_KEY] for d in docs) == [3, 3, 3]
    again, = tag(doc("vk-2", PIPE + "!", "u2", hours=1))
    assert again.incident_id == "inc-vk-1" and again.extras[SIZE_KEY] == 3
    assert tag.store.incident_sizes(["inc-vk-1"]) == {"inc-vk-1": 3}

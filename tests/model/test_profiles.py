"""Every profile loads, uses rubricator groups and known department ids, and describes itself."""
from __future__ import annotations

import json

import pytest

from model.errors import DataError
from model.profiles import Profiles, load_profile
from model.records import EXCLUSION_REASONS
from model.rubricator import load_rubricator

IDS = ["altai_krai", "krymsk", "kursk", "omsk", "spb", "vyatskiye_polyany", "zelenchuk"]


@pytest.fixture(scope="module")
def profiles() -> Profiles:
    return Profiles.load()


def test_all_profiles_load(profiles):
    assert profiles.ids() == IDS


@pytest.mark.parametrize("pid", IDS)
def test_routing_groups_and_departments(profiles, pid):
    p = profiles.get(pid)
    groups = set(load_rubricator().groups)
    assert len(groups) == 26
    assert set(p.routing) - {"*"} == groups  # every group routed, no other key
    assert "*" in p.routing
    for group, ids in p.routing.items():
        assert ids and all(i in p.departments for i in ids), group
        assert len(set(ids)) == len(ids), group
    assert all(t in p.departments for t in p.territories.values())
    assert p.exclusions <= set(EXCLUSION_REASONS)


@pytest.mark.parametrize("pid", IDS)
def test_terms_and_milestones(profiles, pid):
    p = profiles.get(pid)
    assert set(p.terms) == {"normal", "high"}
    assert p.terms["high"].minutes <= p.terms["normal"].minutes or p.terms["normal"].clock == "working_days"
    for level in ("normal", "high"):
        assert {"route_by", "return_by", "draft_due", "approval_by", "publish_by"} <= set(p.milestones[level])


def test_regulation_specifics(profiles):
    assert profiles.get("omsk").timezone == "Asia/Omsk"
    assert profiles.get("altai_krai").timezone == "Asia/Barnaul"
    assert profiles.get("vyatskiye_polyany").terms["normal"].clock == "working_days"
    assert profiles.get("vyatskiye_polyany").terms["normal"].minutes == 24 * 60
    for pid in ("krymsk", "omsk", "vyatskiye_polyany"):  # shorten to 4 working hours
        p = profiles.get(pid)
        assert p.high_importance.shortened and p.terms["high"].minutes == 240
    for pid in ("zelenchuk", "altai_krai"):  # priority, one term
        p = profiles.get(pid)
        assert p.high_importance.priority and not p.high_importance.shortened
    assert profiles.get("krymsk").exclusions == frozenset()
    assert profiles.get("zelenchuk").exclusions == frozenset()
    assert profiles.get("altai_krai").exclusions == {"harm_intent", "profanity", "insult", "threat_official"}
    assert "repeat_no_new_arguments" in profiles.get("omsk").exclusions
    assert {"threat_authority", "off_topic"} <= profiles.get("vyatskiye_polyany").exclusions
    assert "final_answer_by" not in profiles.get("omsk").milestones["high"]  # §11: agreed with the curator


@pytest.mark.parametrize("pid", IDS)
def test_describe_is_json_ready(profiles, pid):
    d = profiles.get(pid).describe()
    json.dumps(d, ensure_ascii=False)
    for key in ("id", "name", "timezone", "schedule", "terms", "milestones", "exclusions", "departments", "routing"):
        assert key in d
    assert d["id"] == pid and d["schedule"]["week"]


BASE = "id: x\nname: X\ntimezone: Europe/Moscow\n"


@pytest.mark.parametrize("extra,match", [
    ("timezone2: 1\n", None),
    ("terms: {normal: {hours: 8}}\n", "high"),
    ("terms: {normal: {hours: 8, clock: wall}, high: {hours: 4}}\n", "clock"),
    ("terms: {normal: {hours: -1}, high: {hours: 4}}\n", "positive"),
    ("milestones: {normal: {route_by: {after: nowhere, minutes: 30}}}\n", "anchors"),
    ("milestones: {normal: {route_by: {after: detected}}}\n", "minutes"),
    ("milestones: {normal: {a: {after: b, minutes: 1}, b: {after: a, minutes: 1}}}\n", "cycles"),
    ("schedule: {week: {mon: ['18:00-09:00']}}\n", "start before end"),
    ("high_importance: {shortened: maybe}\n", "true or false"),
    ("territories: {Центр: nowhere}\n", "department ids"),
    ("same_day_interim_before: '25:99'\n", "HH:MM"),
])
def test_bad_profile_fields(tmp_path, extra, match):
    path = tmp_path / "x.yaml"
    path.write_text(BASE + extra, encoding="utf-8")
    if match is None:
        assert load_profile(path).id == "x"
        return
    with pytest.raises(DataError, match=match):
        load_profile(path)


def test_bad_timezone(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("id: x\nname: X\ntimezone: Mars/Olympus\n", encoding="utf-8")
    with pytest.raises(DataError, match="timezone"):
        load_profile(path)

"""model/gazetteer.py: the data files load and names match in every case."""
from __future__ import annotations

from model.gazetteer import COMMON_STREETS, case_forms, load_gazetteers, street_keys
from model.paths import DATA_DIR

PROFILES = {"vyatskiye_polyany", "krymsk", "altai_krai", "zelenchuk", "omsk", "spb", "kursk"}


def test_every_profile_has_a_gazetteer_with_sources():
    gazetteers = load_gazetteers(DATA_DIR / "gazetteers")
    assert set(gazetteers) == PROFILES
    assert all(g.sources for g in gazetteers.values())
    spb = gazetteers["spb"]
    assert len({p.name for ps in spb.stems.values() for p in ps if p.kind == "district"}) == 18
    omsk = gazetteers["omsk"]
    assert {p.name for ps in omsk.stems.values() for p in ps if p.kind == "district"} == {
        "Центральный округ", "Советский округ", "Кировский округ", "Ленинский округ", "Октябрьский округ"}


def test_case_forms():
    assert ("вятских", "полянах") in case_forms(("вятские", "поляны"))
    assert ("кирове",) in case_forms(("киров",))
    assert ("большой", "морской") in case_forms(("большая", "морская"), "femn")
    assert ("кызыл-урупе",) in case_forms(("кызыл-уруп",))


def test_street_keys():
    assert ("садовой",) in street_keys("Садовая улица")
    assert ("ленина",) in street_keys("улица Ленина") and ("ленину",) not in street_keys("улица Ленина")
    assert ("к", "маркса") in street_keys("улица Карла Маркса")
    assert ("6", "советской") in street_keys("6-я Советская улица")
    assert ("15-я",) in street_keys("15-я линия В.О.")
    assert ("ленина",) in COMMON_STREETS

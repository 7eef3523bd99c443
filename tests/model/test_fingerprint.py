"""Fingerprints: addresses in text, facts, place matching, MinHash/LSH behaviour."""
import numpy as np
import pytest

from model.doc import Doc
from model.fingerprint import (
    Fingerprinter,
    jaccard,
    location_key,
    lsh_buckets,
    place_match,
    signature_similarity,
    text_addresses,
)
from model.records import Location, Post


@pytest.fixture(scope="module")
def fpr():
    return Fingerprinter()


def fp(fpr, text, location=None):
    d = Doc.from_post(Post(id="x", text=text), "omsk")
    d.location = location
    return fpr.fingerprint(d)


@pytest.mark.parametrize("text, street, house", [
    ("Яма на дороге у дома на ул. Ленина, 5", "ленин", "5"),
    ("Крыша на Советской 33 течет", "советский", "33"),
    ("Садовая 9: кафе шумит до утра", "садовый", "9"),
    ("Фонари на Строителей по-прежнему не горят", "строитель", None),
    ("проспект Народного Ополчения,149,ЖК Трилогия", "народный ополчение", "149"),
    ("ул.Победы 12А, подвал открыт", "победа", "12а"),
])
def test_addresses_in_text(text, street, house):
    a = text_addresses(text)[0]
    assert (a.street, a.house) == (street, house)


def test_no_address_in_a_duration_or_a_route_number():
    assert text_addresses("Автобус 23 опять не пришел") == []
    assert text_addresses("Не убирают уже 3 дня") == []


def test_inflected_street_names_are_one_place(fpr):
    a = fp(fpr, "Дом Советская 33: течет крыша")
    b = fp(fpr, "Крыша на Советской 33 опять течет")
    ka, kb = location_key(None, text_address=a.address), location_key(None, text_address=b.address)
    assert place_match(ka, kb) is True
    c = fp(fpr, "Крыша на Советской 35 течет")
    assert place_match(ka, location_key(None, text_address=c.address)) is False


def test_the_location_component_wins_over_the_text_and_street_words_are_ignored():
    k1 = location_key(Location(municipality="Омск", street="улица Ленина", house="5"))
    k2 = location_key(Location(municipality="Омск", street="Ленина", house="5"))
    assert k1 == k2 == "h:омск|ленин|5"
    assert place_match(k1, "s:омск|ленин") is True
    assert place_match(k1, "h:кемерово|ленин|5") is False
    assert place_match(k1, None) is None


def test_geo_cells_match_their_neighbours():
    a = location_key(None, 54.9885, 73.3242)
    b = location_key(None, 54.9893, 73.3250)  # ~100 m away
    c = location_key(None, 54.9985, 73.3242)  # ~1.1 km away
    assert place_match(a, b) is True and place_match(a, c) is False


def test_facts_date_damage_promise_and_not_durations(fpr):
    f = fp(fpr, "Лифт стоит с 02.02, в УК сказали починят за день, но ничего. Вчера затопило 45 квартиру, 2 недели ждем").facts
    assert {"date:2.2", "dmg:flood", "num:45", "promise"} <= f
    assert "num:2" not in f  # «2 недели» is a duration
    assert "num:1" in fp(fpr, "в первом подъезде").facts and "num:1" in fp(fpr, "в 1-м подъезде").facts
    assert "num:3" not in fp(fpr, "третий день нет воды").facts


def test_terms_leave_out_the_place_and_numbers(fpr):
    a = fp(fpr, "Перегорела лампа на 3 этаже в подъезде дома Гоголя 11")
    b = fp(fpr, "На Гоголя 11 разбита урна у подъезда")
    assert jaccard(a.terms, b.terms) < 0.2


def test_minhash_estimates_similarity_and_lsh_finds_copies(fpr):
    a = fp(fpr, "Во 2й парадной не закрыт вход в подвал, печать сорвана, замок отсутствует, бомжи ночуют")
    b = fp(fpr, "Во 2й парадной не закрыт вход в подвал!!! Печать сорвана, замок отсутствует, бомжи ночуют")
    c = fp(fpr, "Не работает светофор на перекрестке, машины едут как попало")
    assert signature_similarity(a.signature, b.signature) > 0.9
    assert signature_similarity(a.signature, c.signature) < 0.2
    ba, bb, bc = lsh_buckets(np.stack([a.signature, b.signature, c.signature]))
    assert set(ba) & set(bb) and not set(ba) & set(bc)
    assert fp(fpr, "!!!").empty

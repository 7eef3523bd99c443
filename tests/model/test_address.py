"""model/address.py: house numbers, street and settlement normal forms."""
from __future__ import annotations

import pytest

from model.address import STREET_TYPES, SETTLEMENT_TYPES, parse_house, settlement_canonical, street_canonical
from model.text import normalize


@pytest.mark.parametrize(
    "text, house",
    [
        (", д. 5, корп. 2, стр. 1", "5 корп. 2 стр. 1"),
        (" д12к1", "12 корп. 1"),
        (" 9корпус 1,этаж 1", "9 корп. 1"),
        (", 34 лит. И", "34 лит. И"),
        (" 3/2 рядом", "3/2"),
        (" 75-1, третья", "75-1"),
        (" 15а", "15а"),
        (" дом No122", "122"),  # «№» after NFKC
        (" 15 минут", None),
        (" 5 этаже", None),
        (" 7-я линия", None),
        (" 1.5 км", None),
    ],
)
def test_parse_house(text, house):
    lower = normalize("x" + text).lower
    found = parse_house(lower, 1)
    assert (found.text if found else None) == house


def test_house_span_points_at_the_number():
    lower = normalize("ул. Ленина, д. 5").lower
    h = parse_house(lower, len("ул. Ленина"))
    assert lower[h.start : h.end] == "д. 5" and h.cued


@pytest.mark.parametrize(
    "type_word, words, name_first, street",
    [
        ("улице", ["Садовой"], False, "Садовая улица"),
        ("проспекте", ["Невском"], True, "Невский проспект"),
        ("улица", ["10", "лет", "октября"], False, "улица 10 лет Октября"),
        ("ул", ["Достоевского"], False, "улица Достоевского"),
        ("линии", ["9-й"], True, "9-я линия"),
        ("ул", ["3-я", "Енисейская"], False, "3-я Енисейская улица"),
        ("ул", ["карла", "маркса"], False, "улица Карла Маркса"),
        ("улице", ["Набережной"], False, "Набережная улица"),
    ],
)
def test_street_canonical(type_word, words, name_first, street):
    assert street_canonical(STREET_TYPES[type_word], words, name_first) == street


def test_settlement_canonical():
    assert settlement_canonical(SETTLEMENT_TYPES["станице"], ["Кардоникской"]) == "станица Кардоникская"
    assert settlement_canonical(SETTLEMENT_TYPES["селе"], ["Ивановке"]) == "село Ивановка"
    assert settlement_canonical(SETTLEMENT_TYPES["городе"], ["Кирове"]) == "Киров"
    assert settlement_canonical(SETTLEMENT_TYPES["село"], ["Банищи"]) == "село Банищи"

"""training/geo.py: the SPb street index and the time-split evaluation of the geo index, on real rows."""
from __future__ import annotations

import pandas as pd
import pytest

from model.paths import SHARED_DATA_DIR
from training.geo import SPB_FILE, csv_street, evaluate_split, mo_settlement, portal_street, spb_streets


def test_street_names_from_both_sources():
    assert csv_street("Адмиралтейская ул.") == "Адмиралтейская улица"
    assert csv_street("Братьев Радченко ул.") == "улица Братьев Радченко"
    assert csv_street("Вознесенское ш.") == "Вознесенское шоссе"
    assert csv_street("Ижорский з-д Территория") is None
    assert portal_street("г.Санкт-Петербург, Мебельная улица, дом 47, корпус 1, литера А") == "Мебельная улица"
    assert portal_street("город Колпино, улица Машиностроителей, дом 12, литера А") == "улица Машиностроителей"
    assert portal_street(float("nan")) is None
    assert mo_settlement("город Колпино") == "Колпино"
    assert mo_settlement("посёлок Шушары") == "посёлок Шушары"
    assert mo_settlement("муниципальный округ №65") is None


@pytest.fixture(scope="module")
def portal() -> pd.DataFrame:
    path = SHARED_DATA_DIR / SPB_FILE
    if not path.is_file():
        pytest.skip("shared SPb data not available")
    df = pd.read_csv(path, nrows=5000)
    return df.dropna(subset=["latitude", "longitude", "district"]).sort_values("petition_dt").reset_index(drop=True)


def test_street_index_ranks_the_most_written_first(portal):
    streets = spb_streets(SHARED_DATA_DIR, portal)
    names = [row[0] for row in streets]
    assert len(names) == len(set(names)) > 1000  # MIT list + portal addresses, no duplicates
    assert all(row[2] == "Санкт-Петербург" for row in streets)
    mebel = next(row for row in streets if row[0] == "Мебельная улица")
    assert mebel[1] == "Приморский район" and ("мебельной",) in mebel[3]  # keys precomputed


def test_time_split_metrics(portal):
    m = evaluate_split(portal)
    assert m["n_test"] == len(portal) - int(len(portal) * 0.8)
    assert m["district_accuracy"] > 0.85 and 0.9 < m["coverage"] <= 1.0
    assert set(m["district_per_class"]["Невский район"]) == {"precision", "recall", "f1", "support"}

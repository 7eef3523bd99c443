"""The SPb routing trainer's address handling: the building flags and P(building | reason)."""
import pandas as pd
import pytest

from model.route import ExecutorModel
from training.route import buildings, portal_buildings


def test_building_flags_from_the_address_column():
    df = pd.DataFrame({"address": ["г.Санкт-Петербург, Мебельная улица, дом 47", None, "Невский проспект"]})
    assert buildings(df) == [True, None, False]
    # on the portal a missing address means the post is not about a building
    assert portal_buildings(df) == [True, False, False]
    assert buildings(pd.DataFrame({"clean": ["x"]})) is None


def test_fit_learns_the_building_rate_per_reason():
    texts = ["грязно в парадной на этаже"] * 20 + ["мусор во дворе у площадки"] * 20
    reasons = ["парадная"] * 20 + ["двор"] * 20
    executors = ["СПб ГКУ ЖА Невского района"] * 30 + ["Администрация Невского района"] * 10
    flags = [True] * 18 + [False] * 2 + [False] * 20
    model = ExecutorModel(reason_solver="centroid").fit(
        texts, reasons, executors, ["Невский"] * 40, table_reasons=reasons, table_executors=executors,
        table_districts=["Невский"] * 40, groups=["ЖКХ"] * 40, topics=["t"] * 40, table_buildings=flags)
    rates = dict(zip(model.reason_model_.classes_, model.building_rates_))
    assert rates["парадная"] == pytest.approx(19 / 22)
    assert rates["двор"] == pytest.approx(1 / 22)
    ranked = model.rank(["грязно"], ["Невский"], buildings=[True])
    assert ranked[0][0][0].startswith("СПб ГКУ ЖА")

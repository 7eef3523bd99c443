"""PortalCategoryModel: a region's own categories from text, calibrated; the shipped Kursk one."""
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from model.artifact import load_artifact
from model.paths import DEFAULT_ARTIFACT
from model.portal import PortalCategoryModel

TEXTS = ["яма на дороге", "ямы на проезжей части", "не горит фонарь", "фонари не работают на улице",
         "мусор не вывозят", "контейнеры переполнены мусором"] * 3
LABELS = ["Ямы", "Ямы", "Освещение", "Освещение", "Мусор", "Мусор"] * 3
GROUPS = ["Дороги", "Дороги", "Благоустройство", "Благоустройство", "Мусор/Свалки/ТКО", "Мусор/Свалки/ТКО"] * 3


def test_fit_learns_the_categories_and_counts_the_groups():
    model = PortalCategoryModel().fit(TEXTS, LABELS, GROUPS)
    p = model.reason_proba(["большая яма на дороге", "во дворе не горит фонарь", "мусор", "яма", "фонарь"])
    assert p.shape == (5, 3) and np.allclose(p.sum(axis=1), 1.0)
    assert list(model.reason_model_.classes_[p.argmax(axis=1)][:2]) == ["Ямы", "Освещение"]
    assert model.group_rows_ == {"Дороги": 6, "Благоустройство": 6, "Мусор/Свалки/ТКО": 6}


def test_a_few_posts_equal_the_batch():
    model = PortalCategoryModel().fit(TEXTS, LABELS, GROUPS)
    texts = ["большая яма на дороге", "во дворе не горит фонарь", "мусор", "яма", "фонарь"]
    assert np.allclose(model.reason_proba(texts), np.vstack([model.reason_proba([t]) for t in texts]), atol=1e-6)


def test_calibration_sets_a_temperature_and_an_unfitted_model_refuses():
    model = PortalCategoryModel().fit(TEXTS, LABELS, GROUPS).calibrate(TEXTS[:6], LABELS[:6])
    assert model.reason_model_.temperature_ > 0
    with pytest.raises(NotFittedError):
        PortalCategoryModel().reason_proba(["яма"])


def test_the_shipped_kursk_model_reads_kursk_themes():
    portal = load_artifact(DEFAULT_ARTIFACT).get("portal")
    assert portal is not None and set(portal) == {"kursk"}
    model = portal["kursk"]
    p = model.reason_proba(["Яма на дороге по улице Ленина в Курске, колесо пробил"])
    assert "ям" in str(model.reason_model_.classes_[p.argmax()]).lower()

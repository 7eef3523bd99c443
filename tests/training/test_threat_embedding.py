import numpy as np

from model.text import lower_yo
from model.threat_model import text_features
from training.threat_embedding import MeanVector, fit, proba


def test_the_mean_vector_is_unit_length_and_empty_without_known_words():
    embed = MeanVector()
    v = embed("Мэр города обещал отремонтировать дорогу")
    assert v.shape == (300,) and abs(float(np.linalg.norm(v)) - 1.0) < 1e-5
    assert not embed("zzqx 12345").any()
    # related words lie closer together than unrelated ones
    assert float(embed("сожгу дачу мэра") @ embed("подожгу дом главы")) > float(embed("сожгу дачу мэра") @ embed("расписание автобусов"))


def test_the_embedding_feature_enters_the_heads():
    embed = MeanVector()
    texts = ["сожгу дачу мэра", "подожгу администрацию", "убью соседа", "пусть глава пожалеет"] * 3 + \
            ["нет горячей воды", "яма на дороге", "не вывозят мусор", "сломан светофор"] * 3
    y_any = np.array([1] * 12 + [0] * 12)
    y_reasons = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0]] * 3 + [[0, 0, 0, 0]] * 12)
    feats = [text_features(lower_yo(t)) for t in texts]
    dense = np.stack([embed(t) for t in texts])
    for alpha in (0.0, 0.7):
        matrix, heads = fit(feats, dense, y_any, y_reasons, alpha)
        assert matrix(feats[:2], dense[:2]).shape[1] == len(heads[0].coef_[0])
        p = proba(matrix, heads, feats, dense)
        assert p.shape == (24, 5) and p[:12, 0].min() > p[12:, 0].max()

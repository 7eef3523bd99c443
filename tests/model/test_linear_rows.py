"""The fast row normalization used on the hot path equals scikit-learn's."""
import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from model.linear import l2_normalize_rows


def test_equals_sklearn_normalize_including_empty_rows():
    rng = np.random.RandomState(0)
    for _ in range(300):
        m = sp.random(rng.randint(1, 6), rng.randint(1, 30), density=rng.rand() * rng.rand(), format="csr",
                      random_state=rng, dtype=np.float32)
        assert np.allclose(normalize(m.copy()).toarray(), l2_normalize_rows(m.copy()).toarray(), atol=1e-6)


def test_all_empty_and_zero_row_matrices():
    assert l2_normalize_rows(sp.csr_matrix((3, 4), dtype=np.float32)).nnz == 0
    assert l2_normalize_rows(sp.csr_matrix((0, 4), dtype=np.float32)).shape == (0, 4)


# -- the few-posts path (TextFeaturizer.rows + rows_dot) gives the sparse path's numbers exactly

REAL_TEXTS = [
    "третий день нет горячей воды на ул. ленина 5, управляйка трубку не берет",
    "во дворе дома 12 по пр. просвещения огромная яма, машины бьют колеса",
    "", "!!!", "ааааааааааааааааааааааааааааааааааааааааааааааааааааааааааааааааааааааааааааа",
    "спасибо администрации за новую детскую площадку на улице мира",
    "автобус 45 не ходит с утра, люди мерзнут на остановке, сколько можно",
]


def _component(pipeline, name):
    return next(c for c in pipeline.components if c.name == name)


def test_rows_equal_the_sparse_transform_bit_for_bit(pipeline):
    from model.linear import rows_dot

    topic = _component(pipeline, "topic").model
    f = topic.featurizer_
    weights = topic._stacked()
    for text in REAL_TEXTS:
        x = f.transform([text])
        (cols, vals), = f.rows([text])
        assert np.array_equal(x.indices.astype(np.int64), cols) and np.array_equal(x.data, vals)
        assert np.array_equal((x @ weights).toarray(), rows_dot(f.rows([text]), weights))


def test_one_post_and_a_batch_get_the_same_topic_and_route_probabilities(pipeline):
    topic = _component(pipeline, "topic").model
    texts = REAL_TEXTS * 2  # more than FEW: the sparse path
    pg, pt = topic.predict_proba(texts)
    for k, text in enumerate(REAL_TEXTS):
        g1, t1 = topic.predict_proba([text])
        assert np.array_equal(g1[0], pg[k]) and np.array_equal(t1[0], pt[k])
    route = _component(pipeline, "route")
    model = route.models["spb"]
    districts = [model.districts_[k % len(model.districts_)] for k in range(len(texts))]
    batch = model.predict_template_proba(texts, districts)
    for k, text in enumerate(texts[:len(REAL_TEXTS)]):
        assert np.array_equal(model.predict_template_proba([text], [districts[k]])[0], batch[k])

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

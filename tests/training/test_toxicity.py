"""The toxicity training split: RUSSE pairs never straddle it; the TSV quotes are read as text."""
import numpy as np
import pytest

from model.errors import DataError
from model.paths import SHARED_DATA_DIR
from training.toxicity import load_russe_pairs, split_data

pytestmark = pytest.mark.skipif(
    not (SHARED_DATA_DIR / "toxicity").is_dir(), reason="shared toxicity data not present"
)


@pytest.fixture(scope="module")
def split():
    return split_data(SHARED_DATA_DIR, seed=13)


def test_russe_pairs_stay_on_one_side(split):
    train, test = split
    train_pairs = set(train.pair[train.source == "russe"].tolist())
    test_pairs = set(test.pair[test.source == "russe"].tolist())
    assert train_pairs and test_pairs
    assert not train_pairs & test_pairs
    # each held-out pair has its toxic comment and at least one rewrite
    labels = {}
    for pair, label in zip(test.pair[test.source == "russe"], test.labels[test.source == "russe"]):
        labels.setdefault(int(pair), set()).add(int(label))
    assert sum(1 for v in labels.values() if v == {0, 1}) / len(labels) > 0.95


def test_split_sizes_and_labels(split):
    train, test = split
    assert 0.15 < len(test.texts) / (len(train.texts) + len(test.texts)) < 0.25
    assert set(np.unique(train.labels)) == {0, 1}
    assert all(isinstance(t, str) and t for t in test.texts)


def test_russe_rows_keep_their_quotes():
    pairs = load_russe_pairs(SHARED_DATA_DIR)
    # ~7k toxic comments; QUOTE_NONE keeps rows with stray quotes from swallowing their neighbours
    assert 6900 <= int((pairs["label"] == 1).sum()) <= 7000
    assert pairs["text"].str.contains('"').any()


def test_missing_data_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="expected the 2ch/pikabu toxicity file"):
        split_data(tmp_path)

"""training/importance.py: the trainer's contract and the data files it reads."""
from __future__ import annotations

import json

import pytest

from model.errors import DataError
from model.importance import ImportanceModel
from training.base import TrainedComponent
from training.importance import EVAL_FILE, HOLDOUT_FILE, TRAIN_FILE, read_rows, train


@pytest.fixture(scope="module")
def trained() -> TrainedComponent:
    return train(None, seed=13)


def test_train_returns_the_component(trained):
    assert trained.name == "importance"
    assert isinstance(trained.estimator, ImportanceModel)
    meta = trained.meta
    assert meta["labels"] == ["normal", "high"]
    assert meta["sizes"]["train"] >= 250
    for key in ("cv_train", "eval_dev", "eval_holdout"):
        for system in ("combined", "rules_only"):
            assert set(meta[key][system]) == {"normal", "high"}
            assert {"precision", "recall", "f1", "support"} <= set(meta[key][system]["high"])
    assert any(k.endswith("importance_train.jsonl") for k in meta["data"])
    json.dumps(meta)  # the artifact's meta must be JSON


def test_eval_sets_are_separate_and_sized():
    train_texts = {r["text"] for r in read_rows(TRAIN_FILE)}
    dev, holdout = read_rows(EVAL_FILE), read_rows(HOLDOUT_FILE)
    assert len(dev) >= 300 and len(holdout) >= 130
    for rows in (dev, holdout):
        share = sum(r["level"] == "high" for r in rows) / len(rows)
        assert 0.3 <= share <= 0.4
        assert not train_texts & {r["text"] for r in rows}
    assert not {r["text"] for r in dev} & {r["text"] for r in holdout}


def test_bad_rows_are_named(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"text": "a", "level": "urgent"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"x.jsonl:1: expected 'text' and 'level'"):
        read_rows(path)
    path.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(DataError, match="invalid JSON"):
        read_rows(path)


def test_real_kursk_labels_join_the_shared_texts():
    from model.paths import SHARED_DATA_DIR
    from training.importance import KURSK_FINAL_LABELS, KURSK_LABELS, KURSK_TEST_LABELS, read_kursk

    if not (SHARED_DATA_DIR / "appeals" / "kursk_cur_2022").exists():
        pytest.skip("shared Kursk appeals not present")
    seen: set[str] = set()
    for path, size in ((KURSK_LABELS, 100), (KURSK_TEST_LABELS, 120), (KURSK_FINAL_LABELS, 120)):
        rows = read_kursk(SHARED_DATA_DIR, path)
        assert len(rows) == size and all(r["text"] for r in rows)
        ids = {r["id"] for r in rows}
        assert not ids & seen  # the three samples are disjoint
        seen |= ids

"""The topic trainer's data handling: both example files, the stratified dev hold-out, source weights,
the informal-only group model and the naive Bayes folded into the group model."""
from __future__ import annotations

import json

import numpy as np
import pytest

from model.rubricator import load_rubricator
from model.topic import TopicModel
from training import appeals
from training import topic as topic_training

GROUPS = ["ЖКХ", "Благоустройство", "Дороги", "Культура"]


@pytest.fixture(scope="module")
def rubricator():
    return load_rubricator()


@pytest.fixture(scope="module")
def examples(rubricator):
    df, _ = topic_training.load_example_files(appeals.EXAMPLES_FILE, rubricator)
    return df


def test_both_example_files_are_read(rubricator, examples):
    df, paths = topic_training.load_example_files(appeals.EXAMPLES_FILE, rubricator)
    assert [p.name for p in paths] == list(topic_training.EXAMPLE_FILES)
    main = appeals.load_examples(appeals.EXAMPLES_FILE, rubricator)
    more = appeals.load_examples(appeals.EXAMPLES_FILE.parent / "topics_more.jsonl", rubricator)
    assert len(df) == len(main) + len(more) and len(more) > 0


def test_a_lone_examples_file_reads_only_itself(tmp_path, rubricator):
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps({"text": "нет горячей воды неделю", "topic": "Отсутствие горячей воды"},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    df, paths = topic_training.load_example_files(path, rubricator)
    assert paths == [path] and df["group"].tolist() == ["ЖКХ"]


@pytest.mark.parametrize("eval_name", ["topics_informal.jsonl", "topics_blind.jsonl", "topics_blind2.jsonl"])
def test_more_examples_are_not_paraphrases_of_an_eval_set(eval_name):
    from rapidfuzz import fuzz, process

    more = appeals.EXAMPLES_FILE.parent / "topics_more.jsonl"
    eval_file = appeals.INFORMAL_EVAL_FILE.parent / eval_name
    ev = [json.loads(line)["text"] for line in eval_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [json.loads(line)["text"] for line in more.read_text(encoding="utf-8").splitlines() if line.strip()]
    worst = max(process.extractOne(t, ev, scorer=fuzz.ratio)[1] for t in texts)
    assert worst < 80


@pytest.mark.parametrize("eval_name", ["topics_blind.jsonl", "topics_blind2.jsonl"])
def test_blind_eval_covers_every_group_with_rubricator_labels(rubricator, eval_name):
    blind = appeals.INFORMAL_EVAL_FILE.parent / eval_name
    rows = [json.loads(line) for line in blind.read_text(encoding="utf-8").splitlines() if line.strip()]
    df = appeals.load_examples(blind, rubricator)
    counts = df["group"].value_counts()
    assert len(df) == len(rows) >= 260 and len(counts) == 26 and counts.min() >= 9
    assert df["group"].tolist() == [r["group"] for r in rows]  # each topic sits in its labelled group


def test_holdout_is_stratified_and_seeded(examples):
    held = topic_training._holdout(examples, seed=13)
    assert (held == topic_training._holdout(examples, seed=13)).all()
    assert not (held == topic_training._holdout(examples, seed=14)).all()
    share = examples.assign(held=held).groupby("group")["held"].mean()
    assert share.between(0.15, 0.25).all(), share.to_dict()


def test_informal_model_moves_the_group_decision_toward_the_informal_rows(examples):
    df = examples[examples["group"].isin(GROUPS)].reset_index(drop=True)
    # stand-in "portal" rows: every example row is also a plain row, and a contradicting plain copy of
    # the Культура rows labelled Благоустройство outweighs them — only the informal model can undo that
    culture = df[df["group"] == "Культура"].assign(group="Благоустройство", topic="Парки и зоны отдыха",
                                                    source="spb")
    rows = topic_training.pd.concat([df, culture, culture, culture], ignore_index=True)
    informal = topic_training.informal_rows(rows)
    texts, topics, groups = rows["clean"].tolist(), rows["topic"].tolist(), rows["group"].tolist()
    plain = TopicModel(char_bits=14, word_bits=14).fit(texts, topics, groups)
    mixed = TopicModel(char_bits=14, word_bits=14, informal_weight=1.0).fit(texts, topics, groups, informal=informal)
    probe = df[df["group"] == "Культура"]["clean"].tolist()
    j = plain.groups_.index("Культура")
    assert mixed.predict_proba(probe)[0][:, j].mean() > plain.predict_proba(probe)[0][:, j].mean()
    # the folded weights stay one sparse matrix: inference cost is unchanged
    assert mixed.group_model_.coef_.shape == plain.group_model_.coef_.shape
    with pytest.raises(ValueError, match="informal"):
        TopicModel(char_bits=14, word_bits=14, informal_weight=1.0).fit(texts, topics, groups, informal=informal[:5])


def test_hand_written_share_raises_their_weight_within_a_group(examples):
    df = examples[examples["group"].isin(GROUPS)].reset_index(drop=True)
    portal = df.assign(source="spb")
    rows = topic_training.pd.concat([df] + [portal] * 10, ignore_index=True)
    hand = topic_training.informal_rows(rows)
    old = topic_training.HANDWRITTEN_SHARE
    try:
        topic_training.HANDWRITTEN_SHARE = 0.5
        w = topic_training.sample_weights(rows)
    finally:
        topic_training.HANDWRITTEN_SHARE = old
    for g in GROUPS:
        in_g = rows["group"].values == g
        assert w[in_g & hand].sum() == pytest.approx(w[in_g & ~hand].sum(), rel=1e-6)
    assert np.isclose(w.mean(), 1.0)


def test_naive_bayes_is_folded_into_the_group_weights(examples):
    df = examples[examples["group"].isin(GROUPS)].reset_index(drop=True)
    texts, topics, groups = df["clean"].tolist(), df["topic"].tolist(), df["group"].tolist()
    plain = TopicModel(char_bits=14, word_bits=14).fit(texts, topics, groups)
    nb = TopicModel(char_bits=14, word_bits=14, nb_weight=0.25, nb_keep=500).fit(texts, topics, groups)
    added = nb.group_model_.coef_ - plain.group_model_.coef_
    assert added.nnz > 0 and (np.diff(added.indptr) <= plain.group_model_.coef_.getnnz(axis=1) + 500).all()
    # the ensemble still learns its training rows and still returns distributions
    pg, pt = nb.predict_proba(texts)
    assert np.allclose(pg.sum(axis=1), 1) and np.allclose(pt.sum(axis=1), 1)
    assert np.mean(np.array(nb.groups_)[pg.argmax(axis=1)] == np.array(groups)) > 0.9


def test_training_with_curator_feedback_on_tiny_data(tmp_path, examples):
    """`train(..., feedback=...)` end to end on a small copy of the real data: the corrections train
    (they are appended after the dev hold-out is drawn, so they never shift it)."""
    import gzip

    import pandas as pd

    from model.paths import SHARED_DATA_DIR

    shared = tmp_path / "shared"
    (shared / appeals.SPB_FILE).parent.mkdir(parents=True)
    (shared / appeals.KURSK_FILE).parent.mkdir(parents=True)
    spb = pd.read_csv(SHARED_DATA_DIR / appeals.SPB_FILE).sample(400, random_state=2)
    with gzip.open(shared / appeals.SPB_FILE, "wt", encoding="utf-8") as f:
        spb.sort_values("petition_dt").to_csv(f, index=False)
    pd.read_csv(SHARED_DATA_DIR / appeals.KURSK_FILE).sample(150, random_state=2).to_csv(shared / appeals.KURSK_FILE, index=False)
    small = tmp_path / "ex" / "topics.jsonl"
    small.parent.mkdir()
    small.write_text("\n".join(appeals.EXAMPLES_FILE.read_text(encoding="utf-8").splitlines()[::8]) + "\n", encoding="utf-8")
    fb = tmp_path / "feedback.jsonl"
    fb.write_text("\n".join(json.dumps({"text": t, "topic": "Отлов безнадзорных собак и кошек",
                                        "group": "Безопасность"}, ensure_ascii=False)
                            for t in ("свора собак у школы кидается на детей", "бездомные псы покусали почтальона",
                                      "стая собак у гаражей, отловите")) + "\n", encoding="utf-8")
    trained = topic_training.train(shared, seed=13, examples_file=small, informal_file=tmp_path / "none.jsonl",
                                   feedback=fb)
    meta = trained.meta
    assert meta["sizes"]["examples"] == len(small.read_text(encoding="utf-8").splitlines()) + 3
    assert meta["metrics"]["examples_heldout"]["group"]["n"] > 0 and meta["metrics"]["informal"] == {"n": 0}
    assert "ece" in meta["metrics"]["spb_test"]["group"]["calibration"]
    assert any(k.endswith("feedback.jsonl") for k in meta["data_sha256"])
    pg, _ = trained.estimator.predict_proba(["собаки бросаются на людей у школы"])
    assert trained.estimator.groups_[int(pg.argmax())] == "Безопасность"

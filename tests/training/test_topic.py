"""The topic trainer's data handling: both example files, the stratified dev hold-out, source weights,
and the informal-only group model folded into the group model."""
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


def test_more_examples_are_not_paraphrases_of_the_informal_eval():
    from rapidfuzz import fuzz, process

    more = appeals.EXAMPLES_FILE.parent / "topics_more.jsonl"
    ev = [json.loads(line)["text"] for line in appeals.INFORMAL_EVAL_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [json.loads(line)["text"] for line in more.read_text(encoding="utf-8").splitlines() if line.strip()]
    worst = max(process.extractOne(t, ev, scorer=fuzz.ratio)[1] for t in texts)
    assert worst < 80


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

"""training/evaluate_location.py on the hand-labelled sets: the aims of the issue hold."""
from __future__ import annotations

import json

import pytest

from model.location import LocationTagger
from model.paths import DATA_DIR
from training.evaluate_location import EVAL_FILE, HOLDOUT_FILE, PARTS, evaluate, load_eval


@pytest.fixture(scope="module")
def tagger() -> LocationTagger:
    return LocationTagger.from_data(DATA_DIR)  # without the artifact: no SPb street index


def test_eval_files_are_well_formed():
    rows = load_eval(EVAL_FILE)
    assert len(rows) >= 300
    assert {r["region"] for r in rows} == {"vyatskiye_polyany", "krymsk", "altai_krai", "zelenchuk", "omsk", "spb", "kursk"}
    assert all(set(r["gold"]) == set(PARTS) for r in rows)
    assert sum(not any(r["gold"].values()) for r in rows) >= 30  # posts with no location at all
    with open(HOLDOUT_FILE, encoding="utf-8") as f:
        assert all(set(json.loads(line)["gold"]) == set(PARTS) for line in f if line.strip())


@pytest.mark.parametrize("path", [EVAL_FILE, HOLDOUT_FILE])
def test_aims_hold(tagger, path):
    res = evaluate(tagger, load_eval(path))
    assert res["exact"]["street+house"] >= 0.90
    assert res["exact"]["settlement"] >= 0.95
    assert res["found_precision"] >= 0.95

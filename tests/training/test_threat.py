"""The learned threat model (training/threat.py, model/threat_model.py) on real text.

The trainer runs here on the labelled sets plus a small sample of clean negatives (fast; the full
artifact component uses a few thousand); behaviour is checked on the shipped component. Never touches the current blind sets, data/eval/abuse_blind9.jsonl, abuse_blind10.jsonl, abuse_blind11.jsonl and abuse_blind12.jsonl.
"""
import pickle

import pytest

from model.artifact import load_artifact
from model.paths import DATA_DIR, DEFAULT_ARTIFACT, SHARED_DATA_DIR
from model.threat import REASONS
from model.toxicity import AbuseDetector
from training.evaluate_abuse import make_docs
from training.threat import BLIND, LABELLED, load_labelled, train

pytestmark = pytest.mark.skipif(
    not (SHARED_DATA_DIR / "toxicity").is_dir() or not (SHARED_DATA_DIR / "appeals").is_dir(),
    reason="shared toxicity/appeals data not present",
)


@pytest.fixture(scope="module")
def trained():
    return train(SHARED_DATA_DIR, seed=13, n_appeals=800, n_russe=300, n_pikabu=300)


@pytest.fixture(scope="module")
def detector():
    # behaviour is checked on the shipped component (what the service runs): the small model
    # trained above has a threshold from ~1,400 clean negatives only, so it sits higher (0.95)
    model = load_artifact(DEFAULT_ARTIFACT).get("threat")
    return AbuseDetector.from_data(DATA_DIR, None, threat_model=model)


def test_trained_component_pickles_and_scores(trained):
    model = pickle.loads(pickle.dumps(trained.estimator))  # as stored in the artifact
    proba = model.predict_proba(["чиновники из управы, ваши дни сочтены, скоро за вами придут.",
                                 "просим покосить траву у здания администрации"])
    assert proba.shape == (2, 5)
    assert proba[0, 0] > 0.8 > proba[1, 0]


def test_current_blind_set_is_never_trained_on():
    assert BLIND == ("abuse_blind9", "abuse_blind10", "abuse_blind11", "abuse_blind12")
    for unread in ("blind12", "blind11", "blind10", "blind9"):
        assert not any(unread in name for name in LABELLED)
        assert not any(unread in f for _, _, f in load_labelled())
    # the earlier blind sets and the training batches written for the threat model are read
    # (blind6-8 and threats_train6 since round 10)
    assert {"eval/abuse_blind2.jsonl", "eval/abuse_blind3.jsonl", "eval/abuse_blind4.jsonl",
            "eval/abuse_blind5.jsonl", "eval/abuse_blind6.jsonl", "eval/abuse_blind7.jsonl",
            "eval/abuse_blind8.jsonl", "examples/threats_train2.jsonl", "examples/threats_train3.jsonl",
            "examples/threats_train4.jsonl", "examples/threats_train5.jsonl",
            "examples/threats_train6.jsonl"} <= {f for _, _, f in load_labelled()}


def test_trainer_writes_a_component_with_cv_metrics(trained):
    assert trained.name == "threat"
    meta = trained.meta
    assert 0.5 <= meta["threshold"] < 1.0
    cv = meta["metrics"]
    assert cv["threat_like_model_only"]["precision"] > 0.8
    assert cv["threat_like_model_only"]["recall"] > 0.3
    # out of fold, over every labelled set: since stop 16 that includes four sets of veiled threats
    # the rules mostly miss (full component: 0.80, rules only 0.52; with this small clean sample 0.70)
    assert cv["reasons_micro_rules_or_model"]["f1"] > 0.65
    assert cv["reasons_micro_rules_or_model"]["f1"] > cv["reasons_micro_rules_only"]["f1"] + 0.05
    assert cv["by_file"]["eval/abuse_threats.jsonl"]["rules_or_model_micro"] > 0.9
    assert any(k.startswith("eval/abuse_round3") for k in meta["data"])
    assert meta["sizes"]["threat_like"] > 200


def _reasons(detector, text):
    return {f.reason for f in detector.predict(make_docs([text]))[0] if f.reason in REASONS and f.score >= 0.5}


def test_veiled_threat_phrased_differently_is_found(detector):
    text = "Чиновники из управы, ваши дни сочтены, скоро за вами придут."
    rules_only = AbuseDetector.from_data(DATA_DIR, None)
    assert not _reasons(rules_only, text)  # the rules miss it: the model adds it
    findings = detector.predict(make_docs([text]))[0]
    got = {f.reason for f in findings}
    assert got & {"threat_official", "threat_authority"}
    span = findings[0].evidence[0]
    assert text[span.start:span.end] == span.text and "сочтены" in span.text


def test_evidence_is_the_threatening_sentence(detector):
    text = ("Надоело ждать. "
            "Чиновники из управы, ваши дни сочтены, скоро за вами придут.")
    findings = [f for f in detector.predict(make_docs([text]))[0] if f.reason in REASONS]
    assert findings
    span = findings[0].evidence[0]
    assert span.text.startswith("Чиновники") and text[span.start:span.end] == span.text


@pytest.mark.parametrize("text", [
    "Дни старой котельной сочтены: весной её снесут и построят новую, спасибо администрации.",
    "Глава района обещал отремонтировать дорогу, но так и не сделал, ждём ответа.",
    "Убили всю дорогу грузовиками, прошу администрацию принять меры.",
])
def test_hard_negative_is_not_a_threat(detector, text):
    assert not _reasons(detector, text)

"""The abuse evaluation: eval files are well-formed and disjoint from the development set; counts add up."""
import json

import pytest

from model.errors import DataError
from model.paths import DATA_DIR
from model.toxicity import REASONS, AbuseDetector
from training.evaluate_abuse import (BLIND_FILE, EVAL_FILES, ROUND2_FILE, ROUND3_FILE, evaluate_detector,
                                     evaluate_files, load_eval, main)


def test_eval_files_are_big_enough_and_labelled():
    rows = {name: load_eval(DATA_DIR / "eval" / name) for name in EVAL_FILES}
    threats = [r for r in rows["abuse_threats.jsonl"] if set(r["labels"]) - {"insult"}]
    assert len(threats) >= 100
    assert sum("insult" in r["labels"] for r in rows["abuse_insults.jsonl"]) >= 100
    assert len(rows["abuse_hard_negatives.jsonl"]) >= 150
    assert all(not r["labels"] for r in rows["abuse_hard_negatives.jsonl"])
    for reason in ("threat_official", "threat_authority", "call_to_violence", "harm_intent"):
        assert sum(reason in r["labels"] for r in threats) >= 20, reason


def test_eval_and_development_texts_do_not_overlap():
    dev = {r["text"] for r in load_eval(DATA_DIR / "examples" / "abuse_train.jsonl")}
    for name in (*EVAL_FILES, ROUND2_FILE, BLIND_FILE, ROUND3_FILE):
        assert not dev & {r["text"] for r in load_eval(DATA_DIR / "eval" / name)}, name


def test_rules_keep_working_on_the_development_set():
    # the set the rules were written against: a regression guard, not a measure of quality
    rows = load_eval(DATA_DIR / "examples" / "abuse_train.jsonl")
    report = evaluate_detector(AbuseDetector.from_data(DATA_DIR, None), rows)
    assert report["threats_micro"]["f1"] >= 0.95
    assert report["per_reason"]["insult"]["f1"] >= 0.9


def test_counts_per_reason():
    rows = [
        {"text": "Взорву вашу мэрию.", "labels": ["threat_authority"]},
        {"text": "Мэр — мразь.", "labels": ["insult"]},
        {"text": "Спасибо за дорогу.", "labels": ["insult"]},  # a deliberate wrong label: one miss
        {"text": "Убитый двор.", "labels": []},
    ]
    report = evaluate_detector(AbuseDetector.from_data(DATA_DIR, None), rows)
    assert report["per_reason"]["threat_authority"] == {
        "precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1, "tp": 1, "fp": 0, "fn": 0}
    assert report["per_reason"]["insult"]["tp"] == 1 and report["per_reason"]["insult"]["fn"] == 1
    assert set(report["per_reason"]) == set(REASONS)
    assert len(report["errors"]) == 1


def test_a_bad_label_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"text": "x", "labels": ["rude"]}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="expected labels from"):
        load_eval(path)


def test_round3_is_big_enough_and_new():
    rows = load_eval(DATA_DIR / "eval" / ROUND3_FILE)
    assert len(rows) >= 120
    assert sum(not r["labels"] for r in rows) >= 40  # its own hard negatives
    assert sum("threat_official" in r["labels"] for r in rows) >= 30
    older = {r["text"] for name in (*EVAL_FILES, ROUND2_FILE, BLIND_FILE) for r in load_eval(DATA_DIR / "eval" / name)}
    assert not older & {r["text"] for r in rows}


def _write(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_files_pools_just_the_given_files(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    _write(a, [{"text": "Взорву вашу мэрию.", "labels": ["threat_authority"]}])
    _write(b, [{"text": "Спасибо за новую дорогу.", "labels": []},
               {"text": "Мэр, мы знаем, где ты живёшь.", "labels": ["threat_official"]}])
    report = evaluate_files([a, b])
    assert report["n"] == 3
    assert report["threats_micro"]["tp"] == 2 and report["threats_micro"]["f1"] == 1.0


def test_files_cli_prints_scores_and_errors_only_when_asked(tmp_path, capsys):
    path = tmp_path / "blind.jsonl"
    _write(path, [{"text": "Сожгу машину этого чиновника.", "labels": ["threat_official"]},
                  {"text": "Уберите снег во дворе.", "labels": ["harm_intent"]}])  # a deliberate miss
    main(["--files", str(path)])
    out = capsys.readouterr().out
    assert "threat_official" in out and "threats/calls/harm micro" in out
    assert "errors" not in out and "Уберите снег" not in out
    assert "abuse_threats" not in out  # nothing but the given file
    main(["--files", str(path), "--errors"])
    out = capsys.readouterr().out
    assert "Уберите снег" in out


@pytest.fixture(scope="module")
def exclusion_step():
    from training.evaluate_abuse import exclusion_pipeline

    return exclusion_pipeline()


def test_toxic_flags_read_the_exclusion_list(exclusion_step):
    from training.evaluate_abuse import toxic_flags

    texts = [
        "Третий день нет горячей воды, управляйка трубку не берёт",  # a complaint
        "Займы онлайн без отказа, звоните 8-900-123-45-67",  # an ad is excluded, but not toxic
        "Опять эти пиздюки разрисовали подъезд",  # мат
        "127 ты унылое говно!",  # a rude word said to someone
        "Глава, я тебе машину сожгу",  # a threat
        "Мужик, ты вообще в адеквате? Ведёшь себя как малолетка",  # rude as a whole, no lexicon word
    ]
    assert toxic_flags(exclusion_step, texts).tolist() == [False, False, True, True, True, True]


def test_toxic_vs_clean_scores_the_held_out_pairs(exclusion_step):
    from model.paths import SHARED_DATA_DIR
    from training.evaluate_abuse import evaluate_toxic_vs_clean

    if not (SHARED_DATA_DIR / "toxicity").is_dir():
        pytest.skip("the shared toxicity data is not beside the repo")
    out = evaluate_toxic_vs_clean(exclusion_step, SHARED_DATA_DIR, limit=400)
    russe = out["russe_heldout"]
    assert russe["n"] == 400 and 0 < russe["n_toxic"] < 400
    # the held-out pairs: the service finds most toxic comments and almost never a neutral rewrite
    assert russe["precision"] >= 0.95 and russe["recall"] >= 0.83
    assert out["pikabu_heldout"]["n"] == 400
    assert out["russe_test_toxic_recall"]["n"] == 400 and out["russe_test_toxic_recall"]["recall"] >= 0.7

"""The lemma table: pymorphy's own answers, looked up first; coverage measured on later posts."""

import pytest

from model.artifact import load_artifact
from model.paths import DEFAULT_ARTIFACT, SHARED_DATA_DIR
from model.text import LemmaTable, analyze_lemma, clear_preloaded_lemmas, lemmatize, normalize, preload_lemmas
from training.lemmas import build_table, count_words, token_coverage, train, words_of


@pytest.fixture
def clean_lemmas():
    """No preloaded lemmas during the test; the process's table (the session pipeline's) after it."""
    from model import text

    saved = dict(text._KNOWN_LEMMAS)
    clear_preloaded_lemmas()
    yield
    clear_preloaded_lemmas()
    preload_lemmas(saved)


def test_words_are_the_keys_the_pipeline_looks_up():
    words = list(words_of("Из-за ЁЛКИ во дворе&nbsp;не пройти"))
    # razdel keeps the hyphenated word, model.linear splits it: both are looked up
    assert "из-за" in words and "из" in words and "за" in words
    assert "елки" in words  # lower-cased, ё → е, entities decoded like the pipeline does
    assert "nbsp" not in words


def test_table_holds_pymorphy_answers_for_words_seen_twice():
    counts = count_words(["Упали деревья во дворе", "деревья упали опять", "одинокое слово"])
    table = build_table(counts, min_count=2)
    assert table == {"упали": analyze_lemma("упали"), "деревья": "дерево"}
    assert "одинокое" not in table


def test_preloaded_lemma_is_used_before_pymorphy(clean_lemmas):
    assert lemmatize("ёлочками") == "елочка"
    lemmatize.cache_clear()
    preload_lemmas({"ёлочками": "sentinel"})
    assert lemmatize("ёлочками") == "sentinel"
    clear_preloaded_lemmas()
    assert lemmatize("ёлочками") == "елочка"


def test_preload_rejects_what_is_not_a_mapping(clean_lemmas):
    with pytest.raises(TypeError, match="expected a LemmaTable or a dict"):
        preload_lemmas(["упали"])


def test_lemma_table_round_trip_and_refusal():
    mapping = {"упали": "упасть", "дерево": "дерево", "ёлки": "елка"}
    table = LemmaTable.from_mapping(mapping)
    assert table.as_dict() == mapping and len(table) == 3
    assert len(LemmaTable.from_mapping({})) == 0 and LemmaTable.from_mapping({}).as_dict() == {}
    with pytest.raises(ValueError, match="line break"):
        LemmaTable.from_mapping({"a\nb": "a"})


def test_coverage_counts_tokens_and_distinct_words():
    table = {"трубу": "труба", "прорвало": "прорвать"}
    cov = token_coverage(table, ["Трубу прорвало, трубу!", "опять"])
    assert cov["tokens"] == 4 and cov["distinct_words"] == 3  # Cyrillic words only
    assert cov["token_coverage"] == pytest.approx(3 / 4)


def test_shipped_table_agrees_with_pymorphy_and_tokens():
    stored = load_artifact(DEFAULT_ARTIFACT).get("lemmas")
    assert isinstance(stored, LemmaTable) and len(stored) > 50_000
    table = stored.as_dict()
    assert len(table) == len(stored)
    sample = sorted(table)[:: max(1, len(table) // 300)]
    assert all(table[w] == analyze_lemma(w) for w in sample)
    text = normalize("Третий день нет горячей воды на ул. Ленина, управляйка трубку не берёт")
    assert [t.lemma for t in text.tokens if t.is_word][:4] == ["третий", "день", "нет", "горячий"]


def test_pipeline_preloads_the_table(pipeline):
    from model import text

    assert len(text._KNOWN_LEMMAS) > 50_000
    assert text._KNOWN_LEMMAS["горячей"] == "горячий"


@pytest.mark.skipif(not SHARED_DATA_DIR.is_dir(), reason="needs ../shared/data")
def test_trainer_reports_held_out_coverage(tmp_path, monkeypatch, clean_lemmas):
    # a small corpus stands in for the shared files: only the held-out logic is under test here
    import training.lemmas as lemmas

    monkeypatch.setattr(lemmas, "_other_texts", lambda shared: iter(["вода нет воды", "вода течет"]))
    monkeypatch.setattr(lemmas, "_spb_texts", lambda shared: [
        ("2020-10-01", "нет воды в доме"), ("2020-10-02", "нет воды опять"), ("2020-10-03", "вода"),
        ("2020-10-04", "нет света"), ("2021-03-01", "нет света и воды")])
    monkeypatch.setattr(lemmas, "data_hashes", lambda files, root: {})
    trained = train(SHARED_DATA_DIR)
    assert trained.name == "lemmas"
    table = trained.estimator.as_dict()
    assert table["воды"] == "вода" and "света" in table
    held = trained.meta["metrics"]["held_out_spb_later_posts"]
    # the later post "нет света и воды": света seen once before the split → not in that table
    assert 0 < held["token_coverage"] < 1

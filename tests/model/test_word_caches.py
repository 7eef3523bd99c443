"""Per-word caches stay bounded in a long-running process and answer the same when full."""
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from model import address, fingerprint, linear, profanity, text, threat, threat_model, toxicity
from model.importance import _CharNgramScorer
from model.text import WORD_CACHE_SIZE


def test_module_word_caches_are_bounded():
    for cached in (text.lemmatize, linear._word_features, fingerprint._term_hash, address._parses,
                   address.is_adjective, address.is_name_like, address.is_verb, threat.mostly_noun,
                   threat.grammemes, threat._passive_lemma, threat._imperative_reading, toxicity._cases):
        assert cached.cache_info().maxsize <= 2 * WORD_CACHE_SIZE
    assert threat_model._CACHE_LIMIT <= 2 * WORD_CACHE_SIZE
    assert profanity._MASKED_CACHE <= 2 * WORD_CACHE_SIZE


def test_importance_scorer_cache_is_bounded_and_scores_do_not_change_when_it_fills():
    texts = ["прорвало трубу отопления во дворе", "спасибо за праздник", "нет воды третий день",
             "яма на дороге у школы", "поздравляем с юбилеем", "горит мусор возле дома"]
    labels = ["high", "low", "high", "high", "low", "high"]
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, lowercase=False)
    clf = LogisticRegression().fit(vec.fit_transform(texts), labels)
    scorer = _CharNgramScorer(vec, clf, "high")
    probe = ["срочно нет воды и отопления", "с праздником всех"]
    before = scorer.proba(probe)
    # a long run's vocabulary: far more distinct words than the cache holds
    for k in range(3 * WORD_CACHE_SIZE):
        scorer.word_ids(f"слово{k}")
        assert len(scorer._word_ids) <= 2 * WORD_CACHE_SIZE
    assert np.array_equal(scorer.proba(probe), before)
    expected = clf.predict_proba(vec.transform(probe))[:, list(clf.classes_).index("high")]
    assert np.allclose(before, expected)

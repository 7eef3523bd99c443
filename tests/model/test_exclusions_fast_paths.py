"""The exclusion step's fast paths give exactly what the straightforward code gives.

Each speed-up of the exclusion detectors (rewritten regexes, prechecks, caches, the threat model's
dense rows, the toxicity pipeline without scikit-learn's validation) is checked here against the
plain form it replaced, on crafted and seeded random text.
"""
import json
import pickle
import random
import re

import numpy as np
import pytest

from model import cues, profanity, threat
from model.artifact import load_artifact
from model.cues import Cue, CueSet, indexed_positions, required_literals, word_keys
from model.offtopic import OffTopicDetector
from model.paths import DATA_DIR, DEFAULT_ARTIFACT
from model.spam import SpamDetector
from model.threat_model import ThreatModel
from model.toxicity import FastToxicity

# characters the rewritten patterns care about, and some that they do not
ALPHABET = "абвгдежзийклмнопрстуфхцчшщъыьэюяaeopcxykmthbuzw0346913@*#.-_ ,,\"')(!?$%+/\n"
CRAFTED = [
    "", " ", "а", "a", "х*й", "п@здец", "бл#", "е..ть", "пи**ец", "х у й", "б.л.я", "x у й", "6лядь", "e6ать", "пи3дец",
    'самоаольная реклама",парикмахерская"', "х,,й", "х,,,й", "а,б", 'х"й', "пид)р", "(а)", "а(б)в", "т.е.", "г.омск",
    "ул.ленина 5", "а-б-в", "е-6-а-т-ь", "blyat nahuy", "ebay hub", "a1b2", "9а", "а9", "4ё", "3з", "з3", "0о0", "о0",
    "yбью", "д0лб", "@бв", "abc", "я тебя убью", "ж . о . п . а", "х у й и в с е", "а.. б", "а--б", "а.-б",
]


def random_texts(seed: int, n: int = 3000) -> list[str]:
    rnd = random.Random(seed)
    out = list(CRAFTED)
    for _ in range(n):
        out.append("".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(0, 30))))
    for _ in range(n // 3):  # crafted pieces glued with random characters
        out.append(rnd.choice(ALPHABET).join(rnd.sample(CRAFTED, 3)))
    return out


def spans(pattern: re.Pattern, text: str) -> list[tuple[tuple[int, int], str]]:
    return [(m.span(), m.group()) for m in pattern.finditer(text)]


# ------------------------------------------------------------------ profanity regexes

# the patterns as they were, before they were rewritten to start with the characters they need
ORIGINAL_PROFANITY = {
    "_DIGIT_RE": r"(?<=[а-яa-z])[03469]|[03469](?=[а-яa-z])",
    "_LATIN_WORD": r"(?<![a-z0-9])[a-z][a-z0-9']+",
    "_INNER_MASK_RE": r"(?<=[а-я])(?:[\"')(]|,{2,})(?=[а-я])",
    "_MASK_HINT": r"\*|(?<=[а-я])[.\-]+(?=[а-я])",
}


@pytest.mark.parametrize("name", sorted(ORIGINAL_PROFANITY))
def test_rewritten_profanity_regexes_match_like_the_originals(name):
    original, rewritten = re.compile(ORIGINAL_PROFANITY[name]), getattr(profanity, name)
    for text in random_texts(1):
        assert spans(rewritten, text) == spans(original, text), (name, text)


def test_the_spaced_hint_is_in_every_spaced_word():
    for text in random_texts(2) + ["х у й", "а б в г", "п и з д е ц", "в и к"]:
        if profanity._SPACED_RE.search(text):
            assert profanity._SPACED_HINT.search(text), text


def test_key_search_finds_the_overlapping_keys_of_a_lookahead():
    detector = profanity.ProfanityDetector.from_data()
    keys = sorted(detector._keys, key=len, reverse=True)
    lookahead = re.compile("(?=(" + "|".join(re.escape(k) for k in keys) + "))")
    for text in random_texts(3) + ["нахуй", "ихнахуй", "пиздец", "пздц"]:
        skel = detector.skeleton(text)
        found, m = [], detector._key_re.search(skel)
        while m is not None:
            found.append((m.start(), m.group(1)))
            m = detector._key_re.search(skel, m.start() + 1)
        assert found == [(m.start(), m.group(1)) for m in lookahead.finditer(skel)], text


def test_masked_runs_are_judged_the_same_from_the_cache():
    detector = profanity.ProfanityDetector.from_data()
    text = "вы п.здец, г.омск и т.е. бл*ть. опять п.здец и бл*ть, г.омск"
    lower = normalize_lower(text)
    first = detector.find(_Lower(lower))
    assert detector._masked_seen  # the runs were remembered
    assert detector.find(_Lower(lower)) == first
    assert detector.find(_Lower("ну " + lower)) == [(s + 3, e + 3, score) for s, e, score in first]
    fresh = profanity.ProfanityDetector.from_data()
    assert fresh.find(_Lower("ну " + lower)) == detector.find(_Lower("ну " + lower))


class _Lower:
    def __init__(self, lower: str):
        self.lower = lower


def normalize_lower(text: str) -> str:
    from model.text import normalize

    return normalize(text).lower


# ------------------------------------------------------------------ cue sets

def reference_word_keys(lower: str) -> dict[str, list[int]]:
    """`word_keys` as first written: a Match per word."""
    keys: dict[str, list[int]] = {}
    short, short_end = "", -2
    for m in re.finditer(r"[^\W\d_]+", lower):
        word, pos = m.group(), m.start()
        key = word[:3]
        if short and pos == short_end + 1:
            keys.setdefault(f"{short} {key}", []).append(short_end - len(short))
        keys.setdefault(key, []).append(pos)
        short, short_end = (word, m.end()) if len(word) < 3 else ("", -2)
    return keys


def test_word_keys_and_indexed_positions_agree_with_the_reference():
    SpamDetector.from_data(), OffTopicDetector.from_data()  # their keys are registered
    texts = random_texts(4) + ["в лс", "пиши в лс!", "с днем", "в  лс", "в,лс", "а б в", "ёж и я", "x" * 5000 + " в лс"]
    for text in texts:
        want = reference_word_keys(text)
        word_keys.cache_clear()
        assert word_keys(text) == want and list(word_keys(text)) == list(want), text
        indexed = indexed_positions(text)
        assert indexed == {k: tuple(v) for k, v in want.items() if k in cues._INDEXED}, text


def test_a_new_cue_set_is_seen_by_cached_positions():
    text = "щукозавр щукозавр"
    before = indexed_positions(text)
    assert "щук" not in before
    cue_set = CueSet([Cue("x", 1.0, [r"щукозавр\b"])])
    assert indexed_positions(text)["щук"] == (0, 9)
    assert [[m.span() for m in ms] for ms in cue_set.matches(text)] == [[(0, 8), (9, 17)]]


def test_required_literals_are_in_every_match():
    assert required_literals(r"\d+[\d\s,.]* ?(?:тыс|млн)\b")[-1] == frozenset({"тыс", "млн"})
    assert frozenset({"аха"}) in required_literals(r"ах+аха")
    assert required_literals(r"(?i)абв") == []
    patterns = [alt for d in (SpamDetector.from_data()._cues, OffTopicDetector.from_data()._cues)
                for _, compiled, _ in d._scans for alt in [compiled.pattern]]
    texts = random_texts(5) + [
        "займ 5 тыс", "3 млн", "ахаха", "ахххаха", "24/7", "18+", "доход 10% в день", "+7 912 345 67 89", "8(912)3456789",
        "сайт abc.ru", "5$", "100 usdt", "@some_bot", "@nickname", "всем привет", "добрый вечер", "👉👉👉", "#а #б ",
        "1-2 часа в день", "100% натуральный", "-50%", "500 р за час", "ук рф", "😂", "класс!",
    ]
    for pattern in patterns:
        compiled = re.compile(pattern)
        needs = cues._prechecks(pattern)
        for text in texts:
            if compiled.search(text):
                assert all(any(x in text for x in need) for need in needs), (pattern, text)


def test_hits_are_the_nonempty_matches():
    cue_set = SpamDetector.from_data()._cues
    for text in random_texts(6, 500) + ["займы до 30 000 ₽ без отказа, пишите в личку +7 912 345 67 89"]:
        hits, full = cue_set.hits(text), cue_set.matches(text)
        assert len(full) == len(cue_set.cues)
        assert {ci: [m.span() for m in ms] for ci, ms in enumerate(full) if ms} == {
            ci: [m.span() for m in ms] for ci, ms in hits.items()}


# ------------------------------------------------------------------ threat screen

def test_threat_skeleton_and_lookalike_check_are_unchanged():
    near = re.compile(r"[a-z@]|[а-я][03]|[03][а-я]")
    for text in random_texts(7):
        assert threat.skeleton(text) == text.translate(threat._LOOKALIKES)
        assert bool(threat._LOOKALIKE_NEAR.search(text)) == bool(near.search(text)), text
        mapped, words = threat.mapped_words(text)
        assert words == threat.words(text)
        assert [m.span() for m in threat.iter_mapped_words(mapped)] == [m.span() for m in threat.iter_words(text)]


def test_labelled_words_are_the_words_with_labels(monkeypatch):
    index = threat.ThreatRules.from_data().index
    words = "я тебя убью и дом сожгу убью адресу адресу".split()
    want = [(w, frozenset(index.labels(w))) for w in words if index.labels(w)]
    assert want and index.labelled(words) == want
    assert index.labelled(["дом", "и"]) == []
    monkeypatch.setattr(threat, "_LABEL_CACHE", 3)  # a full cache is emptied and filled again
    assert index.labelled(words + ["щщщ"]) == want
    assert len(index._seen) == len(set(words)) + 1  # a new cache with this post's words
    assert index.cached_labels("убью") == frozenset(index.labels("убью"))


# ------------------------------------------------------------------ learned models

def small_threat_model() -> ThreatModel:
    rnd = np.random.default_rng(5)
    words = ["убью", "тебя", "мэр", "дом", "сожгу", "яма", "двор", "глава", "завтра", "приду"]
    features = sorted({f for w in words for f in ["w" + w, "p" + w[:5], "e" + w[-2:]]}
                      | {"b" + a[:5] + " " + b[:5] for a in words for b in words if rnd.random() < 0.3})
    vocabulary = {f: i for i, f in enumerate(features)}
    coef = rnd.normal(size=(len(features), 5)).astype(np.float32)
    coef[rnd.random(coef.shape) < 0.3] = 0.0
    return ThreatModel(vocabulary, coef, rnd.normal(size=5).astype(np.float32), threshold=0.5)


def threat_texts() -> list[str]:
    rnd = random.Random(8)
    words = ["убью", "тебя", "мэр", "дом", "сожгу", "яма", "двор", "глава", "завтра", "приду", "xyz", "ёлка"]
    return ["", "мэр", "1 2 3"] + [" ".join(rnd.choice(words) for _ in range(rnd.randint(1, 40))) for _ in range(300)]


@pytest.fixture(scope="module")
def artifact():
    return load_artifact(DEFAULT_ARTIFACT)


@pytest.mark.parametrize("which", ["small", "artifact"])
def test_threat_model_rows_score_bit_for_bit_like_the_sparse_product(which, artifact):
    model = small_threat_model() if which == "small" else artifact.get("threat")
    if model is None:
        pytest.skip("the artifact has no threat model")
    texts = [normalize_lower(t) for t in threat_texts() + eval_texts("abuse_threats.jsonl", "abuse_hard_negatives.jsonl")]
    sparse = model.predict_proba(texts)  # more rows than the dense path takes
    assert len(texts) > 8
    dense = np.vstack([model.predict_proba([t]) for t in texts])
    given_words = model.predict_proba(texts, [threat.words(t) for t in texts])
    for got in (dense, given_words):
        assert got.dtype == sparse.dtype == np.float32
        assert got.tobytes() == sparse.tobytes()
    # the features are those of the training matrix
    reference = ThreatModel.matrix([model_features(t) for t in texts], model.vocabulary)
    z = (reference @ model.coef).toarray() + model.intercept
    assert (1.0 / (1.0 + np.exp(-z))).tobytes() == sparse.tobytes()


def eval_texts(*names: str) -> list[str]:
    return [json.loads(line)["text"] for name in names
            for line in (DATA_DIR / "eval" / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def model_features(lower: str) -> list[str]:
    from model.threat_model import text_features

    return text_features(lower)


def test_threat_model_pickles_without_its_caches():
    model = small_threat_model()
    model.predict_proba(["убью тебя мэр"])
    state = model.__getstate__()
    assert state["_words"] == {} and "_dense" not in state and "_bigrams" not in state
    again = pickle.loads(pickle.dumps(model))
    assert again.predict_proba(["убью тебя мэр"]).tobytes() == model.predict_proba(["убью тебя мэр"]).tobytes()


def test_fast_toxicity_is_bit_for_bit_the_pipeline(artifact):
    estimator = artifact.get("toxicity")
    fast = FastToxicity.build(estimator)
    assert fast is not None
    texts = eval_texts("abuse_insults.jsonl", "abuse_hard_negatives.jsonl")
    texts += ["", "!!!", "ok", "ТЫ ДЕБИЛ", "х*йня"] + random_texts(9, 50)
    for size in (1, 3, 64, len(texts)):
        for k in range(0, len(texts), size):
            chunk = texts[k : k + size]
            assert fast(chunk).tobytes() == np.asarray(estimator.predict_proba(chunk)[:, 1], dtype=np.float64).tobytes()


def test_other_estimators_keep_their_own_predict_proba():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    other = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(["плохо", "хорошо", "ужас", "класс"], [1, 0, 1, 0])
    assert FastToxicity.build(other) is None
    from model.toxicity import AbuseDetector

    detector = AbuseDetector.from_data(DATA_DIR, other)
    assert detector.toxicity(["ужас"]).tolist() == other.predict_proba(["ужас"])[:, 1].tolist()

"""Insults, threats, calls to violence and intent to harm: `AbuseDetector`.

    detector = AbuseDetector.from_data(DATA_DIR, artifact.get("toxicity"))   # estimator may be None
    findings = detector.predict(docs)          # one list of model.records.Finding per doc

`insult` comes from a lexicon (data/lexicons/insult.yaml) gated by the toxicity classifier (the
artifact's "toxicity" component, trained by training/toxicity.py) and by target cues: a strong
word ("мразь", "дебил") fires when it is said to or of someone ("ты", "глава", a vocative) or when
the model finds its sentence toxic; a weak word ("козёл", "скотина", "курица") needs both, so
"по двору бродит козёл" stays clean. The four threat reasons come from `model.threat.ThreatRules`.

Cost: one word scan per post over a prefix index shared by both lexicons. Only posts with a
candidate word are tokenized, and the classifier scores only the sentences that hold a candidate
insult, in one batch for all docs, so the ordinary complaint costs a few microseconds.
Evidence spans are the offending words (insults) or phrases (threats) in ORIGINAL coordinates.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import yaml
from scipy.special import expit
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from . import yamlfile
from .doc import Doc
from .errors import DataError
from .paths import DATA_DIR
from .records import Finding, Span
from .text import WORD_CACHE_SIZE, Text, Token, lemmatize, morph
from .threat import REASONS as THREAT_REASONS
from .threat import StemIndex, ThreatRules, grammemes, iter_mapped_words, lexeme_forms, mapped_words, sentences

log = logging.getLogger(__name__)

INSULT = "insult"
REASONS = (INSULT, *THREAT_REASONS)
_INSULT_LABEL = "insult"
_PATRONYMIC = re.compile(r"(?:ович|евич|ьич|овна|евна|ична|инична)(?:а|у|ем|е|ой|ы)?$")
_MAX_CONTEXT = 300  # characters of a sentence the classifier sees around an insult


def _strings(data: dict[str, Any], key: str, path: Path) -> frozenset[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DataError(f"{path}: expected `{key}` to be a list of strings, got {type(value).__name__}")
    return frozenset(v.lower().replace("ё", "е") for v in value)


class NBScaler(TransformerMixin, BaseEstimator):
    """Scale each feature by its naive Bayes log-count ratio (NB-SVM, Wang & Manning 2012).

    Features that tell toxic from clean text (мат roots, insults) get large weights before the
    linear model sees them; on the RUSSE pairs this lifts toxic-vs-neutral F1 by about 2 points.
    """

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def fit(self, X, y):
        y = np.asarray(y)
        present = (X > 0).astype(np.float32)
        pos = np.asarray(present[y == 1].sum(axis=0)).ravel() + self.alpha
        neg = np.asarray(present[y != 1].sum(axis=0)).ravel() + self.alpha
        pos /= (y == 1).sum() + self.alpha
        neg /= (y != 1).sum() + self.alpha
        self.ratio_ = np.log(pos / neg).astype(np.float32)
        return self

    def transform(self, X):
        check_is_fitted(self, "ratio_")
        return X @ sp.diags(self.ratio_)


# texts the fast toxicity path must score bit for bit like the estimator before it is used
_SELF_CHECK = (
    "ты дебил и мразь, глава района!", "по двору бродит козёл", "Мэр — идиот?!", "", "...",
    "ok google", "Ублюдки, верните сквер! Сколько можно", "х*йня какая-то 123 км/ч",
)


class FastToxicity:
    """`estimator.predict_proba(texts)[:, 1]` of the toxicity pipeline (TF-IDF union → NBScaler →
    calibrated logistic regression) by the same numeric steps in the same order, without
    scikit-learn's input validation around each step: that costs ~4 ms a call, the work for the
    few sentences of a batch a small fraction of it. `build` returns None for any other
    estimator, or when the result on `_SELF_CHECK` is not bit-identical to the estimator's."""

    def __init__(self, estimator: Any):
        from sklearn.calibration import CalibratedClassifierCV, _SigmoidCalibration
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, Pipeline

        if not isinstance(estimator, Pipeline) or [n for n, _ in estimator.steps] != ["features", "nb", "clf"]:
            raise TypeError("expected a Pipeline features → nb → clf")
        features, nb, clf = (step for _, step in estimator.steps)
        if not isinstance(features, FeatureUnion) or features.transformer_weights is not None:
            raise TypeError("expected an unweighted FeatureUnion")
        self.vectorizers = [v for _, v in features.transformer_list]
        for v in self.vectorizers:
            if type(v) is not TfidfVectorizer or v._tfidf.norm not in ("l2", None) or not v._tfidf.use_idf:
                raise TypeError("expected TfidfVectorizers with l2 norm and idf")
        if type(nb) is not NBScaler:
            raise TypeError("expected an NBScaler")
        # NBScaler.transform is X @ sp.diags(ratio_), and scipy turns the diagonal into CSR for
        # every product: done once here (the same matrix, so the same product)
        self.scale = sp.csr_matrix(sp.diags(nb.ratio_))
        if (type(clf) is not CalibratedClassifierCV or len(clf.calibrated_classifiers_) != 1
                or len(clf.classes_) != 2):
            raise TypeError("expected a binary CalibratedClassifierCV with one calibrated classifier")
        calibrated = clf.calibrated_classifiers_[0]
        lr = calibrated.estimator
        if (type(lr) is not LogisticRegression or calibrated.method != "sigmoid" or len(calibrated.calibrators) != 1
                or type(calibrated.calibrators[0]) is not _SigmoidCalibration or lr.coef_.shape[0] != 1
                or list(lr.classes_) != list(clf.classes_) or list(calibrated.classes) != list(clf.classes_)):
            raise TypeError("expected a sigmoid-calibrated binary LogisticRegression")
        self.coef_t = lr.coef_.T
        self.intercept = lr.intercept_
        self.a, self.b = calibrated.calibrators[0].a_, calibrated.calibrators[0].b_

    @classmethod
    def build(cls, estimator: Any) -> "FastToxicity | None":
        try:
            fast = cls(estimator)
            texts = list(_SELF_CHECK)
            want = np.asarray(estimator.predict_proba(texts)[:, 1], dtype=np.float64)
            got = fast(texts)
        except Exception as exc:  # any other estimator: its own predict_proba is used
            log.info("toxicity: no fast path for this estimator (%s)", exc)
            return None
        if got.shape != want.shape or got.tobytes() != want.tobytes():
            log.warning("toxicity: the fast path differs from the estimator on the self-check, not used")
            return None
        return fast

    def __call__(self, texts: list[str]) -> np.ndarray:
        from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

        # FeatureUnion.transform: each TfidfVectorizer.transform, then sparse.hstack(...).tocsr()
        blocks = []
        for v in self.vectorizers:
            _, x = v._count_vocab(texts, fixed_vocab=True)  # CountVectorizer.transform
            if v.binary:
                x.data.fill(1)
            tfidf = v._tfidf  # TfidfTransformer.transform(x, copy=False)
            if tfidf.sublinear_tf:
                np.log(x.data, x.data)
                x.data += 1.0
            x.data *= tfidf.idf_[x.indices]
            if tfidf.norm == "l2":
                inplace_csr_row_normalize_l2(x)  # sklearn.preprocessing.normalize(x, "l2", copy=False)
            blocks.append(x)
        x = sp.hstack(blocks).tocsr()
        x = x @ self.scale  # NBScaler.transform
        if x.format != "csr":
            x = x.asformat("csr")  # what LogisticRegression's validate_data does
        # LogisticRegression.decision_function, then _SigmoidCalibration.predict
        scores = (x @ self.coef_t + self.intercept).reshape(-1)
        proba = expit(-(self.a * scores + self.b))
        proba[(1.0 < proba) & (proba <= 1.0 + 1e-5)] = 1.0  # as _CalibratedClassifier.predict_proba
        return proba


@dataclass
class InsultLexicon:
    strong_lemmas: frozenset[str]
    strong_stems: tuple[str, ...]
    weak_lemmas: frozenset[str]
    literal_lemmas: frozenset[str]
    rude_lemmas: frozenset[str]
    rude_stems: tuple[str, ...]
    not_lemmas: frozenset[str]
    not_stems: tuple[str, ...]
    simile_before: frozenset[str]
    address: frozenset[str]
    targets: frozenset[str]
    # verbs whose object is a body part, not an insult: "набить морду", "рожу начищу"
    object_of: frozenset[str] = frozenset()

    @classmethod
    def load(cls, path: Path | str) -> "InsultLexicon":
        path = Path(path)
        if not path.is_file():
            raise DataError(f"expected the insult lexicon at {path}, found none")
        try:
            data = yamlfile.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise DataError(f"{path}: expected YAML, got a parse error: {exc}") from exc
        for key in ("strong", "weak", "literal", "rude", "not"):
            if not isinstance(data, dict) or not isinstance(data.get(key), dict):
                raise DataError(f"{path}: expected a mapping `{key}` with lemmas/stems, got {type(data.get(key) if isinstance(data, dict) else data).__name__}")
        return cls(
            strong_lemmas=_strings(data["strong"], "lemmas", path),
            strong_stems=tuple(sorted(_strings(data["strong"], "stems", path))),
            weak_lemmas=_strings(data["weak"], "lemmas", path),
            literal_lemmas=_strings(data["literal"], "lemmas", path),
            rude_lemmas=_strings(data["rude"], "lemmas", path),
            rude_stems=tuple(sorted(_strings(data["rude"], "stems", path))),
            not_lemmas=_strings(data["not"], "lemmas", path),
            not_stems=tuple(sorted(_strings(data["not"], "stems", path))),
            simile_before=_strings(data, "simile_before", path),
            address=_strings(data, "address", path),
            targets=_strings(data, "targets", path),
            object_of=_strings(data, "object_of", path),
        )

    def screen_entries(self) -> list[tuple[str, str]]:
        """(stem, label) for the word screen: the stems, matched as word starts."""
        return [(s, _INSULT_LABEL) for s in self.strong_stems + self.rude_stems]

    def screen_forms(self) -> list[tuple[str, str]]:
        """(form, label) for the word screen: every form of the listed lemmas, matched exactly."""
        forms = lexeme_forms(self.strong_lemmas | self.weak_lemmas | self.literal_lemmas | self.rude_lemmas)
        return [(f, _INSULT_LABEL) for f in forms]

    def strength(self, word: str) -> str | None:
        """"strong", "weak", "literal", "rude" or None for a lower-case word (look-alikes already mapped)."""
        if "*" in word or "#" in word:
            return "strong" if self._masked(word) else None
        lemma = lemmatize(word)
        if lemma in self.not_lemmas or word.startswith(self.not_stems):
            return None
        if lemma in self.strong_lemmas or word.startswith(self.strong_stems):
            return "strong"
        if lemma in self.weak_lemmas:
            return "weak"
        if lemma in self.literal_lemmas:
            return "literal"
        if lemma in self.rude_lemmas or word.startswith(self.rude_stems):
            return "rude"
        return None

    def _masked(self, word: str) -> bool:
        """д*бил, м#разь: a mask stands for one letter; the rest must spell a strong stem."""
        for stem in self.strong_stems:
            if len(stem) >= 4 and len(word) >= len(stem):
                if all(w == s or w in "*#" for w, s in zip(word, stem)) and word[0] not in "*#":
                    return True
        return False


@dataclass
class _Candidate:
    doc: int
    start: int  # clean coordinates of the word
    end: int
    strength: str
    target: str | None  # "address", "vocative", "near", "sentence" or None (see AbuseDetector._target_cue)
    context: str  # the sentence the classifier scores


class AbuseDetector:
    """Findings for insult, threat_official, threat_authority, call_to_violence, harm_intent."""

    name = "abuse"

    def __init__(self, insults: InsultLexicon, threats: ThreatRules, estimator: Any | None = None,
                 strong_threshold: float = 0.5, threat_model: Any | None = None,
                 rude_threshold: float = 0.7, weak_threshold: float = 0.9):
        self.insults = insults
        self.threats = threats
        self.estimator = estimator
        self.threat_model = threat_model  # model.threat_model.ThreatModel or None (rules only)
        self.strong_threshold = strong_threshold
        self.rude_threshold = rude_threshold
        self.weak_threshold = weak_threshold
        self.index = StemIndex(threats.lexicon.screen_entries + insults.screen_entries(),
                               threats.lexicon.screen_forms + insults.screen_forms())
        # (estimator, its fast path or None): `toxicity` uses the path only for that estimator
        self._fast_toxicity = (estimator, FastToxicity.build(estimator) if estimator is not None else None)

    @classmethod
    def from_data(cls, data_dir: Path | str = DATA_DIR, estimator: Any | None = None,
                  threat_model: Any | None = None, **kwargs: Any) -> "AbuseDetector":
        """Lexicons from data_dir/lexicons; `estimator` is the artifact's "toxicity" component or None;
        `threat_model` its "threat" component (model.threat_model.ThreatModel) or None (rules only)."""
        data_dir = Path(data_dir)
        if estimator is not None and not hasattr(estimator, "predict_proba"):
            raise DataError(f"expected a toxicity estimator with predict_proba, got {type(estimator).__name__}")
        if threat_model is not None and not hasattr(threat_model, "reasons_for"):
            raise DataError(f"expected a threat model (model.threat_model.ThreatModel), got {type(threat_model).__name__}")
        return cls(
            InsultLexicon.load(data_dir / "lexicons" / "insult.yaml"),
            ThreatRules.from_data(data_dir),
            estimator,
            threat_model=threat_model,
            **kwargs,
        )

    # ------------------------------------------------------------ public

    def toxicity(self, texts: list[str]) -> np.ndarray:
        """Probability that each text is toxic (rude, insulting, obscene); NaN without a model."""
        if not texts:
            return np.zeros(0)
        if self.estimator is None:
            return np.full(len(texts), np.nan)
        built_for, fast = getattr(self, "_fast_toxicity", (None, None))
        if fast is not None and built_for is self.estimator:
            return fast(texts)
        return self.estimator.predict_proba(texts)[:, 1]

    def predict(self, docs: list[Doc]) -> list[list[Finding]]:
        results: list[list[Finding]] = [[] for _ in docs]
        candidates: list[_Candidate] = []
        word_lists: list[list[str]] = []  # each doc's words, for the threat model too
        labels_of = self.index.cached_labels
        for k, doc in enumerate(docs):
            text = doc.text
            lower = text.lower
            mapped, plain = mapped_words(lower)  # look-alikes mapped once: `iter_words`, `words`
            word_lists.append(plain)
            screened = self.index.labelled(plain)  # (word, labels) of the words that start like an entry
            masked = "*" in lower or "#" in lower
            if not screened and not masked:
                continue  # the common case: no word even starts like a lexicon entry (or is masked)
            if masked or any(_INSULT_LABEL in labels for _, labels in screened):
                insult_words = []  # as matches: their positions are needed
                for m in iter_mapped_words(mapped):
                    word = m.group()
                    labels = labels_of(word)
                    if _INSULT_LABEL in labels:
                        insult_words.append(m)
                    elif not labels and ("*" in word or "#" in word) and self.insults.strength(word):
                        insult_words.append(m)  # masked: д*бил, м#разь
                if insult_words:
                    candidates.extend(self._insult_candidates(k, text, insult_words))
            if any(labels - {_INSULT_LABEL} for _, labels in screened):
                results[k].extend(self.threats.findings(text, screened))
        if candidates:
            insults = self._decide(candidates, docs)
            for k, finding in insults.items():
                results[k].insert(0, finding)
        if self.threat_model is not None:
            self._model_threats(docs, results, word_lists)
        return results

    def _model_threats(self, docs: list[Doc], results: list[list[Finding]],
                       word_lists: list[list[str]] | None = None) -> None:
        """OR the learned threat model into posts where the rules found no threat (one batch);
        `word_lists`: each doc's `words(text.lower)` when already computed."""
        model = self.threat_model
        todo = [k for k, doc in enumerate(docs)
                if not any(f.reason in THREAT_REASONS for f in results[k]) and model.eligible(doc.text.lower)]
        if not todo:
            return
        lowers = [docs[k].text.lower for k in todo]
        scored = model.score_docs(lowers, None if word_lists is None else [word_lists[k] for k in todo])
        for k, (row, (a, b)) in zip(todo, scored):
            p = float(row[0])
            if p < model.threshold:
                continue
            text = docs[k].text
            # a finding's score is in [0.5, 1]: the threshold maps to 0.5
            score = round(0.5 + 0.5 * (p - model.threshold) / max(1.0 - model.threshold, 1e-6), 4)
            for reason in model.reasons_for(row):
                results[k].append(Finding(reason, score, [text.span(a, b)]))

    # ------------------------------------------------------------ insults

    def _insult_candidates(self, k: int, text: Text, matches: list[re.Match[str]]) -> list[_Candidate]:
        found = []
        for m in matches:
            strength = self.insults.strength(m.group())
            if strength is not None:
                found.append((m, strength))
        if not found:
            return []
        tokens = text.tokens
        starts = {t.start: i for i, t in enumerate(tokens)}
        bounds = sentences(tokens)
        sentence_of = {}
        for a, b in bounds:
            for j in range(a, b):
                sentence_of[j] = (a, b)
        out = []
        for m, strength in found:
            i = starts.get(m.start())
            if i is None:  # the word regex and razdel cut differently (masked words): find the token
                i = next((j for j, t in enumerate(tokens) if t.start <= m.start() < t.end), None)
                if i is None:
                    continue
            s_start, s_end = sentence_of.get(i, (0, len(tokens)))
            if self._simile(tokens, i, s_start) or self._body_part(tokens, i, s_start, s_end):
                continue
            target = self._target_cue(tokens, i, s_start, s_end)
            lo, hi = tokens[s_start].start, tokens[s_end - 1].end
            if hi - lo > _MAX_CONTEXT:
                lo = max(lo, m.start() - _MAX_CONTEXT // 2)
                hi = min(hi, lo + _MAX_CONTEXT)
            out.append(_Candidate(k, m.start(), m.end(), strength, target, text.clean[lo:hi]))
        return out

    def _simile(self, tokens: list[Token], i: int, start: int) -> bool:
        """"как идиот простоял", "держат нас за дураков", "относятся как к скоту": not an insult."""
        prev = _prev_word(tokens, i, start)
        if prev is None:
            return False
        if tokens[prev].lower in self.insults.simile_before:
            # "что (это) за урод" names someone; "держат нас за дураков" compares
            if tokens[prev].lower != "за":
                return True
            before = _prev_word(tokens, prev, start)
            if before is not None and tokens[before].lower == "это":
                before = _prev_word(tokens, before, start)
            return not (before is not None and tokens[before].lower == "что")
        prev2 = _prev_word(tokens, prev, start)
        return (prev2 is not None and "PREP" in grammemes(tokens[prev].lower)
                and tokens[prev2].lower in self.insults.simile_before)

    def _body_part(self, tokens: list[Token], i: int, start: int, end: int) -> bool:
        """"набить морду", "морду набью", "рожу начищу": a body part hit, not a name called."""
        near = [tokens[j].lemma for j in (i - 1, i + 1) if start <= j < end and tokens[j].is_word]
        return any(lemma in self.insults.object_of for lemma in near)

    def _target_cue(self, tokens: list[Token], i: int, start: int, end: int) -> str | None:
        """Is the word said to or of a person?
        "address": said TO someone — ты/вы next to it, or a hyphenated title ("мэр-козёл");
        "vocative": it calls someone ("Ублюдки, верните ...", "Заткнись, истеричка");
        "near": next to a person in the same case ("глава — скотина", "этот козёл", not "коза соседа");
        "person" / "predicate": what a dash says someone / something is ("Министр — позорище");
        "sentence": a person or a body is named somewhere in the sentence; "of": someone of a place
        ("карга из паспортного стола", strong words only); "all": "сидят одни бараны" (not literal
        words: "на рынке одни овощи"); None: nobody is."""
        lex = self.insults
        tok = tokens[i]
        if "-" in tok.lower and any(lemmatize(p) in lex.targets for p in tok.lower.split("-") if p):
            return "address"  # "мэр-козёл"
        word_ids = [j for j in range(start, end) if tokens[j].is_word]
        pos = word_ids.index(i) if i in word_ids else 0
        before = tokens[i - 1].text if i > start else ""
        after = tokens[i + 1].text if i + 1 < end else ""
        if pos == 0 and after in {",", "!", "!!", "!!!"} and not _listing(tokens, i + 1, end):
            return "vocative"  # opening the sentence: "Ублюдки, верните сквер!"
        if before == "," and after in {"", "!", "!!", "!!!", "?"} and any(
                {"2per", "impr"} & grammemes(tokens[j].lower) for j in range(start, i)):
            return "vocative"  # closing it: "Заткнись уже, истеричка!"
        if pos <= 3 and end < len(tokens) and tokens[end].text.startswith("!") and len(word_ids) <= 4 and all(
                j == i or grammemes(tokens[j].lower) & _MODIFIERS for j in word_ids):
            return "vocative"  # an exclamation of its own: "Ворюги!", "Дармоеды проклятые!"
        prev = _prev_word(tokens, i, start)
        prev2 = _prev_word(tokens, prev, start) if prev is not None else None
        if {tokens[j].lower for j in (prev, prev2) if j is not None} >= {"ну", "и"}:
            return "address"  # "ну и дурачьё в департаменте": an exclamation about someone
        if any(j is not None and tokens[j].lower == "одни" for j in (prev, prev2)):
            return "all"  # "в поссовете сидят одни бараны" (strong and weak words only)
        predicate = self._predicate(tokens, i, start)
        if predicate is not None:
            return predicate
        cases = _cases(tok.lower)
        cue = None
        for k, j in enumerate(word_ids):
            if j == i:
                continue
            t = tokens[j]
            near = abs(k - pos) <= 4
            if t.lower in lex.address or t.lemma in lex.address:
                if near:
                    return "address"
                cue = cue or "sentence"
            elif self._person_word(t, name_ok=k > 0):  # a capital opens every sentence: not a name there
                if near and cases & _cases(t.lower):
                    if (j < i and "nomn" in cases & _cases(t.lower) and "NPRO" not in grammemes(t.lower)
                            and t.lemma not in _PRONOUN_LEMMAS and self._copula(tokens, j, i)):
                        return "person"  # "губернатор наш тряпка", "Замглавы Горбатенко выскочка"
                    cue = "near"  # the same case: the same person
                cue = cue or "sentence"
        if cue is None and i + 2 < end and tokens[i + 1].lower == "из" and "NOUN" in (
                grammemes(tokens[i + 2].lower) | grammemes(tokens[min(i + 3, end - 1)].lower)):
            return "of"  # "карга из паспортного стола": someone of a place (strong words only)
        return cue

    def _person_word(self, t: Token, name_ok: bool) -> bool:
        """A person, an official or a body: a listed target, a patronymic, or (when `name_ok`) a
        capitalized first name or surname."""
        lex = self.insults
        return (t.lemma in lex.targets or t.lower in lex.targets
                or (len(t.text) > 5 and t.text[0].isupper() and bool(_PATRONYMIC.search(t.lower)))
                or (name_ok and t.text[:1].isupper() and bool(grammemes(t.lower) & _NAMES)))

    def _copula(self, tokens: list[Token], j: int, i: int) -> bool:
        """Only modifiers stand between the subject at j and the word at i, so the word says what the
        subject is ("губернатор наш тряпка"), not "у мэра на побегушках тряпка висит"."""
        between = [t for t in tokens[j + 1 : i] if t.is_word]
        if len(between) > 2 or any(t.text in {",", "(", ")", ":", ";"} for t in tokens[j + 1 : i]):
            return False
        return all(grammemes(t.lower) & (_MODIFIERS | _NAMES) for t in between)

    def _predicate(self, tokens: list[Token], i: int, start: int) -> str | None:
        """Is the word what a dash says someone is ("Министр Галиев — позорище", "Участковый наш —
        ленивый увалень", "«Чистый город» — это шайка жуликов")? "person" when the subject names a
        person, an official or a body (a target, a name, a quoted name), "predicate" for any other
        subject, None when the word is not after a dash."""
        lex = self.insults
        j = i - 1
        between = 0
        while j >= start and tokens[j].text not in _DASHES:
            t = tokens[j]
            if t.is_word and not (t.lower in {"это", "просто", "ещё", "еще", "же", "и", "а", "не", "ну"} or
                                  grammemes(t.lower) & (_MODIFIERS | {"NOUN"})):
                return None  # a verb or a clause in between: "— вот что бывает, когда дураки"
            if t.is_word:
                between += 1
            if between > 3 or t.text in {",", ":", ";", "(", ")"}:
                return None
            j -= 1
        if j <= start:
            return None  # no dash, or nothing before it
        subject = [t for t in tokens[start:j] if t.is_word][-5:]  # the words just before the dash
        if not subject:
            return None
        if any(t.lower in lex.address or self._person_word(t, name_ok=True) for t in subject):
            return "person"
        if any(t.text in {"«", "»", '"'} for t in tokens[max(start, j - 6):j]):
            return "person"  # a quoted name: «Чистый город», «Водоканал»
        return "predicate"

    def _decide(self, candidates: list[_Candidate], docs: list[Doc]) -> dict[int, Finding]:
        scores = self.toxicity([c.context for c in candidates])
        by_doc: dict[int, tuple[float, list[tuple[int, int]]]] = {}
        for c, tox in zip(candidates, scores):
            score = self._score(c, float(tox))
            if score is None:
                continue
            best, ranges = by_doc.get(c.doc, (0.0, []))
            by_doc[c.doc] = (max(best, score), ranges + [(c.start, c.end)])
        out = {}
        for k, (score, ranges) in by_doc.items():
            text = docs[k].text
            out[k] = Finding(INSULT, round(score, 4), [text.span(a, b) for a, b in sorted(set(ranges))])
        return out

    def _score(self, c: _Candidate, tox: float) -> float | None:
        """Strong words need a person in the sentence or a toxic sentence; weak and literal words need
        a person right next to them. The classifier mostly knows slang and мат, so it adds recall
        for strong words but never vetoes a clear "глава — скотина"."""
        rules_only = bool(np.isnan(tox))
        if c.strength == "strong":
            if c.target is not None:
                return 0.8 if rules_only else max(tox, 0.8)
            if rules_only:
                return 0.6
            return tox if tox >= self.strong_threshold else None
        if c.strength == "rude":
            # vulgar words ("говно", "жопа", "сраный") are rude in a toxic sentence and plain words in
            # a complaint ("кал на газоне"): the classifier decides, a word said to someone is enough
            if c.target in ("address", "vocative", "near"):
                return 0.7 if rules_only else max(tox, 0.7)
            if rules_only:
                return None
            return tox if tox >= self.rude_threshold else None
        if c.strength == "literal":
            if c.target in ("address", "person"):  # "ты вор", "Министр Галиев — позорище"
                return 0.7 if rules_only else max(tox, 0.7)
            return None
        if c.target in ("near", "address", "vocative", "person", "all"):
            return 0.7 if rules_only else max(tox, 0.7)
        # a person named only somewhere in the sentence is enough for a weak word only when the
        # sentence is clearly toxic: the classifier learned these very words ("коза соседа" scores 0.8)
        if c.target == "sentence" and not rules_only and tox >= self.weak_threshold:
            return tox
        return None

@lru_cache(maxsize=WORD_CACHE_SIZE)
def _cases(word_lower: str) -> frozenset[str]:
    """Every case the word can be in ("этот" is nominative or accusative)."""
    out: set[str] = set()
    for parse in morph().parse(word_lower):
        if parse.tag.case:
            out.add(parse.tag.case)
    return frozenset(out)


_DASHES = frozenset({"—", "–", "-", "--"})
_NAMES = frozenset({"Name", "Surn", "Patr"})
# listed as targets, but too vague to be the subject of a name-calling: "вешают эти тряпки"
_PRONOUN_LEMMAS = frozenset({"этот", "тот", "какой-то", "он", "она", "они"})
# words that may stand beside an insult in a one-word exclamation or a predicate ("ленивый увалень")
_MODIFIERS = frozenset({"ADJF", "ADJS", "PRTF", "PRCL", "INTJ", "NPRO", "ADVB", "CONJ"})

_CASES = frozenset({"nomn", "gent", "datv", "accs", "ablt", "loct", "voct"})


def _listing(tokens: list[Token], i: int, end: int) -> bool:
    """A comma that starts an enumeration ("Тараканы, крысы, мыши"): a list, not a vocative."""
    if i >= end or tokens[i].text != ",":
        return False
    nxt = next((t for t in tokens[i + 1 : end] if t.is_word), None)
    return nxt is not None and bool(grammemes(nxt.lower) & {"NOUN"}) and not (grammemes(nxt.lower) & {"VERB", "impr"})


def _prev_word(tokens: list[Token], i: int, start: int) -> int | None:
    """The index of the word token before token i in its sentence."""
    for j in range(i - 1, start - 1, -1):
        if tokens[j].is_word:
            return j
    return None


_WORD = re.compile(r"[^\W\d_]{2,}")


class RudeTextDetector:
    """`insult` for a post the classifier finds rude as a whole when no lexicon word carries it.

    The lexicons own the evidence for most rudeness; what is left («ты что, солома?», «тащи пруфы,
    клоун») only the toxicity classifier sees. The classifier alone fires on complaints («Пень на
    газоне» scores 0.98: it learned «пень» as an insult), so it decides alone only where the topic
    model finds no subject (the topic step's group score below `max_group_score`) — a complaint has
    one. Run by `model.exclusions.ExclusionTagger` as a fallback: only for posts where no мат, insult
    or threat was found (`unless`). The evidence is the word whose removal lowers the score most.
    Cost: the classifier on ~6 % of real posts, the first `max_chars` characters.
    """

    name = "rude_text"
    unless = frozenset({"profanity", *REASONS})

    def __init__(self, abuse: AbuseDetector, max_group_score: float = 0.3, threshold: float = 0.9,
                 max_chars: int = 300, max_words: int = 40):
        if abuse.estimator is None:
            raise DataError("expected an AbuseDetector with a toxicity model, got one without (rules only)")
        self.abuse = abuse
        self.max_group_score = max_group_score
        self.threshold = threshold
        self.max_chars = max_chars
        self.max_words = max_words

    def eligible(self, doc: Doc) -> bool:
        """Only a post the topic step read and found no subject in (no topic step: never)."""
        topic = doc.topic
        if topic is None:
            return False
        score = topic.group_score if topic.group_score is not None else topic.score
        return score < self.max_group_score

    def predict(self, docs: list[Doc]) -> list[list[Finding]]:
        out: list[list[Finding]] = [[] for _ in docs]
        todo = [k for k, doc in enumerate(docs) if self.eligible(doc) and _WORD.search(doc.text.lower)]
        if not todo:
            return out
        scores = self.abuse.toxicity([docs[k].text.lower[: self.max_chars] for k in todo])
        for k, tox in zip(todo, scores):
            if tox >= self.threshold:
                spans = self._evidence(docs[k].text, float(tox))
                if spans:
                    out[k].append(Finding(INSULT, round(float(tox), 4), spans))
        return out

    def _evidence(self, text: Text, tox: float) -> list[Span]:
        """The occurrences of the word whose removal lowers the score most (original coordinates)."""
        head = text.lower[: self.max_chars]
        where: dict[str, list[tuple[int, int]]] = {}
        for m in _WORD.finditer(head):
            where.setdefault(m.group(), []).append(m.span())
        words = list(where)[: self.max_words]
        if not words:
            return []
        variants = []
        for w in words:
            chars = list(head)
            for a, b in where[w]:
                chars[a:b] = " " * (b - a)
            variants.append("".join(chars))
        drops = tox - self.abuse.toxicity(variants)
        best = words[int(np.argmax(drops))]
        return [text.span(a, b) for a, b in where[best]]

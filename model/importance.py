"""Importance: is a post of high importance (повышенная/высокая важность), and why.

Two sources of evidence, combined by noisy-OR (data/lexicons/importance.yaml):
- rules — regular expressions for danger to life or health, mass outages, heating off in frost,
  an ambulance that did not come, children and vulnerable people; plus the post's signals: the
  rubricator's ★ topic (`doc.topic.urgent`), engagement (reposts, comments, likes, views) and the
  number of posts on the same incident (`doc.extras["incident_size"]`, set by the repeats step);
- a small text model (`ImportanceModel`: TF-IDF character n-grams + logistic regression, trained
  by training/importance.py on hand-written examples) for what the rules do not phrase.

score = 1 − (1 − model_weight · p_model) · Π(1 − rule weight), times the dampers (a thank-you for
a solved problem); level "high" when score ≥ threshold. Modifier rules (children, vulnerable
people, «срочно») weigh in only next to a primary rule or signal, or when p_model ≥ modifier_gate. Reasons are the fired rules' Russian
labels, strongest first; "признаки срочности в тексте" when the model alone decided.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from . import yamlfile
from .doc import Doc
from .errors import DataError
from .paths import DATA_DIR
from .records import Engagement, Importance
from .text import WORD_CACHE_SIZE, lower_yo

log = logging.getLogger(__name__)

DEFAULT_LEXICON = DATA_DIR / "lexicons" / "importance.yaml"
LEVELS = ("normal", "high")


# ---------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Rule:
    id: str
    reason: str
    weight: float
    any: tuple[re.Pattern, ...]
    with_: tuple[re.Pattern, ...] = ()
    unless: tuple[re.Pattern, ...] = ()
    modifier: bool = False  # weight counts only together with a primary rule or signal

    def fires(self, lower: str) -> bool:
        if not any(p.search(lower) for p in self.any):
            return False
        if self.with_ and not any(p.search(lower) for p in self.with_):
            return False
        return not any(p.search(lower) for p in self.unless)


@dataclass(frozen=True)
class Damper:
    id: str
    factor: float
    any: tuple[re.Pattern, ...]

    def fires(self, lower: str) -> bool:
        return any(p.search(lower) for p in self.any)


@dataclass(frozen=True)
class Signal:
    reason: str
    weight: float
    params: dict[str, Any]


@dataclass(frozen=True)
class ImportanceLexicon:
    rules: tuple[Rule, ...]
    dampers: tuple[Damper, ...]
    signals: dict[str, Signal]
    threshold: float
    model_weight: float
    model_reason: str
    modifier_gate: float = 0.5

    @classmethod
    def load(cls, path: Path | str = DEFAULT_LEXICON) -> "ImportanceLexicon":
        path = Path(path)
        with open(path, encoding="utf-8") as f:
            raw = yamlfile.safe_load(f)
        if not isinstance(raw, dict) or not isinstance(raw.get("rules"), list):
            raise DataError(f"{path}: expected a mapping with a list 'rules', got {type(raw).__name__}")
        rules = tuple(_rule(r, f"{path}: rules[{i}]") for i, r in enumerate(raw["rules"]))
        dampers = tuple(
            Damper(str(d.get("id")), _weight(d.get("factor"), f"{path}: dampers[{i}].factor"),
                   _patterns(d.get("any"), f"{path}: dampers[{i}].any", required=True))
            for i, d in enumerate(raw.get("dampers") or [])
        )
        signals_raw = raw.get("signals") or {}
        signals = {}
        for name in ("urgent_topic", "engagement", "incident_size"):
            s = signals_raw.get(name)
            if s is None:
                continue
            if not isinstance(s, dict) or not isinstance(s.get("reason"), str):
                raise DataError(f"{path}: signals.{name} expected a mapping with 'reason', got {s!r}")
            params = {k: v for k, v in s.items() if k not in ("reason", "weight")}
            signals[name] = Signal(s["reason"], _weight(s.get("weight"), f"{path}: signals.{name}.weight"), params)
        model = signals_raw.get("model") or {}
        return cls(
            rules=rules,
            dampers=dampers,
            signals=signals,
            threshold=_weight(raw.get("threshold", 0.5), f"{path}: threshold"),
            model_weight=_weight(raw.get("model_weight", 1.0), f"{path}: model_weight"),
            model_reason=str(model.get("reason", "признаки срочности в тексте")),
            modifier_gate=_weight(raw.get("modifier_gate", 0.5), f"{path}: modifier_gate"),
        )


def _weight(value: Any, where: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
        raise DataError(f"{where}: expected a number between 0 and 1, got {value!r}")
    return float(value)


def _patterns(value: Any, where: str, required: bool = False) -> tuple[re.Pattern, ...]:
    if value is None and not required:
        return ()
    if not isinstance(value, list) or (required and not value):
        raise DataError(f"{where}: expected a non-empty list of regular expressions, got {value!r}")
    out = []
    for i, p in enumerate(value):
        try:
            out.append(re.compile(str(p)))
        except re.error as exc:
            raise DataError(f"{where}[{i}]: expected a regular expression, got {p!r} ({exc})") from None
    return tuple(out)


def _rule(raw: Any, where: str) -> Rule:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not isinstance(raw.get("reason"), str):
        raise DataError(f"{where}: expected a mapping with 'id', 'reason', 'weight', 'any', got {raw!r}")
    return Rule(
        id=raw["id"],
        reason=raw["reason"],
        weight=_weight(raw.get("weight"), f"{where}.weight"),
        any=_patterns(raw.get("any"), f"{where}.any", required=True),
        with_=_patterns(raw.get("with"), f"{where}.with"),
        unless=_patterns(raw.get("unless"), f"{where}.unless"),
        modifier=_flag(raw.get("modifier", False), f"{where}.modifier"),
    )


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise DataError(f"{where}: expected true or false, got {value!r}")
    return value


# ---------------------------------------------------------------------------- text model


class ImportanceModel(ClassifierMixin, BaseEstimator):
    """TF-IDF character n-grams (within words) + logistic regression; labels "normal"/"high".

    Input: texts, lower-cased with ё → е (`model.text.Text.lower`).
    """

    def __init__(self, ngram_range: tuple[int, int] = (2, 5), min_df: int = 1, C: float = 2.0,
                 max_features: int | None = 50000, random_state: int | None = 13):
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.C = C
        self.max_features = max_features
        self.random_state = random_state

    def fit(self, texts: list[str], y: list[str]) -> "ImportanceModel":
        labels = set(y)
        if not labels <= set(LEVELS) or len(labels) < 2:
            raise ValueError(f"expected labels {LEVELS} (both present), got {sorted(labels)}")
        if len(texts) != len(y):
            raise ValueError(f"expected as many texts as labels, got {len(texts)} and {len(y)}")
        self.vectorizer_ = TfidfVectorizer(analyzer="char_wb", ngram_range=self.ngram_range,
                                           min_df=self.min_df, sublinear_tf=True, lowercase=False,
                                           max_features=self.max_features)
        X = self.vectorizer_.fit_transform([lower_yo(t) for t in texts])
        self.clf_ = LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000,
                                       random_state=self.random_state)
        self.clf_.fit(X, y)
        self.classes_ = self.clf_.classes_
        return self

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        check_is_fitted(self, "clf_")
        return self.clf_.predict_proba(self.vectorizer_.transform([lower_yo(t) for t in texts]))

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_scorer", None)  # a per-process cache, rebuilt on first use
        return state

    def proba_high(self, texts: list[str], lowered: bool = False) -> np.ndarray:
        """P(high) per text; `lowered`: the texts are already `Text.lower` (the pipeline's case).

        The pipeline's path scores through `_CharNgramScorer` (per-word cached n-gram ids, the same
        numbers as the vectorizer + logistic regression, ~5x faster on real posts).
        """
        check_is_fitted(self, "clf_")
        if not lowered:
            texts = [lower_yo(t) for t in texts]
        scorer = self.__dict__.get("_scorer")
        if scorer is None:
            scorer = self.__dict__["_scorer"] = _CharNgramScorer(self.vectorizer_, self.clf_, "high")
        return scorer.proba(texts)

    def predict(self, texts: list[str]) -> np.ndarray:
        return np.where(self.proba_high(texts) >= 0.5, "high", "normal")


class _CharNgramScorer:
    """P(label) of a fitted char_wb TfidfVectorizer (sublinear tf, l2) + binary LogisticRegression,
    computed from per-word cached feature ids: char_wb n-grams never cross a word, so a word's ids
    are computed once per process, and a post costs one np.unique and two dot products."""

    def __init__(self, vectorizer: TfidfVectorizer, clf: LogisticRegression, label: str):
        if vectorizer.analyzer != "char_wb" or not vectorizer.sublinear_tf or vectorizer.norm != "l2" \
                or vectorizer.lowercase or vectorizer.preprocessor is not None or vectorizer.strip_accents:
            raise ValueError("expected a char_wb, sublinear-tf, l2 vectorizer without preprocessing")
        classes = list(clf.classes_)
        if len(classes) != 2 or label not in classes:
            raise ValueError(f"expected a binary classifier with the class {label!r}, got {classes}")
        self.vocabulary = vectorizer.vocabulary_
        self.min_n, self.max_n = vectorizer.ngram_range
        self.idf = vectorizer.idf_.astype(np.float64) if vectorizer.use_idf else np.ones(len(self.vocabulary))
        self.coef = clf.coef_[0].astype(np.float64)
        self.intercept = float(clf.intercept_[0])
        self.positive_is_label = classes[1] == label  # decision_function > 0 means classes_[1]
        self.white_spaces = re.compile(r"\s\s+")
        self._word_ids: dict[str, np.ndarray] = {}

    def word_ids(self, word: str) -> np.ndarray:
        ids = self._word_ids.get(word)
        if ids is None:
            w = f" {word} "
            grams = []
            for n in range(self.min_n, self.max_n + 1):
                if len(w) <= n:
                    grams.append(w)  # sklearn counts a word no longer than n once, whole, and stops
                    break
                grams.extend(w[i:i + n] for i in range(len(w) - n + 1))
            vocab = self.vocabulary
            ids = np.array([vocab[g] for g in grams if g in vocab], dtype=np.int64)
            # bounded (model.text.WORD_CACHE_SIZE; ×2: whitespace-split words have more forms);
            # emptied when full, the hot words are back at once
            if len(self._word_ids) >= 2 * WORD_CACHE_SIZE:
                self._word_ids.clear()
            self._word_ids[word] = ids
        return ids

    def proba(self, texts: list[str]) -> np.ndarray:
        out = np.empty(len(texts), dtype=np.float64)
        for k, text in enumerate(texts):
            words = self.white_spaces.sub(" ", text).split()
            pieces = [self.word_ids(w) for w in words]
            ids = np.concatenate(pieces) if pieces else np.empty(0, dtype=np.int64)
            if not len(ids):
                decision = self.intercept
            else:
                cols, counts = np.unique(ids, return_counts=True)
                values = (1.0 + np.log(counts)) * self.idf[cols]
                norm = float(np.sqrt(values @ values))
                decision = float(values @ self.coef[cols]) / norm + self.intercept
            p = 1.0 / (1.0 + np.exp(-decision))
            out[k] = p if self.positive_is_label else 1.0 - p
        return out


# ---------------------------------------------------------------------------- component


@dataclass
class Evidence:
    """What decided a post's importance (kept for explanations and evaluation)."""

    rule_ids: list[str]
    reasons: list[str]
    rule_score: float
    model_probability: float
    score: float


class ImportanceTagger:
    """Pipeline component: sets doc.importance = Importance(level, score, reasons)."""

    name = "importance"

    def __init__(self, lexicon: ImportanceLexicon, model: ImportanceModel | None = None):
        self.lexicon = lexicon
        self.model = model
        if model is None:
            log.info("importance: no text model given; rules only")

    @classmethod
    def from_data(cls, data_dir: Path | str = DATA_DIR, model: ImportanceModel | None = None) -> "ImportanceTagger":
        return cls(ImportanceLexicon.load(Path(data_dir) / "lexicons" / "importance.yaml"), model)

    # -- scoring

    def evidence(self, lower: str, model_probability: float, urgent_topic: bool = False,
                 engagement: Engagement | None = None, incident_size: int | None = None) -> Evidence:
        lex = self.lexicon
        fired: list[tuple[float, str, str]] = []  # (weight, id, reason)
        modifiers: list[tuple[float, str, str]] = []
        for rule in lex.rules:
            if rule.fires(lower):
                (modifiers if rule.modifier else fired).append((rule.weight, rule.id, rule.reason))
        sig = lex.signals
        if urgent_topic and "urgent_topic" in sig:
            fired.append((sig["urgent_topic"].weight, "urgent_topic", sig["urgent_topic"].reason))
        if engagement is not None and "engagement" in sig and _resonant(engagement, sig["engagement"].params):
            fired.append((sig["engagement"].weight, "engagement", sig["engagement"].reason))
        if incident_size is not None and "incident_size" in sig:
            if incident_size >= int(sig["incident_size"].params.get("min", 5)):
                fired.append((sig["incident_size"].weight, "incident_size", sig["incident_size"].reason))
        # children, vulnerable people, «срочно»: a reason, but weight only next to a primary signal
        # or when the text model leans to "high" on its own
        counted = fired + modifiers if (fired or model_probability >= lex.modifier_gate) else list(fired)
        fired = fired + modifiers
        keep = 1.0
        for weight, _, _ in counted:
            keep *= 1.0 - weight
        rule_score = 1.0 - keep
        p = lex.model_weight * model_probability
        score = 1.0 - keep * (1.0 - p)
        for damper in lex.dampers:
            if damper.fires(lower):
                score *= damper.factor
        fired.sort(key=lambda f: -f[0])
        reasons = [reason for _, _, reason in fired]
        if score >= lex.threshold and rule_score < lex.threshold:
            reasons.append(lex.model_reason)  # the text model tipped the balance
        return Evidence([i for _, i, _ in fired], list(dict.fromkeys(reasons)), rule_score, model_probability, score)

    def predict(self, docs: list[Doc]) -> list[Importance]:
        lowers = [doc.text.lower for doc in docs]
        if self.model is not None and docs:
            probs = self.model.proba_high(lowers, lowered=True).tolist()
        else:
            probs = [0.0] * len(docs)
        out = []
        for doc, lower, p in zip(docs, lowers, probs):
            size = doc.extras.get("incident_size")
            ev = self.evidence(
                lower, p,
                urgent_topic=bool(doc.topic is not None and doc.topic.urgent),
                engagement=doc.post.engagement,
                incident_size=size if isinstance(size, int) else None,
            )
            level = "high" if ev.score >= self.lexicon.threshold else "normal"
            out.append(Importance(level=level, score=round(ev.score, 4), reasons=ev.reasons))
        return out

    def set_annotations(self, docs: list[Doc], preds: list[Importance]) -> None:
        for doc, importance in zip(docs, preds):
            doc.importance = importance

    def __call__(self, docs: list[Doc]) -> None:
        self.set_annotations(docs, self.predict(docs))


def _resonant(engagement: Engagement, params: dict[str, Any]) -> bool:
    for key in ("reposts", "comments", "likes", "views"):
        value, limit = getattr(engagement, key, None), params.get(key)
        if value is not None and limit is not None and value >= limit:
            return True
    return False

"""A small learned threat-text model (artifact component "threat", trained by training/threat.py).

The rules of `model.threat` are precise but miss threats phrased in ways nobody listed. This model
adds recall: binary word features of a lower-cased post — each word form, its 5-letter stem, its
2-letter ending ("-ю", "-шь": who acts), and stem bigrams ("знать где", "не дожить") — scaled by
1/sqrt(#features), then logistic regressions:

- column 0, "threat-like": any of threat_official / threat_authority / call_to_violence / harm_intent;
- columns 1..4, one per reason, trained on threat-like posts only ("given a threat, which kind").

`AbuseDetector` ORs it with the rules: when the rules find no threat in a post and P(threat-like) ≥
`threshold`, the post gets the reason with the highest head probability, plus any other reason whose
head probability ≥ `extra_threshold`. Evidence: the sentence with the highest P(threat-like).

Cost: the features of a word are computed once per process (a dict), a batch is one sparse matrix
product; posts without a Cyrillic word of ≥ 3 letters are not scored at all. Sentences are scored (same batch)
only to pick the evidence.
"""
from __future__ import annotations

import re
from typing import Iterable

import numpy as np
import scipy.sparse as sp

from .threat import REASONS, words

_CYR3 = re.compile(r"[а-я]{3}")
_SENTENCE = re.compile(r"[^.!?…;\n]+[.!?…;]*")
_STEM = 5
_CACHE_LIMIT = 400_000


def word_features(word: str) -> list[str]:
    """The unigram features of one lower-case word."""
    out = ["w" + word]
    if len(word) > _STEM:
        out.append("p" + word[:_STEM])
    if len(word) >= 4:
        out.append("e" + word[-2:])
    return out


def text_features(lower: str) -> list[str]:
    """Every feature of a lower-case (ё → е) text: word features and stem bigrams."""
    ws = words(lower)  # every word holds a Cyrillic letter
    out: list[str] = []
    for w in ws:
        out.extend(word_features(w))
    stems = [w[:_STEM] for w in ws]
    out.extend("b" + a + " " + b for a, b in zip(stems, stems[1:]))
    return out


class ThreatModel:
    """Binary features → 1 threat-like logistic regression + 4 per-reason heads (see module doc)."""

    reasons = REASONS

    def __init__(self, vocabulary: dict[str, int], coef: np.ndarray, intercept: np.ndarray,
                 threshold: float = 0.5, extra_threshold: float = 1.01):
        self.vocabulary = vocabulary
        self.coef = sp.csr_matrix(coef.astype(np.float32))  # (n_features, 5)
        self.intercept = intercept.astype(np.float32)  # (5,)
        self.threshold = float(threshold)
        self.extra_threshold = float(extra_threshold)
        self._words: dict[str, tuple[tuple[int, ...], str]] = {}

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_words"] = {}
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._words = {}

    # ------------------------------------------------------------ features

    @staticmethod
    def matrix(feature_lists: Iterable[list[str]], vocabulary: dict[str, int]) -> sp.csr_matrix:
        """Training-time matrix: binary features of each text, scaled by 1/sqrt(#features)."""
        rows, values, indptr = [], [], [0]
        for feats in feature_lists:
            cols = sorted({vocabulary[f] for f in feats if f in vocabulary})
            rows.extend(cols)
            values.extend([1.0 / np.sqrt(max(len(feats), 1))] * len(cols))
            indptr.append(len(rows))
        return sp.csr_matrix((np.asarray(values, np.float32), np.asarray(rows, np.int32), np.asarray(indptr)),
                             shape=(len(indptr) - 1, len(vocabulary)))

    def _word(self, w: str) -> tuple[tuple[int, ...], str]:
        got = self._words.get(w)
        if got is None:
            voc = self.vocabulary
            got = (tuple(voc[f] for f in word_features(w) if f in voc), w[:_STEM])
            if len(self._words) > _CACHE_LIMIT:
                self._words.clear()
            self._words[w] = got
        return got

    def _row(self, lower: str) -> tuple[list[int], int]:
        """The column ids of a text and its number of generated features (same as `text_features`)."""
        voc = self.vocabulary
        cols: list[int] = []
        stems: list[str] = []
        n = 0
        for w in words(lower):  # every word holds a Cyrillic letter
            ids, stem = self._word(w)
            cols.extend(ids)
            n += 1 + (len(w) > _STEM) + (len(w) >= 4)
            stems.append(stem)
        for a, b in zip(stems, stems[1:]):
            j = voc.get("b" + a + " " + b)
            if j is not None:
                cols.append(j)
        n += max(len(stems) - 1, 0)
        return sorted(set(cols)), n

    # ------------------------------------------------------------ scoring

    def predict_proba(self, lowers: list[str]) -> np.ndarray:
        """(n, 5) probabilities: threat-like, then one per reason (REASONS order). Texts are lower-case."""
        out = np.zeros((len(lowers), 1 + len(REASONS)), dtype=np.float32)
        if not lowers:
            return out
        indices: list[int] = []
        values: list[float] = []
        indptr = [0]
        for lower in lowers:
            cols, n = self._row(lower)
            indices.extend(cols)
            values.extend([1.0 / np.sqrt(max(n, 1))] * len(cols))
            indptr.append(len(indices))
        x = sp.csr_matrix((np.asarray(values, np.float32), np.asarray(indices, np.int32), np.asarray(indptr)),
                          shape=(len(lowers), len(self.vocabulary)))
        z = (x @ self.coef).toarray() + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    @staticmethod
    def eligible(lower: str) -> bool:
        """Worth scoring: at least one Cyrillic word of 3+ letters."""
        return _CYR3.search(lower) is not None

    def reasons_for(self, proba_row: np.ndarray) -> list[str]:
        """The reasons a threat-like post gets: the best head, plus heads ≥ extra_threshold."""
        heads = proba_row[1:]
        best = int(np.argmax(heads))
        return [r for k, r in enumerate(REASONS) if k == best or heads[k] >= self.extra_threshold]

    def sentence_spans(self, lower: str) -> list[tuple[int, int]]:
        """Clean-text ranges of the sentences worth scoring (whitespace trimmed)."""
        spans = []
        for m in _SENTENCE.finditer(lower):
            a, b = m.start(), m.end()
            while a < b and lower[a].isspace():
                a += 1
            while b > a and lower[b - 1].isspace():
                b -= 1
            if b > a and _CYR3.search(lower, a, b):
                spans.append((a, b))
        return spans

    def score_docs(self, lowers: list[str]) -> list[tuple[np.ndarray, tuple[int, int]]]:
        """Per text: its probability row (the whole post decides: scoring each sentence and taking the
        max lowered CV recall at the same false-alarm rate and fired on 15 real appeals instead of 2)
        and the clean range of its most threat-like sentence (the evidence). One batch for all texts."""
        proba = self.predict_proba(lowers)
        spans = [self.sentence_spans(lower) if row[0] >= self.threshold else [] for lower, row in zip(lowers, proba)]
        # sentences are scored only in the (rare) posts that fire, one batch for all of them
        units = [lower[a:b] for lower, sp_ in zip(lowers, spans) if len(sp_) > 1 for a, b in sp_]
        unit_p = self.predict_proba(units)[:, 0] if units else np.zeros(0)
        out, pos = [], 0
        for lower, row, sp_ in zip(lowers, proba, spans):
            if len(sp_) > 1:
                best = sp_[int(np.argmax(unit_p[pos : pos + len(sp_)]))]
                pos += len(sp_)
            else:
                best = sp_[0] if sp_ else (0, len(lower))
            out.append((row, best))
        return out

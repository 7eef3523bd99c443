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
product (up to `FEW_ROWS` posts: `model.linear.rows_dot`, the same sums without building the
matrix, so the probabilities are the same to the bit); posts without a Cyrillic word of
≥ 3 letters are not scored at all. Sentences are scored (same batch) only to pick the evidence.
"""
from __future__ import annotations

import math
import re
from itertools import chain
from typing import Iterable

import numpy as np
import scipy.sparse as sp

from .linear import rows_dot
from .text import WORD_CACHE_SIZE
from .threat import REASONS, words

_CYR3 = re.compile(r"[а-я]{3}")
_SENTENCE = re.compile(r"[^.!?…;\n]+[.!?…;]*")
_STEM = 5
_CACHE_LIMIT = WORD_CACHE_SIZE
FEW_ROWS = 8  # batches up to this many texts are scored with rows_dot, not a sparse product
_NO_BIGRAMS: dict[str, int] = {}


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
        self._init_caches()

    def _init_caches(self) -> None:
        # derived at first use, never pickled (the artifact holds vocabulary, coef and intercept)
        self._words: dict[str, tuple[tuple[int, ...], str, int]] = {}
        self._bigrams: dict[str, dict[str, int]] | None = None  # stem a → stem b → column of "ba b"

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        for derived in ("_words", "_bigrams"):
            state.pop(derived, None)
        state["_words"] = {}
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._init_caches()

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

    def _bigram_index(self) -> dict[str, dict[str, int]]:
        """The vocabulary's stem bigrams ("b" + a + " " + b) as a → b → column: a lookup of two
        words' stems then needs no new string (stems hold no space, so the split is unique)."""
        if self._bigrams is None:
            index: dict[str, dict[str, int]] = {}
            for feature, j in self.vocabulary.items():
                if feature.startswith("b") and feature.count(" ") == 1:
                    a, b = feature[1:].split(" ")
                    index.setdefault(a, {})[b] = j
            self._bigrams = index
        return self._bigrams

    def _word(self, w: str) -> tuple[tuple[int, ...], str, int]:
        """A word's columns, its stem and its number of features; cached, posts repeat their words
        (tuples of plain values: the garbage collector stops walking them)."""
        got = self._words.get(w)
        if got is None:
            voc = self.vocabulary
            features = word_features(w)
            got = (tuple(voc[f] for f in features if f in voc), w[:_STEM], len(features))
            if len(self._words) > _CACHE_LIMIT:
                self._words.clear()
            self._words[w] = got
        return got

    def _row(self, lower: str, ws: list[str] | None = None) -> tuple[list[int], int]:
        """The column ids of a text and its number of generated features (same as `text_features`);
        `ws`: the text's `words(lower)` when the caller has them already."""
        if ws is None:
            ws = words(lower)  # every word holds a Cyrillic letter
        cache = self._words
        bigrams = self._bigram_index()
        cols: list[int] = []
        n = 0
        following: dict[str, int] = _NO_BIGRAMS  # bigram columns after the previous word's stem
        for w in ws:
            got = cache.get(w)
            if got is None:
                got = self._word(w)
            ids, stem, k = got
            cols.extend(ids)
            n += k
            if following:
                j = following.get(stem)
                if j is not None:
                    cols.append(j)
            following = bigrams.get(stem, _NO_BIGRAMS)
        n += max(len(ws) - 1, 0)  # the stem bigrams
        return sorted(set(cols)), n

    # ------------------------------------------------------------ scoring

    def predict_proba(self, lowers: list[str], word_lists: list[list[str]] | None = None) -> np.ndarray:
        """(n, 5) probabilities: threat-like, then one per reason (REASONS order). Texts are lower-case;
        `word_lists`, when given, are their `words(lower)`."""
        out = np.zeros((len(lowers), 1 + len(REASONS)), dtype=np.float32)
        if not lowers:
            return out
        rows = [self._row(lower, None if word_lists is None else word_lists[i]) for i, lower in enumerate(lowers)]
        # binary features scaled by 1/sqrt(#features), as float32 (the training matrix's values)
        scales = np.asarray([1.0 / math.sqrt(max(n, 1)) for _, n in rows], dtype=np.float64).astype(np.float32)
        if len(rows) <= FEW_ROWS:
            z = rows_dot([(np.asarray(cols, dtype=np.int64), np.full(len(cols), scale, dtype=np.float32))
                          for (cols, _), scale in zip(rows, scales)], self.coef)
        else:
            lengths = [len(cols) for cols, _ in rows]
            indptr = np.zeros(len(rows) + 1, dtype=np.int64)
            np.cumsum(lengths, out=indptr[1:])
            indices = np.fromiter(chain.from_iterable(cols for cols, _ in rows), dtype=np.int32, count=int(indptr[-1]))
            x = sp.csr_matrix((np.repeat(scales, lengths), indices, indptr), shape=(len(lowers), len(self.vocabulary)))
            z = (x @ self.coef).toarray()
        z = z + self.intercept
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

    def score_docs(self, lowers: list[str], word_lists: list[list[str]] | None = None) -> list[tuple[np.ndarray, tuple[int, int]]]:
        """Per text: its probability row (the whole post decides: scoring each sentence and taking the
        max lowered CV recall at the same false-alarm rate and fired on 15 real appeals instead of 2)
        and the clean range of its most threat-like sentence (the evidence). One batch for all texts;
        `word_lists`: the texts' `words(lower)` when the caller has them."""
        proba = self.predict_proba(lowers, word_lists)
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

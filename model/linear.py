"""Text features and small calibrated linear scorers shared by the topic and route components.

`TextFeaturizer`: hashed TF-IDF over character n-grams (robust to typos, informal spelling and
unseen word forms) and over word lemmas (uni- and bigrams; pymorphy through `model.text.lemmatize`).
Hashing keeps the artifact small (no vocabulary) and the transform stateless apart from the IDF.

`LinearScorer`: a multi-class linear model trained with scikit-learn, then pruned to its largest
weights (stored sparse, float32) and calibrated by temperature scaling: p = softmax(decision / T),
with T fitted on out-of-fold decisions. Inference is one sparse matrix product, so batches are fast.
"""
from __future__ import annotations

import logging
import re
import warnings
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.svm import LinearSVC
from sklearn.utils import murmurhash3_32
from sklearn.utils.validation import check_is_fitted

from .text import WORD_CACHE_SIZE, lemmatize

log = logging.getLogger(__name__)

_WORD = re.compile(r"[а-яa-z0-9]+")
# up to this many posts, `TextFeaturizer.rows` and `rows_dot` replace the sparse matrices
FEW = 4


def lemma_string(lower: str) -> str:
    """Space-joined lemmas of the words of an already lower-cased (ё → е) text."""
    return " ".join(lemmatize(w) for w in _WORD.findall(lower))


@lru_cache(maxsize=2 * WORD_CACHE_SIZE)  # shared by the topic and route featurizers
def _word_features(word: str, char_bits: int, n_min: int, n_max: int, word_bits: int) -> tuple[np.ndarray, int, str]:
    """A word's hashed char n-grams (of " word ", like char_wb), its hashed lemma, and the lemma.

    Posts repeat words all the time, so the n-grams of a word are computed once per process: this
    is what makes the featurizer fast (tens of microseconds per post).
    """
    padded = f" {word} "
    grams = [padded[i:i + n] for n in range(n_min, n_max + 1) for i in range(len(padded) - n + 1)]
    if not grams:
        grams = [padded]
    mask = (1 << char_bits) - 1
    idx = np.array([murmurhash3_32(g, positive=True) & mask for g in grams], dtype=np.int32)
    lemma = lemmatize(word)
    return idx, murmurhash3_32(lemma, positive=True) & ((1 << word_bits) - 1), lemma


class TextFeaturizer(TransformerMixin, BaseEstimator):
    """Hashed, IDF-weighted char n-grams (within words) + word-lemma uni/bigrams of lower-cased texts.

    Input texts are `Text.lower` (lower-case, ё → е). The two blocks are weighted separately, each
    l2-normalized, then joined: char block in columns [0, 2**char_bits), lemma block after it.
    """

    def __init__(self, char_bits: int = 18, word_bits: int = 18, char_ngrams: tuple[int, int] = (3, 5),
                 word_bigrams: bool = True, word_weight: float = 1.0, min_df: int = 2):
        self.char_bits = char_bits
        self.word_bits = word_bits
        self.char_ngrams = char_ngrams
        self.word_bigrams = word_bigrams
        self.word_weight = word_weight
        self.min_df = min_df

    def _hashed(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """A text's hashed char n-gram and lemma (uni/bigram) columns, repeats included."""
        n_min, n_max = self.char_ngrams
        feats = [_word_features(w, self.char_bits, n_min, n_max, self.word_bits) for w in _WORD.findall(text)]
        chars = np.concatenate([f[0] for f in feats]) if feats else np.empty(0, np.int32)
        words = [f[1] for f in feats]
        if self.word_bigrams and len(feats) > 1:
            word_mask = (1 << self.word_bits) - 1
            words += [murmurhash3_32(f"{a[2]} {b[2]}", positive=True) & word_mask for a, b in zip(feats, feats[1:])]
        return chars, np.asarray(words, dtype=np.int32)

    def _counts(self, texts: list[str]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        hashed = [self._hashed(text) for text in texts]
        return (self._csr([c for c, _ in hashed], 1 << self.char_bits),
                self._csr([w for _, w in hashed], 1 << self.word_bits))

    @staticmethod
    def _csr(rows: list[np.ndarray], n_features: int) -> sp.csr_matrix:
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(r) for r in rows], out=indptr[1:])
        indices = np.concatenate(rows) if rows else np.empty(0, np.int32)
        m = sp.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, indptr), shape=(len(rows), n_features))
        m.sum_duplicates()
        return m

    @staticmethod
    def _idf(counts: sp.csr_matrix, min_df: int) -> np.ndarray:
        n = counts.shape[0]
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        idf = np.log((1 + n) / (1 + df)) + 1.0
        # buckets seen in fewer than min_df documents carry no weight: one-off n-grams are noise
        idf[df < min_df] = 0.0
        return idf.astype(np.float32)

    def fit(self, texts: list[str], y=None) -> "TextFeaturizer":
        char, word = self._counts(list(texts))
        self.char_idf_ = self._idf(char, self.min_df)
        self.word_idf_ = self._idf(word, self.min_df)
        return self

    @staticmethod
    def _weigh(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
        counts.data = np.log1p(counts.data) * idf[counts.indices]
        return l2_normalize_rows(counts)

    def transform(self, texts: list[str]) -> sp.csr_matrix:
        check_is_fitted(self, "char_idf_")
        char, word = self._counts(list(texts))
        word = self._weigh(word, self.word_idf_)
        word.data *= self.word_weight
        x = sp.hstack([self._weigh(char, self.char_idf_), word], format="csr", dtype=np.float32)
        return l2_normalize_rows(x)

    @property
    def n_features(self) -> int:
        return 2 ** self.char_bits + 2 ** self.word_bits

    def rows(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """`transform(texts)` as (sorted column indices, float32 values) per text, without scipy:
        for the one post of a service request, building sparse matrices cost more than the work.
        Same arithmetic in the same order, so the values are bit-identical (tested)."""
        check_is_fitted(self, "char_idf_")
        offset = 1 << self.char_bits
        out = []
        for text in texts:
            chars, words = self._hashed(text)
            (ci, cc), (wi, wc) = _unique_counts(chars), _unique_counts(words)
            cv = _l2(np.log1p(cc) * self.char_idf_[ci])
            wv = _l2(np.log1p(wc) * self.word_idf_[wi])
            wv *= self.word_weight
            out.append((np.concatenate([ci.astype(np.int64), wi.astype(np.int64) + offset]),
                        _l2(np.concatenate([cv, wv]))))
        return out



def _unique_counts(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ids, counts = np.unique(indices, return_counts=True)
    return ids, counts.astype(np.float32)


def _l2(values: np.ndarray) -> np.ndarray:
    """l2_normalize_rows of one row (the same float64 sum, taken the same way)."""
    if not len(values):
        return values.astype(np.float32)
    norm = np.sqrt(np.add.reduceat(np.append(values.astype(np.float64) ** 2, 0.0), [0])[0])
    if norm == 0:
        return values.astype(np.float32)
    return (values / np.float32(norm)).astype(np.float32)


def rows_dot(rows: list[tuple[np.ndarray, np.ndarray]], weights_t: sp.csr_matrix) -> np.ndarray:
    """`(X @ weights_t).toarray()` for X given as `TextFeaturizer.rows`, weights_t features × classes
    (CSR, float32): the same float32 sums in scipy's order, without building X."""
    n_classes = weights_t.shape[1]
    indptr, indices, data = weights_t.indptr, weights_t.indices, weights_t.data
    out = np.zeros((len(rows), n_classes), dtype=np.result_type(data.dtype, np.float32))
    for r, (cols, vals) in enumerate(rows):
        starts, ends = indptr[cols], indptr[cols + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if not total:
            continue
        # positions of every weight of every used feature row, in feature order
        pos = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
        np.add.at(out[r], indices[pos], np.repeat(vals, lengths) * data[pos])
    return out


def l2_normalize_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    """In-place l2 normalization of a CSR matrix's rows (sklearn's `normalize` does the same with
    input checks that cost more than the work on one post)."""
    lengths = np.diff(m.indptr)
    # a trailing 0 lets empty rows at the end point at a valid index; reduceat gives an empty row
    # the value at its start, so those are zeroed
    squares = np.append(m.data.astype(np.float64) ** 2, 0.0)
    sq = np.add.reduceat(squares, m.indptr[:-1]) if m.shape[0] else np.zeros(0)
    sq[lengths == 0] = 0.0
    norms = np.sqrt(sq)
    norms[norms == 0] = 1.0
    m.data /= np.repeat(norms, lengths).astype(m.data.dtype)
    return m


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def fit_temperature(decisions: np.ndarray, classes: np.ndarray, y, sample_weight: np.ndarray | None = None) -> float:
    """The T minimizing the (weighted) log loss of softmax(decisions / T) on held-out rows."""
    index = {c: i for i, c in enumerate(classes)}
    y = list(y)
    rows = np.array([i for i, v in enumerate(y) if v in index], dtype=int)
    if len(rows) < 10:
        return 1.0
    y_idx = np.array([index[y[i]] for i in rows])
    d = decisions[rows]
    w = np.ones(len(rows)) if sample_weight is None else np.asarray(sample_weight, dtype=float)[rows]

    def nll(log_t: float) -> float:
        p = softmax(d / np.exp(log_t))
        return -float(np.sum(w * np.log(p[np.arange(len(rows)), y_idx] + 1e-12)) / w.sum())

    res = minimize_scalar(nll, bounds=(-5.0, 3.0), method="bounded")
    return float(np.exp(res.x))


class LinearScorer(BaseEstimator):
    """Pruned, temperature-calibrated multi-class linear model (see the module docstring).

    C: the LinearSVC regularization; keep: how many weights per class survive pruning (the
    largest by magnitude). The temperature is 1 after `fit`; `calibrate(X, y)` fits it on held-out
    data (the trainer uses the time/author-split test part, never the training rows).
    """

    def __init__(self, C: float = 0.5, keep: int = 3000, solver: str = "svm", max_iter: int = 30,
                 random_state: int = 13):
        self.C = C
        self.keep = keep
        self.solver = solver
        self.max_iter = max_iter
        self.random_state = random_state

    def _estimator(self, n: int):
        if self.solver == "svm":
            # liblinear reaches its final accuracy on our data within ~20 passes; more only costs time
            return LinearSVC(C=self.C, tol=1e-3, random_state=self.random_state, dual=True, max_iter=self.max_iter)
        if self.solver == "sgd":
            # the same hinge objective as LinearSVC (alpha = 1 / (C n)) by SGD epochs; a few points
            # less accurate here, kept for very large training sets
            return SGDClassifier(loss="hinge", alpha=1.0 / (self.C * n), max_iter=self.max_iter, tol=None,
                                 average=True, random_state=self.random_state, n_jobs=1)
        raise ValueError(f"solver: expected 'svm', 'sgd' or 'centroid', got {self.solver!r}")

    def fit(self, X: sp.csr_matrix, y, sample_weight: np.ndarray | None = None) -> "LinearScorer":
        y = np.asarray(y, dtype=object)
        self.classes_ = np.array(sorted(set(y.tolist())), dtype=object)
        if len(self.classes_) < 2:
            raise ValueError(f"expected at least 2 classes to fit, got {len(self.classes_)}")
        if self.solver == "centroid":
            return self._fit_centroids(X, y, sample_weight)
        svm = self._estimator(X.shape[0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is capped on purpose
            # small groups have many topics with one example each: fine for us, not a regression
            warnings.filterwarnings("ignore", message="The number of unique classes is greater than 50%")
            svm.fit(X, y, sample_weight=sample_weight)
        coef = np.asarray(svm.coef_, dtype=np.float32)
        intercept = np.asarray(svm.intercept_, dtype=np.float32)
        if coef.shape[0] == 1:  # binary: liblinear returns one row, for the second class
            coef = np.vstack([-coef, coef]) / 2
            intercept = np.array([-intercept[0], intercept[0]], dtype=np.float32) / 2
        self.coef_ = self._prune(coef)
        self.intercept_ = intercept
        self.temperature_ = 1.0
        return self

    def _fit_centroids(self, X: sp.csr_matrix, y: np.ndarray, sample_weight) -> "LinearScorer":
        """Rocchio: each class is the l2-normalized (weighted) mean of its rows; one sparse product,
        so it trains in well under a second where one-vs-rest SVMs over 100+ classes take minutes."""
        index = {c: i for i, c in enumerate(self.classes_)}
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        Y = sp.csr_matrix((w, ([index[v] for v in y], np.arange(len(y)))), shape=(len(self.classes_), len(y)))
        centroids = l2_normalize_rows((Y @ X).tocsr().astype(np.float32))
        self.coef_ = self._prune_sparse(centroids)
        self.intercept_ = np.zeros(len(self.classes_), dtype=np.float32)
        self.temperature_ = 1.0
        return self

    def _prune_sparse(self, coef: sp.csr_matrix) -> sp.csr_matrix:
        if not self.keep:
            return coef
        rows = []
        for i in range(coef.shape[0]):
            row = coef.getrow(i)
            if row.nnz > self.keep:
                cut = np.partition(np.abs(row.data), -self.keep)[-self.keep]
                row.data[np.abs(row.data) < cut] = 0
                row.eliminate_zeros()
            rows.append(row)
        return sp.vstack(rows, format="csr", dtype=np.float32)

    def _prune(self, coef: np.ndarray) -> sp.csr_matrix:
        # only columns with a non-zero weight compete (most hashed buckets never occur in training)
        used = np.flatnonzero(np.any(coef != 0, axis=0))
        sub = coef[:, used]
        if self.keep and sub.shape[1] > self.keep:
            cut = np.partition(np.abs(sub), -self.keep, axis=1)[:, -self.keep][:, None]
            sub = np.where(np.abs(sub) >= cut, sub, 0.0).astype(np.float32)
        out = sp.csr_matrix(sub, dtype=np.float32)
        out.indices = used[out.indices].astype(out.indices.dtype)
        return sp.csr_matrix((out.data, out.indices, out.indptr), shape=coef.shape)

    def calibrate(self, X: sp.csr_matrix, y, sample_weight: np.ndarray | None = None) -> "LinearScorer":
        """Fit the softmax temperature on held-out rows (labels unknown to the model are skipped)."""
        self.temperature_ = fit_temperature(self.decision_function(X), self.classes_, y, sample_weight)
        return self

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())
        state.pop("_coef_t", None)  # derived at first use; not worth its bytes in the artifact
        return state

    def decision_function(self, X: sp.csr_matrix) -> np.ndarray:
        check_is_fitted(self, "coef_")
        if getattr(self, "_coef_t", None) is None:
            # features × classes in CSR: X @ W.T would convert W.T to CSR on every call
            self._coef_t = self.coef_.T.tocsr()
        return (X @ self._coef_t).toarray() + self.intercept_

    def predict_proba_rows(self, rows: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """`predict_proba` for X given as `TextFeaturizer.rows` (a few posts: no matrix built;
        no `check_is_fitted`, which costs more than the product for one post)."""
        if getattr(self, "_coef_t", None) is None:
            check_is_fitted(self, "coef_")
            self._coef_t = self.coef_.T.tocsr()
        return softmax((rows_dot(rows, self._coef_t) + self.intercept_) / self.temperature_)

    def predict_proba(self, X: sp.csr_matrix) -> np.ndarray:
        return softmax(self.decision_function(X) / self.temperature_)

    def predict(self, X: sp.csr_matrix) -> np.ndarray:
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]

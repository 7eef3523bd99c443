"""Experiment (stop 17, not shipped): does a word-embedding feature help the learned threat model?

    OMP_NUM_THREADS=1 .venv/bin/python -m training.threat_embedding [--alphas 0 0.5 0.7 1] [--score]

The threat model (`training/threat.py`) sees words, stems, endings and stem bigrams, so a veiled
threat in words it never saw gets little from it. Here each text also gets the mean of its words'
navec vectors (natasha's own news embedding, shipped inside the natasha package: nothing is
downloaded), scaled to unit length and by `alpha`, next to the sparse features in the same logistic
regressions. Prints, per alpha, the grouped-CV numbers `training/threat.py` reports (threshold under
the same clean false-alarm budget, threat-like F1, reasons micro-F1 of the model alone). With
--score, fits on everything with alpha 0 and the best CV alpha and prints how often each fires on
the 50,827 real appeals and its rules-OR-model micro-F1 on abuse_blind7 and abuse_blind8.

Result (docs/components/abuse.md, round 8): CV improves (reasons micro 0.748 → 0.798 at alpha 0.7)
but the new writers' sets do not (blind8 0.741 → 0.739) and real appeals fire 3 times instead of
once, so the shipped model has no embedding feature (it would also cost ~100 MB of RAM a worker).
"""
from __future__ import annotations

import argparse
import json
import logging
from collections import Counter
from pathlib import Path

import natasha  # noqa: F401 - before pymorphy2 (see README); its package holds the navec file
import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold

from model.paths import DATA_DIR, SHARED_DATA_DIR
from model.text import lower_yo
from model.threat import REASONS, words
from model.threat_model import ThreatModel, text_features

from . import threat as T

log = logging.getLogger(__name__)
NAVEC = Path(natasha.__file__).parent / "data" / "emb" / "navec_news_v1_1B_250K_300d_100q.tar"


class MeanVector:
    """Unit-length mean navec vector of a text's words (zeros when none is known)."""

    def __init__(self, path: Path = NAVEC):
        from navec import Navec

        self.navec = Navec.load(str(path))
        self._cache: dict[str, np.ndarray | None] = {}

    def __call__(self, text: str) -> np.ndarray:
        found = []
        for w in words(lower_yo(text)):
            if w not in self._cache:
                self._cache[w] = self.navec.get(w)
            if self._cache[w] is not None:
                found.append(self._cache[w])
        if not found:
            return np.zeros(300, np.float32)
        mean = np.mean(found, axis=0)
        norm = np.linalg.norm(mean)
        return (mean / norm if norm else mean).astype(np.float32)


def _logreg() -> LogisticRegression:
    return LogisticRegression(C=T.C, class_weight="balanced", solver="liblinear", max_iter=2000, random_state=13)


def fit(feats, dense, y_any, y_reasons, alpha: float):
    """(a function texts' (features, dense rows) → matrix, [threat-like head, 4 reason heads])."""
    df = Counter(f for fs in feats for f in set(fs))
    vocabulary = {f: k for k, f in enumerate(sorted(f for f, n in df.items() if n >= T.MIN_DF))}

    def matrix(fs, ds):
        x = ThreatModel.matrix(fs, vocabulary)
        return sp.hstack([x, sp.csr_matrix(alpha * ds)]).tocsr() if alpha else x

    x = matrix(feats, dense)
    pos = np.flatnonzero(y_any == 1)
    heads = [_logreg().fit(x, y_any)]
    for k in range(len(REASONS)):
        yk = y_reasons[pos, k]
        # a reason with no (or only) examples among the threat-like posts: a constant head, as in T._fit
        heads.append(_logreg().fit(x[pos], yk) if 0 < yk.sum() < len(yk) else _Constant(float(yk.mean() if len(yk) else 0)))
    return matrix, heads


class _Constant:
    def __init__(self, p: float):
        self.p = p

    def predict_proba(self, x) -> np.ndarray:
        return np.tile([1 - self.p, self.p], (x.shape[0], 1))


def proba(matrix, heads, fs, ds) -> np.ndarray:
    x = matrix(fs, ds)
    return np.column_stack([h.predict_proba(x)[:, 1] for h in heads])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--alphas", type=float, nargs="+", default=[0.0, 0.5, 0.7, 1.0])
    ap.add_argument("--score", action="store_true", help="also real appeals and the blind sets, alpha 0 and the best")
    args = ap.parse_args()
    embed = MeanVector()
    rows = T.training_rows(SHARED_DATA_DIR)
    texts, gold, y_any, y_reasons, groups = rows.texts, rows.gold, rows.y_any, rows.y_reasons, rows.groups
    n_lab = len(rows.labelled)
    feats = [text_features(lower_yo(t)) for t in texts]
    dense = np.stack([embed(t) for t in texts])
    lab = rows.source == "labelled"
    results = {}
    for alpha in args.alphas:
        oof = np.zeros((len(texts), 1 + len(REASONS)))
        cv = StratifiedGroupKFold(n_splits=T.FOLDS, shuffle=True, random_state=13)
        for tr, te in cv.split(np.zeros(len(texts)), np.where(lab, y_any, 2), groups):
            matrix, heads = fit([feats[i] for i in tr], dense[tr], y_any[tr], y_reasons[tr], alpha)
            oof[te] = proba(matrix, heads, [feats[i] for i in te], dense[te])
        threshold = T.best_threshold(oof[:, 0], y_any, lab)
        pred = oof[:, 0] >= threshold
        threat_like = T._prf(int((pred & (y_any == 1) & lab).sum()), int((pred & (y_any == 0) & lab).sum()),
                             int((~pred & (y_any == 1)).sum()))["f1"]
        model_only = [{REASONS[int(np.argmax(row[1:]))]} if row[0] >= threshold else set() for row in oof[:n_lab]]
        results[alpha] = {"threshold": threshold, "threat_like_f1": threat_like,
                          "reasons_micro_model_only": T._micro(gold[:n_lab], model_only)}
        print(f"alpha {alpha}: {json.dumps(results[alpha])}", flush=True)
    if not args.score:
        return
    from .evaluate_abuse import load_eval, real_texts

    best_alpha = max(results, key=lambda a: results[a]["reasons_micro_model_only"]["f1"])
    real = real_texts()
    real_feats, real_dense = [text_features(lower_yo(t)) for t in real], np.stack([embed(t) for t in real])
    blind = {}
    for name in ("abuse_blind7", "abuse_blind8"):
        rows = load_eval(DATA_DIR / "eval" / f"{name}.jsonl")
        blind[name] = ([r["text"] for r in rows], [{x for x in r["labels"] if x in REASONS} for r in rows])
    rules = {name: T._rules(tx) for name, (tx, _) in blind.items()}
    for alpha in sorted({0.0, best_alpha}):
        matrix, heads = fit(feats, dense, y_any, y_reasons, alpha)
        threshold = results.get(alpha, {}).get("threshold", 0.87)
        fired = int((proba(matrix, heads, real_feats, real_dense)[:, 0] >= threshold).sum())
        line = {"real_appeals_fired_model_only": fired}
        for name, (tx, g) in blind.items():
            p = proba(matrix, heads, [text_features(lower_yo(t)) for t in tx], np.stack([embed(t) for t in tx]))
            model_only = [{REASONS[int(np.argmax(row[1:]))]} if row[0] >= threshold else set() for row in p]
            line[name] = T._micro(g, [r if r else m for r, m in zip(rules[name], model_only)])["f1"]
        print(f"alpha {alpha} (threshold {threshold}): {json.dumps(line)}", flush=True)


if __name__ == "__main__":
    main()

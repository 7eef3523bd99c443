"""Train the learned threat-text model (artifact component "threat", `model.threat_model.ThreatModel`).

Data:
- positives and hard negatives: our hand-written labelled sets — data/eval/abuse_threats,
  abuse_insults, abuse_hard_negatives, abuse_round2, abuse_blind, abuse_round3, abuse_blind2 (blind
  until it was scored in stop 12), abuse_blind3 … abuse_blind5 (each blind until it was scored in
  stop 16; training data since), data/examples/abuse_train, threats_train2 … 5 (450, 500, 500 and
  450 posts written for training: veiled threats, the kinds told apart, veiled threats to named
  officials, and their near negatives) and threats_neutral_places (45 plain
  complaints naming an administration building, an official's car, house or dacha: the words the
  veiled threats are about, in the sense real appeals use them);
  abuse_blind6 … abuse_blind8 (the development set of the stop-20 rules) and threats_train6 (450
  posts: harm intent, threats inside long complaints, insults and harsh criticism) since round 10;
  NOT abuse_blind9 … abuse_blind12, the current blind sets, never trained or tuned on;
  a post is "threat-like" when it has any of the four threat reasons;
- clean negatives (shared data, never copied): a seeded sample of real portal appeals (SPb + Kursk;
  they hold essentially no threats), RUSSE neutral rewrites and non-toxic 2ch/pikabu comments.

Model: binary word / stem / ending / stem-bigram features (model.threat_model) → logistic regression
(class_weight balanced) for threat-like, plus four per-reason heads fitted on threat-like posts.
Thresholds come from grouped cross-validation on the training rows (near-duplicate labelled texts,
word-set Jaccard ≥ 0.5, and a RUSSE pair stay in one fold): `threshold` maximizes the threat-like F1
of the labelled posts out of fold while allowing at most MAX_CLEAN_FP_RATE false alarms on the clean
negatives; `extra_threshold` (a second reason) maximizes out-of-fold micro-F1 of the four reasons.
"""
from __future__ import annotations

import logging
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold

from model.doc import Doc
from model.paths import DATA_DIR
from model.records import Post
from model.text import lower_yo
from model.threat import REASONS
from model.threat_model import ThreatModel, text_features

from .base import TrainedComponent, data_hashes

log = logging.getLogger(__name__)

NAME = "threat"
LABELLED = ("eval/abuse_threats.jsonl", "eval/abuse_insults.jsonl", "eval/abuse_hard_negatives.jsonl",
            "eval/abuse_round2.jsonl", "eval/abuse_blind.jsonl", "eval/abuse_round3.jsonl",
            "eval/abuse_blind2.jsonl", "eval/abuse_blind3.jsonl", "eval/abuse_blind4.jsonl",
            "eval/abuse_blind5.jsonl", "examples/abuse_train.jsonl", "examples/threats_train2.jsonl",
            "examples/threats_train3.jsonl", "examples/threats_train4.jsonl", "examples/threats_train5.jsonl",
            "examples/threats_neutral_places.jsonl", "eval/abuse_blind6.jsonl", "eval/abuse_blind7.jsonl",
            "eval/abuse_blind8.jsonl", "examples/threats_train6.jsonl")
# Round 10 (stop 21): abuse_blind6 … abuse_blind8 and threats_train6 joined LABELLED, and the clean
# appeals went from 8,000 to 16,000 (rounds 7 and 8 had kept them out for extra real-appeal false
# alarms; the shipping rule of round 10, written before abuse_blind9/10 were scored with any
# candidate, is in docs/components/abuse.md). abuse_blind9 and abuse_blind10, round 10's test sets,
# are never trained on; abuse_blind11 and abuse_blind12 (stop 21, two new writers) are sealed: never
# scored, read or trained on until the next round's rule is written.
BLIND = ("abuse_blind9", "abuse_blind10", "abuse_blind11", "abuse_blind12")
N_APPEALS, N_RUSSE, N_PIKABU = 16000, 2000, 2000  # appeals 8,000 → 16,000 in round 10 (stop 21)
FOLDS = 5
C = 64.0  # picked by the same grouped CV among 1, 4, 16, 64 (model-only threat-like F1 0.64 → 0.78)
MIN_DF = 2
MAX_CLEAN_FP_RATE = 0.001  # out-of-fold false alarms allowed on the clean negatives (0.05 % → 0.1 % in stop 13: CV micro-F1 0.779 → 0.798, still 0 of 4,000 real appeals)
THRESHOLD_FLOOR = 0.5
_WORDS = re.compile(r"[а-яa-z0-9]+")


def load_labelled(data_dir: Path = DATA_DIR) -> list[tuple[str, set[str], str]]:
    """(text, threat reasons, file) of every labelled post; the current blind set is never read."""
    from .evaluate_abuse import load_eval

    rows = []
    for name in LABELLED:
        path = Path(data_dir) / name
        if any(blind in name for blind in BLIND) or not path.is_file():
            continue
        for row in load_eval(path):
            rows.append((row["text"], {x for x in row["labels"] if x in REASONS}, name))
    return rows


def load_negatives(shared_data_dir: Path, seed: int, n_appeals: int = N_APPEALS, n_russe: int = N_RUSSE,
                   n_pikabu: int = N_PIKABU) -> tuple[list[str], list[str], list[int]]:
    """(texts, source, group) of clean negatives; RUSSE rewrites of one pair share a group."""
    from .evaluate_abuse import real_texts
    from .toxicity import load_pikabu, load_russe_pairs

    rng = np.random.RandomState(seed)
    texts, source, group = [], [], []
    appeals = real_texts(shared_data_dir)
    for i in sorted(rng.choice(len(appeals), size=min(n_appeals, len(appeals)), replace=False)):
        texts.append(appeals[i]); source.append("appeals"); group.append(-1)
    russe = load_russe_pairs(shared_data_dir)
    russe = russe[russe["label"] == 0]
    pairs = russe["pair"].unique()
    chosen = set(rng.choice(pairs, size=min(n_russe, len(pairs)), replace=False).tolist())
    for pair, text in zip(russe["pair"], russe["text"]):
        if pair in chosen:
            texts.append(text); source.append("russe"); group.append(int(pair))
    pikabu = load_pikabu(shared_data_dir)
    clean = pikabu[pikabu["label"] == 0]["text"].tolist()
    for i in sorted(rng.choice(len(clean), size=min(n_pikabu, len(clean)), replace=False)):
        texts.append(clean[i]); source.append("pikabu"); group.append(-1)
    return texts, source, group


def near_duplicate_groups(texts: list[str], min_jaccard: float = 0.5) -> np.ndarray:
    """Connected components of texts whose word sets overlap by Jaccard ≥ min_jaccard."""
    sets = [frozenset(_WORDS.findall(lower_yo(t))) for t in texts]
    parent = list(range(len(texts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(sets)):
        for j in range(i + 1, len(sets)):
            a, b = sets[i], sets[j]
            if a and b and len(a & b) >= min_jaccard * len(a | b):
                parent[find(i)] = find(j)
    return np.array([find(i) for i in range(len(texts))])


def _fit(feats: list[list[str]], y_any: np.ndarray, y_reasons: np.ndarray, seed: int) -> ThreatModel:
    df = Counter(f for fs in feats for f in set(fs))
    vocabulary = {f: i for i, f in enumerate(sorted(f for f, n in df.items() if n >= MIN_DF))}
    x = ThreatModel.matrix(feats, vocabulary)
    coef = np.zeros((len(vocabulary), 1 + len(REASONS)), np.float32)
    intercept = np.zeros(1 + len(REASONS), np.float32)

    def logreg() -> LogisticRegression:
        return LogisticRegression(C=C, class_weight="balanced", solver="liblinear", max_iter=2000, random_state=seed)

    clf = logreg().fit(x, y_any)
    coef[:, 0], intercept[0] = clf.coef_[0], clf.intercept_[0]
    pos = np.flatnonzero(y_any == 1)
    for k in range(len(REASONS)):
        yk = y_reasons[pos, k]
        if 0 < yk.sum() < len(yk):
            head = logreg().fit(x[pos], yk)
            coef[:, 1 + k], intercept[1 + k] = head.coef_[0], head.intercept_[0]
        else:
            intercept[1 + k] = 10.0 if yk.sum() else -10.0
    return ThreatModel(vocabulary, coef, intercept)


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
            "tp": tp, "fp": fp, "fn": fn}


def _micro(gold: list[set[str]], got: list[set[str]]) -> dict[str, float]:
    tp = sum(len(g & p) for g, p in zip(gold, got))
    fp = sum(len(p - g) for g, p in zip(gold, got))
    fn = sum(len(g - p) for g, p in zip(gold, got))
    return _prf(tp, fp, fn)


def _rules(texts: list[str]) -> list[set[str]]:
    from model.toxicity import AbuseDetector

    detector = AbuseDetector.from_data(DATA_DIR, None)
    docs = [Doc.from_post(Post(id=str(i), text=t), "omsk") for i, t in enumerate(texts)]
    return [{f.reason for f in fs if f.reason in REASONS and f.score >= 0.5} for fs in detector.predict(docs)]


@dataclass
class TrainingRows:
    """The labelled posts, then the clean negatives, with their targets and CV groups."""

    labelled: list[tuple[str, set[str], str]]
    texts: list[str]
    source: np.ndarray  # "labelled", "appeals", "russe" or "pikabu"
    gold: list[set[str]]
    y_any: np.ndarray  # threat-like
    y_reasons: np.ndarray  # (n, 4), REASONS order
    groups: np.ndarray  # near-duplicate labelled texts and RUSSE pairs share a group


def training_rows(shared_data_dir: Path, seed: int = 13, data_dir: Path = DATA_DIR, n_appeals: int = N_APPEALS,
                  n_russe: int = N_RUSSE, n_pikabu: int = N_PIKABU) -> TrainingRows:
    labelled = load_labelled(data_dir)
    neg_texts, neg_source, neg_group = load_negatives(Path(shared_data_dir), seed, n_appeals, n_russe, n_pikabu)
    gold = [r for _, r, _ in labelled] + [set() for _ in neg_texts]
    lab_groups = near_duplicate_groups([t for t, _, _ in labelled])
    return TrainingRows(
        labelled=labelled,
        texts=[t for t, _, _ in labelled] + neg_texts,
        source=np.array(["labelled"] * len(labelled) + neg_source),
        gold=gold,
        y_any=np.array([1 if g else 0 for g in gold]),
        y_reasons=np.array([[1 if r in g else 0 for r in REASONS] for g in gold]),
        groups=np.concatenate([lab_groups, [(-1 - i) if g == -1 else 10**7 + g for i, g in enumerate(neg_group)]]),
    )


def best_threshold(oof_any: np.ndarray, y_any: np.ndarray, lab: np.ndarray) -> float:
    """The threshold on P(threat-like) with the best out-of-fold F1 on the labelled posts among
    those with at most MAX_CLEAN_FP_RATE false alarms on the clean negatives (~lab)."""
    best = (-1.0, THRESHOLD_FLOOR)
    for t in np.round(np.arange(THRESHOLD_FLOOR, 0.99, 0.01), 2):
        pred = oof_any >= t
        if pred[~lab].mean() > MAX_CLEAN_FP_RATE:
            continue
        f1 = _prf(int((pred & (y_any == 1) & lab).sum()), int((pred & (y_any == 0) & lab).sum()),
                  int((~pred & (y_any == 1)).sum()))["f1"]
        if f1 > best[0]:
            best = (f1, float(t))
    return best[1]


def train(shared_data_dir: Path, seed: int = 13, data_dir: Path = DATA_DIR, n_appeals: int = N_APPEALS,
          n_russe: int = N_RUSSE, n_pikabu: int = N_PIKABU) -> TrainedComponent:
    shared_data_dir = Path(shared_data_dir)
    t0 = time.perf_counter()
    rows = training_rows(shared_data_dir, seed, data_dir, n_appeals, n_russe, n_pikabu)
    labelled, texts, source, gold = rows.labelled, rows.texts, rows.source, rows.gold
    y_any, y_reasons, groups = rows.y_any, rows.y_reasons, rows.groups
    n_lab = len(labelled)
    feats = [text_features(lower_yo(t)) for t in texts]

    # ---- grouped cross-validation: out-of-fold threat-like and head probabilities
    oof = np.zeros((len(texts), 1 + len(REASONS)))
    cv = StratifiedGroupKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    strata = np.where(source == "labelled", y_any, 2)
    for tr, te in cv.split(np.zeros(len(texts)), strata, groups):
        m = _fit([feats[i] for i in tr], y_any[tr], y_reasons[tr], seed)
        # scored exactly as AbuseDetector scores (ThreatModel.score_docs)
        oof[te] = np.array([row for row, _ in m.score_docs([lower_yo(texts[i]) for i in te])])

    lab = source == "labelled"
    threshold = best_threshold(oof[:, 0], y_any, lab)

    rules = _rules([t for t, _, _ in labelled])
    lab_gold = gold[:n_lab]

    def model_reasons(row: np.ndarray, extra: float) -> set[str]:
        if row[0] < threshold:
            return set()
        heads = row[1:]
        k = int(np.argmax(heads))
        return {r for j, r in enumerate(REASONS) if j == k or heads[j] >= extra}

    best_extra = (-1.0, 1.01)
    for extra in (0.5, 0.6, 0.7, 0.8, 0.9, 1.01):
        got = [model_reasons(oof[i], extra) for i in range(n_lab)]
        f1 = _micro(lab_gold, got)["f1"]
        if f1 > best_extra[0] + 1e-9:
            best_extra = (f1, extra)
    extra = best_extra[1]

    model_only = [model_reasons(oof[i], extra) for i in range(n_lab)]
    combined = [r if r else m for r, m in zip(rules, model_only)]
    pred_any = oof[:, 0] >= threshold
    by_file = {}
    for name in LABELLED:
        idx = [i for i, (_, _, f) in enumerate(labelled) if f == name]
        if idx:
            by_file[name] = {"n": len(idx), "model_only_micro": _micro([lab_gold[i] for i in idx], [model_only[i] for i in idx])["f1"],
                             "rules_or_model_micro": _micro([lab_gold[i] for i in idx], [combined[i] for i in idx])["f1"]}
    metrics = {
        "cv": f"{FOLDS}-fold StratifiedGroupKFold (seed {seed}); near-duplicate labelled texts and RUSSE pairs grouped",
        "threat_like_model_only": _prf(int((pred_any & lab & (y_any == 1)).sum()), int((pred_any & lab & (y_any == 0)).sum()),
                                       int((~pred_any & (y_any == 1)).sum())),
        "reasons_micro_model_only": _micro(lab_gold, model_only),
        "reasons_micro_rules_only": _micro(lab_gold, rules),
        "reasons_micro_rules_or_model": _micro(lab_gold, combined),
        "per_reason_rules_or_model": {
            r: _prf(sum(1 for g, p in zip(lab_gold, combined) if r in g and r in p),
                    sum(1 for g, p in zip(lab_gold, combined) if r not in g and r in p),
                    sum(1 for g, p in zip(lab_gold, combined) if r in g and r not in p)) for r in REASONS},
        "clean_false_alarms": {s: {"fired": int((pred_any & (source == s)).sum()), "n": int((source == s).sum())}
                               for s in ("appeals", "russe", "pikabu")},
        "hard_negatives_fired_model_only": int(sum(1 for i, (_, g, f) in enumerate(labelled)
                                                   if not g and "hard_negatives" in f and pred_any[i])),
        "by_file": by_file,
    }
    log.info("threat CV: threshold %.2f extra %.2f %s", threshold, extra, metrics)

    model = _fit(feats, y_any, y_reasons, seed)
    model.threshold, model.extra_threshold = threshold, extra
    files = [Path(data_dir) / n for n in LABELLED if (Path(data_dir) / n).is_file()]
    from .evaluate_abuse import KURSK, SPB
    from .toxicity import PIKABU, RUSSE_TRAIN

    shared_files = [shared_data_dir / p for p in (SPB, KURSK, RUSSE_TRAIN, PIKABU)]
    meta = {
        "kind": "binary word/stem/ending/stem-bigram features → logistic regression (threat-like) + 4 reason heads",
        "labels": ["threat_like", *REASONS],
        "threshold": threshold,
        "extra_threshold": extra,
        "metrics": metrics,
        "data": {**data_hashes(files, Path(data_dir)),
                 **data_hashes([f for f in shared_files if f.is_file()], shared_data_dir)},
        "sizes": {"labelled": n_lab, "threat_like": int(y_any.sum()), "negatives": {s: int((source == s).sum())
                  for s in ("appeals", "russe", "pikabu")}, "vocabulary": len(model.vocabulary)},
        "seed": seed,
        "fit_seconds": round(time.perf_counter() - t0, 1),
    }
    return TrainedComponent(name=NAME, estimator=model, meta=meta)

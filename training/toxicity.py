"""Train the toxicity classifier: TF-IDF char + word n-grams, NB scaling, logistic regression, calibrated.

Data (read from the shared folder, never copied into the repo):
- toxicity/toxic_2ch_pikabu/labeled.csv — 2ch/pikabu comments, toxic 0/1. No duplicate texts and no
  authors or times, so a stratified split is the honest one here.
- toxicity/russe_detox_2022/train.tsv — toxic comments with neutral rewrites. The rewrites are hard
  negatives (same content, rudeness removed). Split by pair: a toxic comment and all its rewrites go
  to the same side, else the model would be tested on near-copies of what it learned.
- toxicity/russe_detox_2022/test.tsv — toxic comments only: recall check, never trained on.

The estimator is a scikit-learn Pipeline (TF-IDF → `model.toxicity.NBScaler` → calibrated LR); `model.toxicity.AbuseDetector` uses its
`predict_proba(texts)[:, 1]` as the toxicity score. Vocabularies are bounded (max_features, min_df)
and the pruned-terms set `stop_words_` is dropped so the component stays small.
"""
from __future__ import annotations

import csv
import re
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_recall_fscore_support
from sklearn.model_selection import train_test_split
from sklearn.pipeline import FeatureUnion, Pipeline

from model.errors import DataError
from model.text import lower_yo
from model.toxicity import NBScaler

from .base import TrainedComponent, data_hashes

log = logging.getLogger(__name__)

NAME = "toxicity"
PIKABU = Path("toxicity/toxic_2ch_pikabu/labeled.csv")
RUSSE_TRAIN = Path("toxicity/russe_detox_2022/train.tsv")
RUSSE_TEST = Path("toxicity/russe_detox_2022/test.tsv")
NEUTRAL_COLUMNS = ("neutral_comment1", "neutral_comment2", "neutral_comment3")
TEST_SIZE = 0.2
THRESHOLD = 0.5
RUSSE_WEIGHT = 3.0  # the rewrites are the hard negatives we care about: near-copies without the rudeness
# 2ch/pikabu marks мат without an insult as clean while RUSSE marks it toxic; the conflicting
# 2ch/pikabu negatives with мат roots are left out of training (they stay in the held-out test).
MAT_ROOTS = re.compile(
    r"(?:^|[^а-я])(?:х[уy][йяеию]|пизд|пизж|[её]б[аеуиолн]|бля|муд[аоие]к|манд[аеуо]|г[ао]ндон|пид[оа]р|сук[аи]\b)"
)


@dataclass
class ToxicitySplit:
    """Texts and labels of one side of the split, with where each row came from."""

    texts: list[str]
    labels: np.ndarray
    source: np.ndarray  # "pikabu" | "russe"
    pair: np.ndarray  # RUSSE pair id, -1 for 2ch/pikabu
    first: np.ndarray  # the toxic comment or its first rewrite (the balanced RUSSE pairs)


def _clean(text: object) -> str:
    return " ".join(str(text).split())


def load_pikabu(shared_data_dir: Path) -> pd.DataFrame:
    path = Path(shared_data_dir) / PIKABU
    if not path.is_file():
        raise DataError(f"expected the 2ch/pikabu toxicity file at {path}, found none")
    df = pd.read_csv(path)
    if not {"comment", "toxic"} <= set(df.columns):
        raise DataError(f"{path}: expected columns comment, toxic; got {list(df.columns)}")
    df = pd.DataFrame({"text": df["comment"].map(_clean), "label": df["toxic"].astype(int)})
    return df[df["text"].str.len() > 0].reset_index(drop=True)


def load_russe_pairs(shared_data_dir: Path) -> pd.DataFrame:
    """One row per text: pair id, text, label (1 toxic comment, 0 neutral rewrite)."""
    path = Path(shared_data_dir) / RUSSE_TRAIN
    if not path.is_file():
        raise DataError(f"expected the RUSSE detox file at {path}, found none")
    # the texts contain quotes that are not CSV quoting: read them as they are
    df = pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE, dtype=str, keep_default_na=False)
    if "toxic_comment" not in df.columns:
        raise DataError(f"{path}: expected a toxic_comment column, got {list(df.columns)}")
    rows = []
    for pair, rec in enumerate(df.to_dict("records")):
        toxic = _clean(rec["toxic_comment"])
        if not toxic:
            continue
        rows.append((pair, toxic, 1, True))
        seen = {toxic.lower()}
        for col in NEUTRAL_COLUMNS:
            neutral = _clean(rec.get(col, ""))
            # a "rewrite" identical to the toxic text carries no negative signal
            if neutral and neutral.lower() not in seen:
                rows.append((pair, neutral, 0, len(seen) == 1))
                seen.add(neutral.lower())
    return pd.DataFrame(rows, columns=["pair", "text", "label", "first"])


def load_russe_test(shared_data_dir: Path) -> list[str]:
    path = Path(shared_data_dir) / RUSSE_TEST
    if not path.is_file():
        return []
    df = pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE, dtype=str, keep_default_na=False)
    return [t for t in (_clean(x) for x in df.get("toxic_comment", [])) if t]


def split_data(shared_data_dir: Path, seed: int = 13) -> tuple[ToxicitySplit, ToxicitySplit]:
    pikabu = load_pikabu(shared_data_dir)
    p_train, p_test = train_test_split(pikabu, test_size=TEST_SIZE, random_state=seed, stratify=pikabu["label"])
    russe = load_russe_pairs(shared_data_dir)
    pairs = russe["pair"].unique()
    rng = np.random.RandomState(seed)
    test_pairs = set(rng.choice(pairs, size=int(len(pairs) * TEST_SIZE), replace=False).tolist())
    in_test = russe["pair"].isin(test_pairs)
    r_train, r_test = russe[~in_test], russe[in_test]

    def side(p: pd.DataFrame, r: pd.DataFrame) -> ToxicitySplit:
        return ToxicitySplit(
            texts=list(p["text"]) + list(r["text"]),
            labels=np.concatenate([p["label"].to_numpy(), r["label"].to_numpy()]).astype(int),
            source=np.array(["pikabu"] * len(p) + ["russe"] * len(r)),
            pair=np.concatenate([np.full(len(p), -1), r["pair"].to_numpy()]),
            first=np.concatenate([np.zeros(len(p), bool), r["first"].to_numpy()]),
        )

    return side(p_train, r_train), side(p_test, r_test)


def make_pipeline(seed: int = 13) -> Pipeline:
    features = FeatureUnion(
        [
            (
                "char",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(2, 5), preprocessor=lower_yo, min_df=3,
                    max_features=120_000, sublinear_tf=True, dtype=np.float32,
                ),
            ),
            (
                "word",
                TfidfVectorizer(
                    analyzer="word", ngram_range=(1, 2), preprocessor=lower_yo, min_df=2,
                    max_features=40_000, sublinear_tf=True, token_pattern=r"(?u)\b\w+\b",
                    dtype=np.float32,
                ),
            ),
        ]
    )
    clf = CalibratedClassifierCV(
        LogisticRegression(C=16.0, max_iter=2000, solver="liblinear", random_state=seed),
        method="sigmoid", cv=3, ensemble=False,
    )
    return Pipeline([("features", features), ("nb", NBScaler()), ("clf", clf)])


def _drop_pruned_terms(pipe: Pipeline) -> None:
    # stop_words_ holds every term cut by min_df/max_features: only for introspection, and huge
    for _, vec in pipe.named_steps["features"].transformer_list:
        if hasattr(vec, "stop_words_"):
            vec.stop_words_ = None


def binary_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average=None, labels=[0, 1], zero_division=0)
    return {
        "precision": round(float(p[1]), 4), "recall": round(float(r[1]), 4), "f1": round(float(f[1]), 4),
        "precision_clean": round(float(p[0]), 4), "recall_clean": round(float(r[0]), 4),
        "f1_clean": round(float(f[0]), 4),
        "macro_f1": round(float(f1_score(y_true, y_pred, average="macro", zero_division=0)), 4),
        "n": int(len(y_true)), "n_toxic": int(np.sum(y_true)),
    }


def evaluate_split(pipe: Pipeline, test: ToxicitySplit, russe_test_toxic: list[str] | None = None,
                   threshold: float = THRESHOLD) -> dict[str, dict[str, float]]:
    proba = pipe.predict_proba(test.texts)[:, 1]
    pred = (proba >= threshold).astype(int)
    out = {}
    for source in ("pikabu", "russe"):
        mask = test.source == source
        out[f"{source}_heldout"] = binary_metrics(test.labels[mask], pred[mask])
    # one toxic comment against its first rewrite: the balanced toxic-vs-neutral view
    balanced = (test.source == "russe") & test.first
    out["russe_pairs_balanced"] = binary_metrics(test.labels[balanced], pred[balanced])
    # does the model score the toxic comment above every one of its rewrites?
    russe = test.source == "russe"
    best_neutral: dict[int, float] = {}
    toxic_score: dict[int, float] = {}
    for pair, label, score in zip(test.pair[russe], test.labels[russe], proba[russe]):
        if label:
            toxic_score[int(pair)] = float(score)
        else:
            best_neutral[int(pair)] = max(best_neutral.get(int(pair), 0.0), float(score))
    ranked = [toxic_score[k] > v for k, v in best_neutral.items() if k in toxic_score]
    out["russe_pair_ranking"] = {"accuracy": round(float(np.mean(ranked)), 4), "n": len(ranked)}
    out["all_heldout"] = binary_metrics(test.labels, pred)
    if russe_test_toxic:
        p = pipe.predict_proba(russe_test_toxic)[:, 1]
        out["russe_test_toxic_recall"] = {"recall": round(float(np.mean(p >= threshold)), 4), "n": len(p)}
    return out


def train(shared_data_dir: Path, seed: int = 13) -> TrainedComponent:
    shared_data_dir = Path(shared_data_dir)
    t0 = time.perf_counter()
    train_side, test_side = split_data(shared_data_dir, seed)
    pipe = make_pipeline(seed)
    keep = ~((train_side.source == "pikabu") & (train_side.labels == 0)
             & np.array([bool(MAT_ROOTS.search(lower_yo(t))) for t in train_side.texts]))
    weight = np.where(train_side.source == "russe", RUSSE_WEIGHT, 1.0)[keep]
    texts = [t for t, k in zip(train_side.texts, keep) if k]
    pipe.fit(texts, train_side.labels[keep], clf__sample_weight=weight)
    _drop_pruned_terms(pipe)
    metrics = evaluate_split(pipe, test_side, load_russe_test(shared_data_dir))
    log.info("toxicity held-out: %s", metrics)
    fit_seconds = round(time.perf_counter() - t0, 1)
    files = [shared_data_dir / PIKABU, shared_data_dir / RUSSE_TRAIN, shared_data_dir / RUSSE_TEST]
    vocab = {name: len(vec.vocabulary_) for name, vec in pipe.named_steps["features"].transformer_list}
    meta = {
        "kind": "tfidf char_wb 2-5 + word 1-2 → NB log-count ratio scaling → logistic regression, sigmoid-calibrated",
        "labels": ["clean", "toxic"],
        "threshold": THRESHOLD,
        "metrics": metrics,
        "data": data_hashes([f for f in files if f.is_file()], shared_data_dir),
        "sizes": {"train": len(texts), "test": len(test_side.texts), "vocabulary": vocab,
                  "dropped_pikabu_mat_negatives": int((~keep).sum())},
        "split": f"2ch/pikabu stratified {TEST_SIZE:.0%}; RUSSE by pair {TEST_SIZE:.0%} (seed {seed})",
        "seed": seed,
        "fit_seconds": fit_seconds,
    }
    return TrainedComponent(name=NAME, estimator=pipe, meta=meta)


def main() -> None:  # pragma: no cover - convenience entry point
    import json

    from model.artifact import save_artifact
    from model.paths import DEFAULT_ARTIFACT, SHARED_DATA_DIR

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    trained = train(SHARED_DATA_DIR)
    save_artifact(DEFAULT_ARTIFACT, {trained.name: trained.estimator}, {trained.name: trained.meta})
    log.info("wrote %s into %s", trained.name, DEFAULT_ARTIFACT)
    log.info("%s", json.dumps(trained.meta["metrics"], ensure_ascii=False, indent=1))


if __name__ == "__main__":  # pragma: no cover
    main()

"""Train the importance text model and measure the whole importance component.

Data, and what each set was used for (in this order — see /work/team/readme/sla_importance.md):
- data/examples/importance_train.jsonl — 288 hand-written VK/OK-style posts {"text", "level"}:
  training; cross-validated (stratified 5-fold: no authors or times to group by).
- data/eval/importance.jsonl — 325 posts written separately (other scenarios and wording). Its
  FIRST run was a held-out result; its errors then shaped the rules and the threshold, so it is
  the development set now.
- data/eval/importance_holdout.jsonl — 133 posts written after that round; its first run is the
  honest synthetic test (a few generic rule bugs it showed were fixed afterwards).
- data/eval/importance_kursk_labels.jsonl — our labels for 100 random real Kursk ЦУР appeals (ids
  only; texts are read from the shared data): a real development set, then added to training.
- data/eval/importance_kursk_test_labels.jsonl — 120 other random Kursk appeals (disjoint): the
  real test of round 2; its errors were then looked at (development data now).
- data/eval/importance_kursk_final_labels.jsonl — 120 more (disjoint), labelled after that: the
  real test; its first run is reported, a few generic rule gaps it showed were fixed afterwards.

The component's decision (rules + model, model/importance.py) is what is evaluated; rules only and
the model alone are reported too.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold

from model.errors import DataError

from .jsonl import read_jsonl
from model.importance import ImportanceModel, ImportanceTagger
from model.paths import DATA_DIR
from model.records import Engagement
from model.text import lower_yo

from .base import TrainedComponent, data_hashes

log = logging.getLogger(__name__)

NAME = "importance"
TRAIN_FILE = DATA_DIR / "examples" / "importance_train.jsonl"
EVAL_FILE = DATA_DIR / "eval" / "importance.jsonl"  # development set (see module docstring)
HOLDOUT_FILE = DATA_DIR / "eval" / "importance_holdout.jsonl"  # untouched test
# real posts: ids of the shared Kursk ЦУР appeals with our labels (texts stay in shared data)
KURSK_LABELS = DATA_DIR / "eval" / "importance_kursk_labels.jsonl"
KURSK_CSV = Path("appeals/kursk_cur_2022/train_dataset_train.csv")
# a second disjoint random sample: real test of round 2, then its errors were looked at
KURSK_TEST_LABELS = DATA_DIR / "eval" / "importance_kursk_test_labels.jsonl"
# a third disjoint sample labelled after the last change: the untouched real test
KURSK_FINAL_LABELS = DATA_DIR / "eval" / "importance_kursk_final_labels.jsonl"
LEVELS = ("normal", "high")


def read_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    for n, row in read_jsonl(path):
        if not isinstance(row.get("text"), str) or row.get("level") not in LEVELS:
            raise DataError(f"{path}:{n}: expected 'text' and 'level' in {LEVELS}, got {sorted(row)}")
        rows.append(row)
    return rows


def metrics(y_true: list[str], y_pred: list[str]) -> dict[str, dict[str, float]]:
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=list(LEVELS), zero_division=0)
    return {lv: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
                 "f1": round(float(f[i]), 4), "support": int(s[i])} for i, lv in enumerate(LEVELS)}


def engagement_of(row: dict[str, Any]) -> Engagement | None:
    e = row.get("engagement")
    return Engagement(**e) if isinstance(e, dict) else None


def decide(tagger: ImportanceTagger, rows: list[dict[str, Any]], probs: list[float]) -> list[str]:
    """The component's decision for evaluation rows (text, engagement; no topic unless given)."""
    out = []
    for row, p in zip(rows, probs):
        ev = tagger.evidence(lower_yo(row["text"]), p, urgent_topic=bool(row.get("urgent_topic")),
                             engagement=engagement_of(row), incident_size=row.get("incident_size"))
        out.append("high" if ev.score >= tagger.lexicon.threshold else "normal")
    return out


def cross_validate(rows: list[dict[str, Any]], seed: int, folds: int = 5) -> dict[str, Any]:
    texts = [r["text"] for r in rows]
    y = np.array([r["level"] for r in rows])
    probs = np.zeros(len(rows))
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts, y):
        model = ImportanceModel(random_state=seed).fit([texts[i] for i in train_idx], list(y[train_idx]))
        probs[test_idx] = model.proba_high([texts[i] for i in test_idx])
    tagger = ImportanceTagger.from_data(DATA_DIR)
    model_only = ["high" if p >= 0.5 else "normal" for p in probs]
    rules_only = decide(tagger, rows, [0.0] * len(rows))
    combined = decide(tagger, rows, probs.tolist())
    return {"model_only": metrics(list(y), model_only), "rules_only": metrics(list(y), rules_only),
            "combined": metrics(list(y), combined), "folds": folds}


def evaluate(model: ImportanceModel | None, path: Path = EVAL_FILE) -> dict[str, Any]:
    return evaluate_rows(model, read_rows(path))


def read_kursk(shared_data_dir: Path, labels_path: Path = KURSK_LABELS) -> list[dict[str, Any]]:
    """Labelled real appeals: {"id", "level"} rows joined with their text in the shared CSV."""
    import csv

    labels = {}
    with open(labels_path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                row = json.loads(line)
                if row.get("level") not in LEVELS:
                    raise DataError(f"{labels_path}:{n}: expected 'level' in {LEVELS}, got {row.get('level')!r}")
                labels[str(row["id"])] = row["level"]
    path = Path(shared_data_dir) / KURSK_CSV
    if not path.exists():
        raise DataError(f"{path}: expected the shared Kursk appeals file, got nothing")
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        for rec in csv.DictReader(f):
            if rec["id"] in labels:
                rows.append({"id": rec["id"], "text": rec["Текст Сообщения"], "level": labels[rec["id"]]})
    missing = set(labels) - {r["id"] for r in rows}
    if missing:
        raise DataError(f"{labels_path}: expected ids of {path.name}, got unknown {sorted(missing)[:5]}")
    return rows


def evaluate_rows(model: ImportanceModel | None, rows: list[dict[str, Any]]) -> dict[str, Any]:
    tagger = ImportanceTagger.from_data(DATA_DIR, model=model)
    probs = model.proba_high([r["text"] for r in rows]).tolist() if model is not None else [0.0] * len(rows)
    y = [r["level"] for r in rows]
    out = {"size": len(rows), "high_share": round(y.count("high") / len(y), 3),
           "combined": metrics(y, decide(tagger, rows, probs)),
           "rules_only": metrics(y, decide(tagger, rows, [0.0] * len(rows)))}
    if model is not None:
        out["model_only"] = metrics(y, ["high" if p >= 0.5 else "normal" for p in probs])
    return out


def training_rows(shared_data_dir: Path | None) -> list[dict[str, Any]]:
    """The hand-written examples, plus the 100 labelled real Kursk appeals (importance_kursk_labels)
    when the shared data is there: real formal appeals teach the model the other genre."""
    rows = read_rows(TRAIN_FILE)
    if shared_data_dir is not None and (Path(shared_data_dir) / KURSK_CSV).exists() and KURSK_LABELS.exists():
        rows += read_kursk(shared_data_dir, KURSK_LABELS)
    return rows


def fit_model(shared_data_dir: Path | None, seed: int = 13) -> tuple[ImportanceModel, list[dict[str, Any]]]:
    rows = training_rows(shared_data_dir)
    model = ImportanceModel(random_state=seed).fit([r["text"] for r in rows], [r["level"] for r in rows])
    return model, rows


def train(shared_data_dir: Path | None = None, seed: int = 13) -> TrainedComponent:
    """Trains on the hand-written examples (+ the labelled real Kursk sample when the shared data
    is there); evaluates on the held-out sets, including the disjoint real Kursk test sample."""
    model, rows = fit_model(shared_data_dir, seed)
    cv = cross_validate(rows, seed)
    meta: dict[str, Any] = {
        "labels": list(LEVELS),
        "sizes": {"train": len(rows), "train_high": sum(r["level"] == "high" for r in rows),
                  "train_real_kursk": sum("id" in r for r in rows)},
        "data": data_hashes([TRAIN_FILE, KURSK_LABELS, DATA_DIR / "lexicons" / "importance.yaml"], DATA_DIR.parent),
        "cv_train": cv,
        "params": model.get_params(),
    }
    for key, path in (("eval_dev", EVAL_FILE), ("eval_holdout", HOLDOUT_FILE)):
        if path.exists():
            meta[key] = evaluate(model, path)
            meta["data"].update(data_hashes([path], DATA_DIR.parent))
    if shared_data_dir is not None and (Path(shared_data_dir) / KURSK_CSV).exists() and KURSK_LABELS.exists():
        for key, path in (("eval_kursk_real_test2", KURSK_TEST_LABELS), ("eval_kursk_real_final", KURSK_FINAL_LABELS)):
            if path.exists():
                meta[key] = evaluate_rows(model, read_kursk(shared_data_dir, path))
    log.info("importance: cv %s; holdout %s", cv["combined"]["high"],
             meta.get("eval_holdout", {}).get("combined", {}).get("high"))
    return TrainedComponent(name=NAME, estimator=model, meta=meta)

"""Train the "portal" component: a category classifier for each region whose router has none.

Today that is Kursk: its router (`model.route.PlaceExecutorModel`) routes by text and place, with no
model of the 160 «Тематика» themes. `model.portal.PortalCategoryModel` learns them from the Kursk
appeals; `model.topic.PortalGroupPrior` mixes them into Kursk posts' topic groups. St Petersburg's
router carries its own (the 125 portal reasons), so it needs none here.

Evaluation: the id-order split of `training.appeals.split_by_time_and_author` (the last 20 % by id,
texts seen in training dropped); the temperature is fitted on that part, as the router's is; the
shipped model is refitted on every row and keeps that temperature. What the prior does to topic
groups: `python -m training.portal_prior --region kursk --refit-topic`.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from model.mappings import load_mapping
from model.portal import PortalCategoryModel
from model.rubricator import load_rubricator

from . import appeals
from .base import TrainedComponent, data_hashes

log = logging.getLogger(__name__)

NAME = "portal"


def fit_kursk(df, seed: int) -> PortalCategoryModel:
    return PortalCategoryModel(random_state=seed).fit(df["clean"].tolist(), df["label"].tolist(), df["group"].tolist())


def evaluate(model: PortalCategoryModel, df, label_groups: dict[str, str]) -> dict:
    p = model.reason_proba(df["clean"].tolist())
    classes = np.asarray(model.reason_model_.classes_)
    top = np.argsort(-p, axis=1)[:, :3]
    gold = df["label"].to_numpy()
    group_pred = [label_groups.get(classes[row[0]]) for row in top]
    return {
        "n": int(len(df)),
        "top1": round(float(np.mean(classes[top[:, 0]] == gold)), 4),
        "top3": round(float(np.mean([g in classes[row] for g, row in zip(gold, top)])), 4),
        "group_accuracy_of_top1": round(float(np.mean(np.array(group_pred, dtype=object) == df["group"].to_numpy())), 4),
    }


def train(shared_data_dir: Path, seed: int = 13) -> TrainedComponent:
    start = time.time()
    shared_data_dir = Path(shared_data_dir)
    rubricator = load_rubricator()
    kursk = appeals.load_kursk(shared_data_dir, rubricator)
    mapping = load_mapping("kursk", rubricator)
    label_groups = {key[0]: rubricator.topic(entry["topic"]).group for key, entry in mapping.labels.items()}
    train_part, test_part = appeals.split_by_time_and_author(kursk)
    model = fit_kursk(train_part, seed).calibrate(test_part["clean"].tolist(), test_part["label"].tolist())
    metrics = {"kursk": {"test": evaluate(model, test_part, label_groups)}}
    log.info("portal kursk (id split): %s", metrics["kursk"]["test"])
    final = fit_kursk(kursk, seed)
    final.reason_model_.temperature_ = model.reason_model_.temperature_
    meta = {
        "kind": "per region: hashed char + lemma n-grams → pruned LinearSVC over the portal's categories, temperature-calibrated",
        "regions": ["kursk"],
        "metrics": metrics,
        "data": data_hashes([shared_data_dir / appeals.KURSK_FILE], shared_data_dir),
        "sizes": {"kursk_rows": int(len(kursk)), "train_rows": int(len(train_part)), "test_rows": int(len(test_part)),
                  "categories": int(len(final.reason_model_.classes_))},
        "split": "Kursk: last 20 % by id, texts seen in training dropped",
        "seed": seed,
        "temperature": float(final.reason_model_.temperature_),
        "train_seconds": round(time.time() - start, 1),
    }
    return TrainedComponent(NAME, {"kursk": final}, meta)

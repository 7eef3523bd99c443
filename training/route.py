"""Training and evaluation of the routing component (`model.route.RouteTagger`).

Learned executor models for `spb` (executor_org, 76 % of rows labelled) and `kursk` («Ответственное
лицо»). Evaluated on the same time/author split as the topic model (SPb: last 20 % by time minus
authors seen in training; Kursk: last 20 % by id minus texts seen in training), with the district
taken from the data (what the location component should provide) and, as a floor, with no district.
Temperatures are fitted on that held-out part; the shipped models are refitted on all rows.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import pandas as pd

from model.route import ExecutorModel, RouteTagger
from model.rubricator import load_rubricator

from . import appeals
from .base import TrainedComponent, data_hashes
from .report import classification_metrics, topk_accuracy

log = logging.getLogger(__name__)

# classifier rows per fine label after exact dedupe (the (reason, district) table keeps every row)
CAP_PER_REASON = 300


def classifier_rows(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    df = appeals.dedupe(df, ("clean", "label", "executor"))
    df = df.sample(frac=1.0, random_state=seed)
    return df[df.groupby("label").cumcount() < CAP_PER_REASON].sort_index().reset_index(drop=True)


def fit_executor_model(df: pd.DataFrame, seed: int) -> ExecutorModel:
    rows = classifier_rows(df, seed)
    return ExecutorModel(random_state=seed).fit(
        rows["clean"].tolist(), rows["label"].tolist(), rows["executor"].tolist(),
        rows["district"].tolist(), rows["municipality"].tolist(),
        table_reasons=df["label"].tolist(), table_executors=df["executor"].tolist(),
        table_districts=df["district"].tolist(), groups=df["group"].tolist(), topics=df["topic"].tolist(),
    )


def evaluate(model: ExecutorModel, df: pd.DataFrame, use_district: bool = True) -> dict:
    if df.empty:
        return {"n": 0}
    districts = df["district"].tolist() if use_district else [None] * len(df)
    municipalities = df["municipality"].tolist() if use_district else [None] * len(df)
    ranked = model.rank(df["clean"].tolist(), districts, municipalities, k=3)
    names = [[name for name, _ in r] for r in ranked]
    out = {"n": len(df), **topk_accuracy(df["executor"].tolist(), names)}
    # precision/recall of the top-1, per executor (the 25 most frequent gold executors are kept)
    metrics = classification_metrics(df["executor"].tolist(), [r[0] for r in names])
    out["macro_f1"] = metrics["macro_f1"]
    out["per_class"] = dict(sorted(metrics["per_class"].items(), key=lambda kv: -kv[1]["support"])[:25])
    return out


def _train_one(name: str, df: pd.DataFrame, seed: int) -> tuple[ExecutorModel, dict]:
    df = df[df["executor"].notna()].reset_index(drop=True)
    train_part, test_part = appeals.split_by_time_and_author(df)
    model = fit_executor_model(train_part, seed)
    model.calibrate(test_part["clean"].tolist(), test_part["label"].tolist(), test_part["executor"].tolist(),
                    test_part["district"].tolist())
    metrics = {"test": evaluate(model, test_part)}
    if test_part["district"].notna().any():
        metrics["test_without_district"] = evaluate(model, test_part, use_district=False)
    log.info("route %s: top1 %.3f top3 %.3f (n=%d)", name, metrics["test"]["top1"], metrics["test"]["top3"], len(test_part))
    final = fit_executor_model(df, seed)
    final.reason_model_.temperature_ = model.reason_model_.temperature_
    final.template_model_.temperature_ = model.template_model_.temperature_
    sizes = {"rows": len(df), "train_rows": len(train_part), "test_rows": len(test_part)}
    return final, {"metrics": metrics, "sizes": sizes, "executors": sorted(df["executor"].unique().tolist())}


def train(shared_data_dir: Path, seed: int = 13) -> TrainedComponent:
    start = time.time()
    shared_data_dir = Path(shared_data_dir)
    rubricator = load_rubricator()
    spb = appeals.load_spb(shared_data_dir, rubricator)
    kursk = appeals.load_kursk(shared_data_dir, rubricator)
    models, meta_by_region = {}, {}
    for region, df in (("spb", spb), ("kursk", kursk)):
        models[region], meta_by_region[region] = _train_one(region, df, seed)
    RouteTagger(models)  # checks the models are fitted before saving
    files = [shared_data_dir / appeals.SPB_FILE, shared_data_dir / appeals.KURSK_FILE]
    meta = {
        "metrics": {r: m["metrics"] for r, m in meta_by_region.items()},
        "sizes": {r: m["sizes"] for r, m in meta_by_region.items()},
        "labels": {r: m["executors"] for r, m in meta_by_region.items()},
        "data_sha256": data_hashes(files, shared_data_dir),
        "params": {"cap_per_reason": CAP_PER_REASON, **ExecutorModel(random_state=seed).get_params()},
        "seed": seed,
        "train_seconds": round(time.time() - start, 1),
    }
    return TrainedComponent("route", models, meta)

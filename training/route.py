"""Training and evaluation of the routing component (`model.route.RouteTagger`).

Learned executor models for `spb` (executor_org, 76 % of rows labelled; `ExecutorModel`) and `kursk`
(«Ответственное лицо»; `PlaceExecutorModel`: text + the place the location component finds).
SPb is evaluated on the same time/author split as the topic model (last 20 % by time minus authors
seen in training), with the district taken from the data (what the location component should
provide) and, as a floor, with no district; its temperatures are fitted on that held-out part.
SPb posts with an address (the portal fills `full_address` for a building only) are marked as
about a building; "test" scores the others as the service does a post without an address (nothing
known), "test_portal" as not a building (what a missing address means on the portal).
Kursk has no time or author, and its labels drift with the id (batches of the portal export), so two
evaluations are reported: the last 20 % by id minus texts seen in training ("test", the pessimistic
later-posts case) and a grouped random 5-fold CV ("cv": identical clean texts in one fold,
stratified by executor, seed fixed — how the hackathon's own random test file is drawn); its
temperature is fitted on CV fold 1's held-out part. The shipped models are refitted on all rows.
"""
from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from model.location import LocationTagger
from model.paths import DATA_DIR
from model.route import ExecutorModel, PlaceExecutorModel, RouteTagger, is_building
from model.rubricator import load_rubricator
from model.text import normalize

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
        table_buildings=portal_buildings(df), objects=rows["object"].tolist() if "object" in rows else None,
    )


def spb_portal_fields(shared_data_dir: Path) -> pd.DataFrame:
    """SPb message id → the portal's `full_address` (NaN when the post is not about a building) and
    `city_object` (Дом / Двор / Улица / …, the citizen's first choice in the form; a training label
    for the object classifier, never read at inference), read in one pass over the file."""
    raw = pd.read_csv(Path(shared_data_dir) / appeals.SPB_FILE, usecols=["id", "full_address", "city_object"])
    return raw.set_index(raw["id"].astype(str))[["full_address", "city_object"]]


def buildings(df: pd.DataFrame) -> list[bool | None] | None:
    """What the service knows from a post's address: True / False / None (no address)."""
    if "address" not in df:
        return None
    return [is_building(a) for a in df["address"]]


def portal_buildings(df: pd.DataFrame) -> list[bool | None] | None:
    """On the portal a post without an address is not about a building."""
    known = buildings(df)
    return None if known is None else [bool(b) for b in known]


def evaluate(model: ExecutorModel | PlaceExecutorModel, df: pd.DataFrame, use_district: bool = True,
             building_flags: list[bool | None] | None = None) -> dict:
    if df.empty:
        return {"n": 0}
    districts = df["district"].tolist() if use_district else [None] * len(df)
    municipalities = df["municipality"].tolist() if use_district else [None] * len(df)
    ranked = model.rank(df["clean"].tolist(), districts, municipalities, k=3, buildings=building_flags)
    names = [[name for name, _ in r] for r in ranked]
    out = {"n": len(df), **topk_accuracy(df["executor"].tolist(), names)}
    # precision/recall of the top-1, per executor (the 25 most frequent gold executors are kept)
    metrics = classification_metrics(df["executor"].tolist(), [r[0] for r in names])
    out["macro_f1"] = metrics["macro_f1"]
    out["per_class"] = dict(sorted(metrics["per_class"].items(), key=lambda kv: -kv[1]["support"])[:25])
    return out


def kursk_places(df: pd.DataFrame) -> pd.DataFrame:
    """The location component's municipality/district for every Kursk text (the data has none)."""
    tagger = LocationTagger.from_data(DATA_DIR)
    locs = [tagger.locate(normalize(t), "kursk") for t in df["text"]]
    df = df.copy()
    df["municipality"] = [loc.municipality if loc else None for loc in locs]
    df["district"] = [loc.district if loc else None for loc in locs]
    return df


def fit_place_model(df: pd.DataFrame, seed: int) -> PlaceExecutorModel:
    rows = appeals.dedupe(df, ("clean", "executor"))
    return PlaceExecutorModel(random_state=seed).fit(
        rows["clean"].tolist(), rows["executor"].tolist(), rows["district"].tolist(),
        rows["municipality"].tolist(), groups=df["group"].tolist(), topics=df["topic"].tolist())


def grouped_folds(df: pd.DataFrame, seed: int, n_splits: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    """Random folds, stratified by executor, identical clean texts never on both sides."""
    groups = pd.factorize(df["clean"])[0]
    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # executors with fewer rows than folds
        return list(cv.split(np.zeros(len(df)), df["executor"].to_numpy(), groups))


def _pooled(parts: list[dict]) -> dict:
    n = sum(p["n"] for p in parts)
    out = {"n": n, "folds": len(parts)}
    for key in ("top1", "top3", "macro_f1"):
        out[key] = round(sum(p[key] * p["n"] for p in parts) / n, 4)
        out[key + "_fold_std"] = round(float(np.std([p[key] for p in parts])), 4)
    return out


def _train_kursk(df: pd.DataFrame, seed: int) -> tuple[PlaceExecutorModel, dict]:
    df = kursk_places(df[df["executor"].notna()].reset_index(drop=True))
    train_part, test_part = appeals.split_by_time_and_author(df)
    metrics = {"test": evaluate(fit_place_model(train_part, seed), test_part)}
    folds, temperature = [], None
    for k, (tr, te) in enumerate(grouped_folds(df, seed)):
        model = fit_place_model(df.iloc[tr], seed)
        held = df.iloc[te]
        if k == 0:
            model.calibrate(held["clean"].tolist(), held["executor"].tolist(), held["district"].tolist(),
                            held["municipality"].tolist())
            temperature = model.scorer_.temperature_
        folds.append(evaluate(model, held))
    metrics["cv"] = _pooled(folds)
    metrics["cv"]["per_class"] = folds[0]["per_class"]
    log.info("route kursk: id split top1 %.3f top3 %.3f (n=%d); grouped 5-fold CV top1 %.3f top3 %.3f",
             metrics["test"]["top1"], metrics["test"]["top3"], len(test_part), metrics["cv"]["top1"], metrics["cv"]["top3"])
    final = fit_place_model(df, seed)
    final.scorer_.temperature_ = temperature
    sizes = {"rows": len(df), "train_rows": len(train_part), "test_rows": len(test_part),
             "rows_with_place": int(df["municipality"].notna().sum())}
    return final, {"metrics": metrics, "sizes": sizes, "executors": sorted(df["executor"].unique().tolist())}


def _train_one(name: str, df: pd.DataFrame, seed: int) -> tuple[ExecutorModel, dict]:
    df = df[df["executor"].notna()].reset_index(drop=True)
    train_part, test_part = appeals.split_by_time_and_author(df)
    model = fit_executor_model(train_part, seed)
    model.calibrate(test_part["clean"].tolist(), test_part["label"].tolist(), test_part["executor"].tolist(),
                    test_part["district"].tolist(), test_part["object"].tolist() if "object" in test_part else None)
    metrics = {"test": evaluate(model, test_part, building_flags=buildings(test_part))}
    if "address" in test_part:
        metrics["test_portal"] = evaluate(model, test_part, building_flags=portal_buildings(test_part))
        metrics["test_no_address"] = evaluate(model, test_part)
    if test_part["district"].notna().any():
        metrics["test_without_district"] = evaluate(model, test_part, use_district=False,
                                                    building_flags=buildings(test_part))
    log.info("route %s: top1 %.3f top3 %.3f (n=%d)%s", name, metrics["test"]["top1"], metrics["test"]["top3"], len(test_part),
             "; portal (no address = not a building) top1 %.3f, no addresses at all top1 %.3f"
             % (metrics["test_portal"]["top1"], metrics["test_no_address"]["top1"]) if "test_portal" in metrics else "")
    final = fit_executor_model(df, seed)
    final.reason_model_.temperature_ = model.reason_model_.temperature_
    final.template_model_.temperature_ = model.template_model_.temperature_
    if final.object_model_ is not None and model.object_model_ is not None:
        final.object_model_.temperature_ = model.object_model_.temperature_
    sizes = {"rows": len(df), "train_rows": len(train_part), "test_rows": len(test_part)}
    return final, {"metrics": metrics, "sizes": sizes, "executors": sorted(df["executor"].unique().tolist())}


def train(shared_data_dir: Path, seed: int = 13) -> TrainedComponent:
    start = time.time()
    shared_data_dir = Path(shared_data_dir)
    rubricator = load_rubricator()
    spb = appeals.load_spb(shared_data_dir, rubricator)
    portal = spb_portal_fields(shared_data_dir)
    spb["address"] = spb["id"].map(portal["full_address"])
    spb["object"] = spb["id"].map(portal["city_object"])
    kursk = appeals.load_kursk(shared_data_dir, rubricator)
    models, meta_by_region = {}, {}
    models["spb"], meta_by_region["spb"] = _train_one("spb", spb, seed)
    models["kursk"], meta_by_region["kursk"] = _train_kursk(kursk, seed)
    RouteTagger(models)  # checks the models are fitted before saving
    files = [shared_data_dir / appeals.SPB_FILE, shared_data_dir / appeals.KURSK_FILE]
    meta = {
        "metrics": {r: m["metrics"] for r, m in meta_by_region.items()},
        "sizes": {r: m["sizes"] for r, m in meta_by_region.items()},
        "labels": {r: m["executors"] for r, m in meta_by_region.items()},
        "data_sha256": data_hashes(files, shared_data_dir),
        "params": {"cap_per_reason": CAP_PER_REASON, "spb": ExecutorModel(random_state=seed).get_params(),
                   "kursk": PlaceExecutorModel(random_state=seed).get_params()},
        "seed": seed,
        "train_seconds": round(time.time() - start, 1),
    }
    return TrainedComponent("route", models, meta)

"""Train the "geo" component: coordinates → district/municipality, city centroids, the SPb street index.

    python -m training.geo            # train on shared data and save into model/artifacts/default

Data (read from shared/data at training time, never copied into the repo):
- appeals/spb_nash_spb: the portal's message points (latitude, longitude → district, МО) and its
  building addresses (full_address → street → district);
- toponyms/spb_lo_districts_settlements_streets.csv (hype-tech/spb-data, MIT): St Petersburg's
  streets by district (the 2018 list; partial) — only its St Petersburg rows are used;
- toponyms/hflabs_city.csv (hflabs/city, CC BY-SA 4.0): centroids of the towns of the regions of
  the other profiles, named as in our gazetteers.

The held-out split is by time (the last 20% of messages by petition_dt), because the same
buildings and authors repeat; metrics are per district (precision, recall, F1) and for the МО.
"""
from __future__ import annotations

import csv
import logging
import math
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_fscore_support

from model.address import STREET_TYPES, street_canonical
from model.gazetteer import load_gazetteers, street_keys, words_of
from model.geo import GeoIndex, majority
from model.paths import DATA_DIR, DEFAULT_ARTIFACT, SHARED_DATA_DIR
from training.base import TrainedComponent, data_hashes

log = logging.getLogger(__name__)

SPB_FILE = Path("appeals/spb_nash_spb/spb_appeals_2020_10_to_2021_03.csv.gz")
STREETS_FILE = Path("toponyms/spb_lo_districts_settlements_streets.csv")
CITIES_FILE = Path("toponyms/hflabs_city.csv")

# hflabs region name → our profile id (towns of these regions get centroids)
REGION_PROFILES = {
    "Кировская": "vyatskiye_polyany",
    "Краснодарский": "krymsk",
    "Алтайский": "altai_krai",
    "Карачаево-Черкесская": "zelenchuk",
    "Омская": "omsk",
    "Курская": "kursk",
}
# the type abbreviations of hype-tech/spb-data («Адмиралтейская ул.», «Вознесенское ш.», «Линия 10-я»)
_CSV_TYPES = {
    "ул.": "улица", "пер.": "переулок", "ш.": "шоссе", "шоссе": "шоссе", "пр.": "проспект", "проезд": "проезд",
    "пр-д": "проезд", "кв-л": "квартал", "пл.": "площадь", "бул.": "бульвар", "наб.": "набережная", "аллея": "аллея",
    "ал.": "аллея", "линия": "линия",
}
_TYPE_WORDS = {t.canonical: t for t in STREET_TYPES.values()}


def district_name(raw: str) -> str:
    return f"{raw.strip()} район"


def mo_settlement(mo: str | None) -> str | None:
    """«город Колпино» → «Колпино», «посёлок Шушары» → «посёлок Шушары»; a numbered МО → None."""
    if not isinstance(mo, str):
        return None
    m = re.match(r"^(город|поселок|посёлок)\s+(.+)$", mo.strip(), re.I)
    if not m:
        return None
    return m.group(2) if m.group(1).lower() == "город" else f"посёлок {m.group(2)}"


def csv_street(raw: str) -> str | None:
    """«Адмиралтейская ул.» → «Адмиралтейская улица»; None for rows that are not streets."""
    parts = raw.strip().strip('"').split()
    if len(parts) < 2:
        return None
    for idx, name_first in ((-1, True), (0, False)):
        t = _CSV_TYPES.get(parts[idx].lower())
        if t:
            name = parts[:-1] if idx == -1 else parts[1:]
            if not name or not all(re.fullmatch(r"[А-ЯЁа-яё0-9.\-]+", w) for w in name):
                return None
            return street_canonical(_TYPE_WORDS[t], name, name_first)
    return None


def portal_street(full_address: str) -> str | None:
    """«г.Санкт-Петербург, Мебельная улица, дом 47, корпус 1» → «Мебельная улица»."""
    if not isinstance(full_address, str):
        return None
    for part in full_address.split(",")[1:]:
        part = part.strip()
        words = part.split()
        if any(w.lower() in _TYPE_WORDS for w in words) and not part.lower().startswith(("дом", "корпус", "литера", "строение")):
            return part
    return None


def load_spb(shared_data_dir: Path) -> pd.DataFrame:
    df = pd.read_csv(shared_data_dir / SPB_FILE, usecols=["id", "petition_dt", "district", "municipality", "full_address", "latitude", "longitude", "text"])
    return df.dropna(subset=["latitude", "longitude", "district"]).sort_values("petition_dt", kind="stable").reset_index(drop=True)


def spb_streets(shared_data_dir: Path, portal: pd.DataFrame) -> list[tuple]:
    """(street, district, municipality, search keys) from the MIT street list and the portal's addresses."""
    by_key: dict[tuple[str, ...], str] = {}
    districts: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for row, street in ((r, portal_street(r.full_address)) for r in portal.itertuples()):
        if street:
            key = words_of(street)
            by_key.setdefault(key, street)
            districts[key].append(district_name(row.district))
    with open(shared_data_dir / STREETS_FILE, encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["region"] != "Санкт-Петербург" or not row["street"]:
                continue
            street = csv_street(row["street"])
            if street:
                key = words_of(street)
                by_key.setdefault(key, street)
                districts[key].append(district_name(row["district"]))
    # most written first: where two streets share a name («Гражданский проспект/переулок») the
    # gazetteer answers the one people write about most
    ranked = sorted(by_key.items(), key=lambda kv: (-len(districts[kv[0]]), kv[1]))
    # search keys precomputed here, so loading the artifact does not inflect 1,700 names
    return [
        (street, majority(districts[key]), "Санкт-Петербург", sorted(street_keys(street)))
        for key, street in ranked
    ]


def city_centroids(shared_data_dir: Path) -> list[tuple[float, float, float, str | None, str | None]]:
    gazetteers = load_gazetteers(DATA_DIR / "gazetteers")
    out = []
    with open(shared_data_dir / CITIES_FILE, encoding="utf-8") as f:
        for row in csv.DictReader(f):
            profile = REGION_PROFILES.get(row["region"])
            if profile is None or not row["geo_lat"]:
                continue
            city = row["city"]
            municipality, settlement = city, None
            gaz = gazetteers.get(profile)
            if gaz is not None:
                places = [p for p in gaz.names.get(words_of(city), []) if p.kind in ("municipality", "settlement")]
                if places and places[0].kind == "settlement":
                    municipality, settlement = places[0].municipality, places[0].name
                elif not places and row["area"]:
                    municipality, settlement = f"{row['area']} район", city
            population = float(row["population"] or 10_000)
            radius = max(4.0, 2.5 * math.sqrt(population / 10_000))
            out.append((float(row["geo_lat"]), float(row["geo_lon"]), radius, municipality, settlement))
    return out


def _labels(df: pd.DataFrame) -> list[tuple[str, str | None, str | None]]:
    return [
        (district_name(d), m if isinstance(m, str) else None, mo_settlement(m))
        for d, m in zip(df["district"], df["municipality"])
    ]


def _points(df: pd.DataFrame) -> tuple[np.ndarray, list]:
    """Unique (rounded point, label) pairs: the portal repeats buildings many times."""
    frame = pd.DataFrame({"lat": df["latitude"].round(5), "lon": df["longitude"].round(5)})
    frame["label"] = _labels(df)
    frame = frame.drop_duplicates(["lat", "lon", "label"])
    return frame[["lat", "lon"]].to_numpy(), list(frame["label"])


def evaluate_split(df: pd.DataFrame, seed: int = 13) -> dict:
    """Fit on the first 80% of messages by time, score the last 20%."""
    cut = int(len(df) * 0.8)
    train_df, test_df = df.iloc[:cut], df.iloc[cut:]
    pts, labels = _points(train_df)
    index = GeoIndex().fit(pts, labels)
    pred = index.predict(test_df[["latitude", "longitude"]].to_numpy())
    gold = _labels(test_df)
    answered = [p is not None for p in pred]
    pd_d = [p[0] if p else "none" for p in pred]
    gd_d = [g[0] for g in gold]
    classes = sorted(set(gd_d))
    prec, rec, f1, sup = precision_recall_fscore_support(gd_d, pd_d, labels=classes, zero_division=0)
    return {
        "split": "time: first 80% by petition_dt for fitting, last 20% for scoring",
        "n_test": len(test_df),
        "coverage": float(np.mean(answered)),
        "district_accuracy": float(np.mean([a == b for a, b in zip(pd_d, gd_d)])),
        "municipality_accuracy": float(np.mean([(p[1] if p else None) == g[1] for p, g in zip(pred, gold)])),
        "district_per_class": {
            c: {"precision": round(float(p), 4), "recall": round(float(r), 4), "f1": round(float(f), 4), "support": int(s)}
            for c, p, r, f, s in zip(classes, prec, rec, f1, sup)
        },
    }


def train(shared_data_dir: Path = SHARED_DATA_DIR, seed: int = 13) -> TrainedComponent:
    shared_data_dir = Path(shared_data_dir)
    df = load_spb(shared_data_dir)
    metrics = evaluate_split(df, seed)
    log.info("geo held-out: district accuracy %.3f, МО accuracy %.3f", metrics["district_accuracy"], metrics["municipality_accuracy"])
    pts, labels = _points(df)
    streets = spb_streets(shared_data_dir, df)
    centroids = city_centroids(shared_data_dir)
    index = GeoIndex().fit(pts, labels, centroids, {"spb": streets})
    meta = {
        "metrics": metrics,
        "labels": sorted({lab[0] for lab in labels}),
        "sizes": {"points": len(pts), "spb_streets": len(streets), "centroids": len(centroids)},
        "data": data_hashes([shared_data_dir / p for p in (SPB_FILE, STREETS_FILE, CITIES_FILE)], shared_data_dir),
        "licences": {
            str(STREETS_FILE): "MIT (hype-tech/spb-data)",
            str(CITIES_FILE): "CC BY-SA 4.0 (hflabs/city)",
            str(SPB_FILE): "none stated; research use (portal data)",
        },
    }
    return TrainedComponent("geo", index, meta)


def main() -> None:
    from model.artifact import save_artifact

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    trained = train(SHARED_DATA_DIR)
    save_artifact(DEFAULT_ARTIFACT, {trained.name: trained.estimator}, {trained.name: trained.meta})
    m = trained.meta["metrics"]
    print(f"geo: district accuracy {m['district_accuracy']:.3f}, МО accuracy {m['municipality_accuracy']:.3f}, "
          f"coverage {m['coverage']:.3f} on {m['n_test']} held-out messages; sizes {trained.meta['sizes']}")


if __name__ == "__main__":
    main()

"""Sanity check of the repeats component on real same-author posts of the SPb portal.

The portal data has `author_hash` (the same author across posts), the building, a map point and
the theme the author chose. Consecutive posts of one author within `max_days` make pairs; the
proxy label says "same issue" when both are about the same building (or map points within 30 m)
and have the same theme, and "another issue" when the theme differs or the points are over 300 m
apart (anything else is left out as unclear). This is a proxy, not a gold label: a second broken
lamp in the same building is "the same issue" to it. It tells whether the component behaves
sensibly on real text; the hand-labelled pairs (evaluate_repeats.py) measure it.

    python -m training.mine_repeats [--pairs 3000] [--with-portal-topic] [--examples 8]
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import random
from pathlib import Path

import pandas as pd

from model.paths import SHARED_DATA_DIR

from .evaluate_repeats import evaluate

log = logging.getLogger(__name__)

SPB = Path("appeals") / "spb_nash_spb" / "spb_appeals_2020_10_to_2021_03.csv.gz"


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dy = (lat2 - lat1) * 111_320
    dx = (lon2 - lon1) * 111_320 * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot(dx, dy)


def mine_pairs(shared_data_dir: Path = SHARED_DATA_DIR, max_pairs: int = 3000, max_days: int = 90,
               per_author: int = 10, with_topic: bool = False, seed: int = 13) -> list[dict]:
    df = pd.read_csv(shared_data_dir / SPB, usecols=[
        "id", "petition_dt", "author_hash", "building_id", "latitude", "longitude", "category", "reason", "text"])
    df = df.dropna(subset=["author_hash", "text"]).sort_values(["author_hash", "petition_dt"])
    df["t"] = pd.to_datetime(df["petition_dt"])
    pairs = []
    for author, g in df.groupby("author_hash", sort=False):
        rows = g.to_dict("records")
        found = []
        for a, b in zip(rows, rows[1:]):
            if (b["t"] - a["t"]).days > max_days or a["text"].strip() == "" or b["text"].strip() == "":
                continue
            dist = metres(a["latitude"], a["longitude"], b["latitude"], b["longitude"])
            same_building = (not pd.isna(a["building_id"]) and a["building_id"] == b["building_id"]) or dist <= 30
            if same_building and a["reason"] == b["reason"]:
                label, kind = True, "spb_same_place_same_theme"
            elif dist > 300:
                label, kind = False, "spb_far_apart"
            elif a["reason"] != b["reason"]:
                label, kind = False, "spb_near_other_theme"
            else:
                continue  # same theme, 30–300 m apart: unclear
            found.append((a, b, label, kind))
        random.Random(hash(author) % 1000 + seed).shuffle(found)
        for a, b, label, kind in found[:per_author]:  # prolific authors must not make the whole sample
            pairs.append({"earlier": _post(a, with_topic), "later": _post(b, with_topic), "repeat": label,
                          "new_arguments": None, "kind": kind})
    random.Random(seed).shuffle(pairs)
    return pairs[:max_pairs]


def _post(row: dict, with_topic: bool) -> dict:
    post = {"id": f"spb-{row['id']}", "text": row["text"], "author_id": row["author_hash"],
            "created_at": row["t"].tz_localize("Europe/Moscow").isoformat(), "region": "spb",
            "geo": {"lat": float(row["latitude"]), "lon": float(row["longitude"])}, "source": "other"}
    if with_topic:
        post["topic"] = {"group": row["category"], "name": row["reason"]}
    return post


def _flagged(result: dict, kind: str) -> str:
    n = result["by_kind"][kind]["pairs"]
    wrong = sum(1 for e in result["errors"] if e["kind"] == kind and e["got"][0])
    return f"{wrong}/{n} ({wrong / n:.1%})" if n else "0"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3000)
    parser.add_argument("--with-portal-topic", action="store_true",
                        help="give the component the portal's theme as the topic (a perfect topic step)")
    parser.add_argument("--examples", type=int, default=0, help="print this many disagreements of each kind")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    pairs = mine_pairs(max_pairs=args.pairs, with_topic=args.with_portal_topic)
    result = evaluate(pairs)
    same = sum(p["repeat"] for p in pairs)
    print(f"SPb same-author consecutive pairs: {len(pairs)} ({same} same building+theme, {len(pairs) - same} other)"
          f"  mode: {'text+geo+portal theme' if args.with_portal_topic else 'text+geo'}")
    o = result["overall"]
    print(f"agreement with the proxy: precision {o['repeat_precision']:.3f} recall {o['repeat_recall']:.3f} "
          f"f1 {o['repeat_f1']:.3f}")
    for kind, m in result["by_kind"].items():
        rate = m["repeat_recall"] if kind == "spb_same_place_same_theme" else None
        flagged = (f"found as repeats: {rate:.1%}" if rate is not None
                   else f"flagged as repeats: {_flagged(result, kind)}")
        print(f"  {kind:26s} n={m['pairs']:4d}  {flagged}")
    if args.examples:
        fps = [e for e in result["errors"] if not e["gold"][0] and e["got"][0]][: args.examples]
        fns = [e for e in result["errors"] if e["gold"][0] and not e["got"][0]][: args.examples]
        for title, rows in (("said repeat, proxy says other issue", fps), ("missed, proxy says same issue", fns)):
            print(f"-- {title}")
            for e in rows:
                print(json.dumps({"earlier": e["earlier"][:150], "later": e["later"][:150], "facts": e["facts"]},
                                 ensure_ascii=False))


if __name__ == "__main__":
    main()

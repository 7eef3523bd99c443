"""Evaluate the location component.

    python -m training.evaluate_location                 # hand-labelled set, with the artifact's geo index
    python -m training.evaluate_location --errors        # ... and print every disagreement
    python -m training.evaluate_location --spb-agreement # + agreement with the SPb portal's addresses

1. data/eval/locations.jsonl (hand-written posts of the seven regions, gold per part; see
   /work/team/readme/location.md): exact match per part (ё = е), street+house jointly, and the
   precision/recall of "a location was found".
2. --spb-agreement: on the real SPb portal messages of the last 20% by time, where the text names a
   street and the portal has the building's address, how often the text's street is the
   address's street. The street index for this check is built from the first 80% only (plus the
   MIT street list), so the portal's own answer is not in it.
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from collections import defaultdict
from pathlib import Path

from model.artifact import load_artifact
from model.errors import ArtifactError
from model.gazetteer import words_of
from model.location import LocationTagger
from model.paths import DATA_DIR, DEFAULT_ARTIFACT, SHARED_DATA_DIR
from model.text import normalize

log = logging.getLogger(__name__)

PARTS = ("municipality", "district", "settlement", "street", "house")
EVAL_FILE = DATA_DIR / "eval" / "locations.jsonl"
# written after the rules were frozen and scored as is: the honest estimate for unseen posts
HOLDOUT_FILE = DATA_DIR / "eval" / "locations_holdout.jsonl"


def _norm(value: str | None) -> str | None:
    return None if value is None else " ".join(value.replace("ё", "е").replace("Ё", "Е").split())


# real posts labelled by id: the text stays in shared/data and is read at evaluation time
REAL_FILES = (DATA_DIR / "eval" / "locations_real_kursk.jsonl", DATA_DIR / "eval" / "locations_real_spb.jsonl")
_TEXT_COLUMNS = ("text", "Текст Сообщения")


def _shared_texts(source: str, shared_data_dir: Path) -> dict[str, str]:
    import pandas as pd

    df = pd.read_csv(shared_data_dir / source)
    column = next((c for c in _TEXT_COLUMNS if c in df.columns), None)
    if column is None:
        raise ValueError(f"{source}: expected a text column ({', '.join(_TEXT_COLUMNS)}), got {list(df.columns)}")
    return {str(i): str(t) for i, t in zip(df["id"], df[column])}


def load_eval(path: Path = EVAL_FILE, shared_data_dir: Path = SHARED_DATA_DIR) -> list[dict]:
    rows = []
    texts: dict[str, dict[str, str]] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if "text" not in row and row.get("source"):
                if row["source"] not in texts:
                    texts[row["source"]] = _shared_texts(row["source"], shared_data_dir)
                row["text"] = texts[row["source"]].get(str(row.get("id")))
            if not isinstance(row.get("text"), str) or not isinstance(row.get("gold"), dict):
                raise ValueError(f"{path}:{n}: expected text (or id + source) and gold, got {sorted(row)}")
            rows.append(row)
    return rows


def evaluate(tagger: LocationTagger, rows: list[dict]) -> dict:
    """Exact match per part, joint street+house, found precision/recall, per-region accuracy."""
    hits = defaultdict(int)
    by_region: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    found_tp = found = gold_any = 0
    errors = []
    for row in rows:
        loc = tagger.locate(normalize(row["text"]), row.get("region"))
        pred = {p: _norm(getattr(loc, p)) if loc else None for p in PARTS}
        gold = {p: _norm(row["gold"].get(p)) for p in PARTS}
        reg = by_region[row.get("region") or "-"]
        reg["n"] += 1
        ok_all = True
        for p in PARTS:
            if pred[p] == gold[p]:
                hits[p] += 1
                reg[p] += 1
            else:
                ok_all = False
            if gold[p] is not None:
                hits[f"{p}_gold"] += 1
                hits[f"{p}_gold_hit"] += pred[p] == gold[p]
        if pred["street"] == gold["street"] and pred["house"] == gold["house"]:
            hits["street+house"] += 1
            reg["street+house"] += 1
        has_pred, has_gold = loc is not None, any(gold.values())
        found += has_pred
        gold_any += has_gold
        found_tp += has_pred and has_gold
        if not ok_all:
            errors.append({"text": row["text"], "region": row.get("region"), "gold": gold, "pred": pred})
    n = len(rows)
    return {
        "n": n,
        "n_without_location": n - gold_any,
        "exact": {p: hits[p] / n for p in PARTS} | {"street+house": hits["street+house"] / n},
        "exact_where_gold_given": {
            p: (hits[f"{p}_gold_hit"] / hits[f"{p}_gold"] if hits[f"{p}_gold"] else None) for p in PARTS
        },
        "found_precision": found_tp / max(1, found),
        "found_recall": found_tp / max(1, gold_any),
        "by_region": {
            r: {k: (v / c["n"] if k != "n" else v) for k, v in c.items()} for r, c in sorted(by_region.items())
        },
        "errors": errors,
    }


def spb_agreement(shared_data_dir: Path = SHARED_DATA_DIR, limit: int | None = None) -> dict:
    """Street agreement between the text and the portal's full_address on the held-out 20% (by time)."""
    from training.geo import load_spb, portal_street, spb_streets

    df = load_spb(shared_data_dir)
    cut = int(len(df) * 0.8)
    train_df, test_df = df.iloc[:cut], df.iloc[cut:]
    tagger = LocationTagger.from_data(DATA_DIR)
    tagger.gazetteers["spb"].add_streets(spb_streets(shared_data_dir, train_df))
    if limit:
        test_df = test_df.iloc[:limit]
    texts = [normalize(t) for t in test_df["text"].fillna("")]
    start = time.perf_counter()
    preds = [tagger.extract(t, "spb") for t in texts]
    seconds = time.perf_counter() - start
    named = both = agree = 0
    for pred, address in zip(preds, test_df["full_address"]):
        if pred.street is None:
            continue
        named += 1
        portal = portal_street(address)
        if portal is None:
            continue
        both += 1
        a = set(words_of(pred.street)) - {"в", "о", "п", "с"}
        b = set(words_of(portal)) - {"в", "о", "п", "с"}
        agree += a == b
    return {
        "n_messages": len(texts),
        "text_names_street": named,
        "with_portal_address": both,
        "agreement": agree / max(1, both),
        "posts_per_second": len(texts) / seconds if seconds else None,
    }


def build_tagger(use_geo: bool = True, use_ner: bool = False) -> LocationTagger:
    geo = None
    if use_geo:
        try:
            geo = load_artifact(DEFAULT_ARTIFACT).get("geo")
        except ArtifactError as exc:
            log.warning("no geo index (%s); evaluating without the SPb street index", exc)
    return LocationTagger.from_data(DATA_DIR, geo, use_ner=use_ner)


def main(argv: list[str] | None = None) -> None:  # noqa: D103
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--errors", action="store_true", help="print every post with a wrong part")
    ap.add_argument("--no-geo", action="store_true", help="without the artifact (no SPb street index)")
    ap.add_argument("--ner", action="store_true", help="with the natasha NER fallback")
    ap.add_argument("--spb-agreement", action="store_true", help="also the agreement with the SPb portal")
    ap.add_argument("--limit", type=int, default=None, help="SPb messages to read for the agreement")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    tagger = build_tagger(not args.no_geo, args.ner)
    for path in (EVAL_FILE, HOLDOUT_FILE, *REAL_FILES):
        if path in REAL_FILES and not SHARED_DATA_DIR.is_dir():
            continue
        if path.is_file():
            report(evaluate(tagger, load_eval(path)), path, args.errors)
    if args.spb_agreement:
        a = spb_agreement(SHARED_DATA_DIR, args.limit)
        print(
            f"SPb portal, last 20% by time: {a['n_messages']} messages, text names a street in {a['text_names_street']}, "
            f"{a['with_portal_address']} of them with a portal address; street agreement {a['agreement']:.3f}; "
            f"{a['posts_per_second']:.0f} posts/s"
        )


def report(res: dict, path: Path, errors: bool) -> None:
    print(f"{path.relative_to(DATA_DIR.parent)}: {res['n']} posts ({res['n_without_location']} without a location)")
    for part, value in res["exact"].items():
        given = res["exact_where_gold_given"].get(part)
        extra = f"   (where gold is given: {given:.3f})" if given is not None else ("   (no gold given)" if part in PARTS else "")
        print(f"  exact {part:<13} {value:.3f}{extra}")
    print(f"  found precision {res['found_precision']:.3f}   recall {res['found_recall']:.3f}")
    print("  by region (settlement / street+house):")
    for region, r in res["by_region"].items():
        print(f"    {region:<18} n={r['n']:<3} settlement {r['settlement']:.3f}  street+house {r['street+house']:.3f}")
    if errors:
        for e in res["errors"]:
            diff = {p: (e["gold"][p], e["pred"][p]) for p in PARTS if e["gold"][p] != e["pred"][p]}
            print(f"  [{e['region']}] {e['text']}\n      gold→pred {diff}")


if __name__ == "__main__":
    main()

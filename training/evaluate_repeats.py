"""Evaluate the repeats component on labelled pairs (data/eval/repeats_pairs.jsonl).

Each line: {"earlier": post, "later": post, "repeat": bool, "new_arguments": bool | null, "kind": str}.
For each pair a fresh history gets the earlier post, then the later one is tagged; we report the
precision/recall of `repeat_of` (the earlier id found in the later post's repeat_of), the accuracy
of `new_arguments` on the true repeats, the same per kind, and how many cross-author copies within
the incident window joined one incident.

    python -m training.evaluate_repeats [--pairs PATH] [--pipeline]

`--pipeline` first runs the project's topic and location components from the default artifact
(when they are available), as the service does; without it the component sees the text only.
"""
from __future__ import annotations

import argparse
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from model.doc import Doc
from model.errors import DataError
from model.history import MemoryHistoryStore
from model.incidents import IncidentTagger
from model.paths import DATA_DIR
from model.profiles import Profile, Profiles
from model.records import Geo, Post, Topic
from model.repeats import RepeatTagger

log = logging.getLogger(__name__)

DEFAULT_PAIRS = DATA_DIR / "eval" / "repeats_pairs.jsonl"


def post_from_json(raw: dict) -> Post:
    if not isinstance(raw.get("id"), str) or not isinstance(raw.get("text"), str):
        raise DataError(f"expected a post with string id and text, got {sorted(raw)}")
    geo = raw.get("geo")
    return Post(
        id=raw["id"],
        text=raw["text"],
        author_id=raw.get("author_id"),
        created_at=datetime.fromisoformat(raw["created_at"]) if raw.get("created_at") else None,
        source=raw.get("source"),
        region=raw.get("region"),
        geo=Geo(geo["lat"], geo["lon"]) if geo else None,
        address=raw.get("address"),
        answered_at=datetime.fromisoformat(raw["answered_at"]) if raw.get("answered_at") else None,
    )


def load_pairs(path: Path | str = DEFAULT_PAIRS) -> list[dict]:
    pairs = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            for key in ("earlier", "later", "repeat"):
                if key not in row:
                    raise DataError(f"{path}:{n}: expected key {key!r}, got {sorted(row)}")
            pairs.append(row)
    return pairs


def eval_profiles() -> Profiles:
    """The project's profiles when present; else a minimal Omsk profile (the repeat rule's region)."""
    try:
        profiles = Profiles.load()
        if "omsk" in profiles:
            return profiles
    except Exception as exc:  # noqa: BLE001 — any problem with the profile files: fall back, say so
        log.warning("profiles not loaded (%s); using a minimal omsk profile", exc)
    omsk = Profile("omsk", "Омск", "Asia/Omsk", frozenset({"repeat_no_new_arguments"}), {}, {})
    return Profiles({"omsk": omsk}, "omsk")


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    new_ok: int = 0
    new_n: int = 0

    def as_dict(self) -> dict:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        return {
            "pairs": self.tp + self.fp + self.fn + self.tn,
            "repeat_precision": round(p, 3), "repeat_recall": round(r, 3), "repeat_f1": round(f1, 3),
            "new_arguments_accuracy": round(self.new_ok / self.new_n, 3) if self.new_n else None,
            "new_arguments_n": self.new_n,
        }


def evaluate(pairs: list[dict], upstream: Callable[[list[Doc]], None] | None = None) -> dict:
    profiles = eval_profiles()
    known = set(profiles.ids())
    total, by_kind = Counts(), defaultdict(Counts)
    copies = joined = 0
    errors = []
    for pair in pairs:
        store = MemoryHistoryStore()
        repeats, incidents = RepeatTagger(store, profiles), IncidentTagger(store)
        docs = []
        for key in ("earlier", "later"):
            post = post_from_json(pair[key])
            doc = Doc.from_post(post, post.region if post.region in known else profiles.default)
            if upstream is not None:
                upstream([doc])
            given = pair[key].get("topic")
            if given:
                # a topic given with the post stands for the topic component's answer (e.g. the
                # portal's own category, to see the component with a perfect topic upstream)
                doc.topic = Topic(name=given["name"], group=given["group"], score=1.0)
            incidents([doc])
            repeats([doc])
            docs.append(doc)
        earlier, later = docs
        predicted = earlier.post.id in later.repeat_of
        gold = bool(pair["repeat"])
        for c in (total, by_kind[pair.get("kind", "-")]):
            if predicted and gold:
                c.tp += 1
            elif predicted:
                c.fp += 1
            elif gold:
                c.fn += 1
            else:
                c.tn += 1
            if gold and pair.get("new_arguments") is not None:
                c.new_n += 1
                c.new_ok += int(later.new_arguments is pair["new_arguments"])
        wrong_args = gold and pair.get("new_arguments") is not None and later.new_arguments is not pair["new_arguments"]
        if predicted != gold or wrong_args:
            errors.append({"kind": pair.get("kind"), "gold": [gold, pair.get("new_arguments")],
                           "got": [predicted, later.new_arguments], "facts": later.extras.get("repeat"),
                           "earlier": earlier.post.text, "later": later.post.text})
        if earlier.post.author_id != later.post.author_id:
            hours = abs((later.post.created_at - earlier.post.created_at).total_seconds()) / 3600
            if hours <= incidents.window_hours:
                copies += 1
                joined += int(later.incident_id == earlier.incident_id)
    return {
        "overall": total.as_dict(),
        "by_kind": {k: v.as_dict() for k, v in sorted(by_kind.items())},
        "incident_copies_joined": f"{joined}/{copies}",
        "errors": errors,
    }


def pipeline_upstream() -> Callable[[list[Doc]], None] | None:
    """The topic and location components of the default artifact, or None when they can't load."""
    try:
        from model.pipeline import Pipeline, PipelineOptions

        pipeline = Pipeline.load(PipelineOptions(steps=["topic", "location"]))
    except Exception as exc:  # noqa: BLE001 — the other components are optional for this evaluation
        log.warning("pipeline not available (%s): evaluating on the text only", exc)
        return None
    return pipeline.run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=DEFAULT_PAIRS)
    parser.add_argument("--pipeline", action="store_true", help="run topic and location first")
    parser.add_argument("--errors", action="store_true", help="print the misjudged pairs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    upstream = pipeline_upstream() if args.pipeline else None
    result = evaluate(load_pairs(args.pairs), upstream)
    print(f"pairs: {args.pairs}  mode: {'topic+location+text' if upstream else 'text only'}")
    o = result["overall"]
    print(f"repeat_of: precision {o['repeat_precision']:.3f} recall {o['repeat_recall']:.3f} f1 {o['repeat_f1']:.3f} "
          f"({o['pairs']} pairs)")
    print(f"new_arguments accuracy on true repeats: {o['new_arguments_accuracy']} (n={o['new_arguments_n']})")
    for kind, m in result["by_kind"].items():
        print(f"  {kind:14s} n={m['pairs']:3d}  P={m['repeat_precision']:.2f} R={m['repeat_recall']:.2f} "
              f"new_args_acc={m['new_arguments_accuracy']}")
    print(f"cross-author copies within the incident window joined one incident: {result['incident_copies_joined']}")
    if args.errors:
        for e in result["errors"]:
            print(json.dumps(e, ensure_ascii=False))


if __name__ == "__main__":
    main()

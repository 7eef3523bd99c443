"""How much a region's portal prior (`model.topic.PortalGroupPrior`) moves topic groups.

    OMP_NUM_THREADS=1 .venv/bin/python -m training.portal_prior [--region spb|kursk] [--weights 0 0.3 0.4 0.5] [--refit-topic]

The portal categories are refitted on the region's training part only — St Petersburg: the router
(`training.route.fit_executor_model` on the time-and-author split); Kursk: the "portal" component's
model (`training.portal.fit_kursk` on the id split) — with temperatures fitted on the test part as
the trainers do, so they have not seen the test posts. The topic model is the shipped one (it has seen them: the
baseline is optimistic, the gain is not), or with --refit-topic the trainer's evaluation model,
fitted on the training parts exactly as `training.topic.train` does (~1.5 minutes more): then
every number is held out. Scored per weight: group accuracy on the SPb test period,
and on the hand-written informal sets (topics_informal + topics_blind) tagged as the region's posts
— what the prior costs a VK-style post of that region. Posts of other regions never see it.
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from model.doc import Doc
from model.paths import DATA_DIR, DEFAULT_ARTIFACT, SHARED_DATA_DIR
from model.records import Post

log = logging.getLogger(__name__)

INFORMAL_FILES = ("topics_informal.jsonl", "topics_blind.jsonl")


def _group_accuracy(tagger: Any, texts: list[str], gold: list[str], region: str) -> float:
    docs = [Doc.from_post(Post(id=str(i), text=t, region=region), region) for i, t in enumerate(texts)]
    tagger(docs)
    return round(float(np.mean([d.topic is not None and d.topic.group == g for d, g in zip(docs, gold)])), 4)


def heldout_topic_model(shared_data_dir: Path, seed: int = 13) -> Any:
    """The topic trainer's evaluation model (`training.topic.fit_heldout_model` on the same parts)."""
    from model.rubricator import load_rubricator

    from . import appeals
    from .topic import _holdout, fit_heldout_model, load_example_files

    rubricator = load_rubricator()
    spb_train, spb_test = appeals.split_by_time_and_author(appeals.load_spb(shared_data_dir, rubricator))
    kursk_train, kursk_test = appeals.split_by_time_and_author(appeals.load_kursk(shared_data_dir, rubricator))
    examples, _ = load_example_files(appeals.EXAMPLES_FILE, rubricator)
    held = _holdout(examples, seed)
    model, _ = fit_heldout_model([spb_train, kursk_train, examples[~held]],
                                 [appeals.dedupe(spb_test), kursk_test, examples[held]], rubricator, seed)
    return model


def _region_part(region: str, shared_data_dir: Path, rubricator: Any, seed: int) -> tuple[Any, Any]:
    """(portal categories fitted on the region's training part, the region's test part)."""
    from . import appeals

    if region == "spb":
        from .route import fit_executor_model

        train, test = appeals.split_by_time_and_author(appeals.load_spb(shared_data_dir, rubricator))
        model = fit_executor_model(train[train["executor"].notna()].reset_index(drop=True), seed)
        calib = test[test["executor"].notna()]
        model.calibrate(calib["clean"].tolist(), calib["label"].tolist(), calib["executor"].tolist(),
                        calib["district"].tolist())
        return model, test
    if region == "kursk":
        from .portal import fit_kursk

        train, test = appeals.split_by_time_and_author(appeals.load_kursk(shared_data_dir, rubricator))
        return fit_kursk(train, seed).calibrate(test["clean"].tolist(), test["label"].tolist()), test
    raise ValueError(f"expected region spb or kursk, got {region!r}")


def evaluate_portal_prior(weights: list[float], region: str = "spb", shared_data_dir: Path = SHARED_DATA_DIR,
                          artifact_path: Path = DEFAULT_ARTIFACT, data_dir: Path = DATA_DIR,
                          seed: int = 13, refit_topic: bool = False) -> dict[str, Any]:
    from model.artifact import load_artifact
    from model.mappings import load_mapping
    from model.rubricator import load_rubricator
    from model.topic import PortalGroupPrior, TopicTagger

    rubricator = load_rubricator()
    portal, test = _region_part(region, shared_data_dir, rubricator, seed)
    topic_model = (heldout_topic_model(shared_data_dir, seed) if refit_topic
                   else load_artifact(artifact_path).get("topic"))
    mapping = load_mapping(region, rubricator, Path(data_dir) / "mappings")
    informal = []
    for name in INFORMAL_FILES:
        with open(Path(data_dir) / "eval" / name, encoding="utf-8") as f:
            informal.extend(json.loads(line) for line in f if line.strip())
    out: dict[str, Any] = {"region": region, "topic_model": "held-out (refitted)" if refit_topic else "shipped",
                           "test_posts": len(test), "informal_posts": len(informal), "weights": {}}
    for w in weights:
        prior = PortalGroupPrior.from_router(portal, mapping, rubricator, topic_model.groups_, weight=w)
        tagger = TopicTagger(topic_model, rubricator, priors={region: prior})
        out["covered"] = sorted(prior.covered)
        out["weights"][str(w)] = {
            "test": _group_accuracy(tagger, test["text"].tolist(), test["group"].tolist(), region),
            "informal_as_region": _group_accuracy(tagger, [r["text"] for r in informal],
                                                  [r["group"] for r in informal], region),
        }
        log.info("weight %s: %s", w, out["weights"][str(w)])
    return out


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - CLI
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", choices=["spb", "kursk"], default="spb")
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.3, 0.4, 0.5])
    parser.add_argument("--refit-topic", action="store_true",
                        help="score with the topic trainer's held-out model instead of the shipped one")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    print(json.dumps(evaluate_portal_prior(args.weights, args.region, refit_topic=args.refit_topic), ensure_ascii=False, indent=1))


if __name__ == "__main__":  # pragma: no cover
    main()

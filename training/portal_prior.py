"""How much the St Petersburg portal prior (`model.topic.PortalGroupPrior`) moves topic groups.

    OMP_NUM_THREADS=1 .venv/bin/python -m training.portal_prior [--weights 0 0.3 0.4 0.5] [--refit-topic]

The router is refitted on the SPb training period only (`training.route.fit_executor_model` on the
time-and-author split, temperatures fitted on the test period as the trainer does), so its portal
categories have not seen the test posts. The topic model is the shipped one (it has seen them: the
baseline is optimistic, the gain is not), or with --refit-topic the trainer's evaluation model,
fitted on the training parts exactly as `training.topic.train` does (~1.5 minutes more): then
every number is held out. Scored per weight: group accuracy on the SPb test period,
and on the hand-written informal sets (topics_informal + topics_blind) tagged as St Petersburg
posts — what the prior costs a VK-style post of that region. Posts of other regions never see it.
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
    """The topic trainer's evaluation model: fitted on the training parts, calibrated on the held-out ones."""
    import pandas as pd

    from model.rubricator import load_rubricator

    from . import appeals
    from .topic import _holdout, fit_model, label_rows, load_example_files, training_rows

    rubricator = load_rubricator()
    spb = appeals.load_spb(shared_data_dir, rubricator)
    kursk = appeals.load_kursk(shared_data_dir, rubricator)
    examples, _ = load_example_files(appeals.EXAMPLES_FILE, rubricator)
    spb_train, spb_test = appeals.split_by_time_and_author(spb)
    kursk_train, kursk_test = appeals.split_by_time_and_author(kursk)
    held = _holdout(examples, seed)
    model = fit_model(training_rows([spb_train, kursk_train, examples[~held], label_rows(rubricator)], seed), seed)
    calib = pd.concat([appeals.dedupe(spb_test), kursk_test, examples[held]], ignore_index=True)
    calib_w = 1.0 / calib.groupby("source")["source"].transform("size").values
    model.calibrate(calib["clean"].tolist(), calib["topic"].tolist(), calib["group"].tolist(), calib_w)
    return model


def evaluate_portal_prior(weights: list[float], shared_data_dir: Path = SHARED_DATA_DIR,
                          artifact_path: Path = DEFAULT_ARTIFACT, data_dir: Path = DATA_DIR,
                          seed: int = 13, refit_topic: bool = False) -> dict[str, Any]:
    from model.artifact import load_artifact
    from model.mappings import load_mapping
    from model.rubricator import load_rubricator
    from model.topic import PortalGroupPrior, TopicTagger

    from . import appeals
    from .route import fit_executor_model

    rubricator = load_rubricator()
    df = appeals.load_spb(shared_data_dir, rubricator)
    train, test = appeals.split_by_time_and_author(df)
    routed = train[train["executor"].notna()].reset_index(drop=True)
    router = fit_executor_model(routed, seed)
    calib = test[test["executor"].notna()]
    router.calibrate(calib["clean"].tolist(), calib["label"].tolist(), calib["executor"].tolist(),
                     calib["district"].tolist())
    topic_model = (heldout_topic_model(shared_data_dir, seed) if refit_topic
                   else load_artifact(artifact_path).get("topic"))
    mapping = load_mapping("spb", rubricator, Path(data_dir) / "mappings")
    informal = []
    for name in INFORMAL_FILES:
        with open(Path(data_dir) / "eval" / name, encoding="utf-8") as f:
            informal.extend(json.loads(line) for line in f if line.strip())
    out: dict[str, Any] = {"topic_model": "held-out (refitted)" if refit_topic else "shipped",
                           "spb_test_posts": len(test), "informal_posts": len(informal), "weights": {}}
    for w in weights:
        prior = PortalGroupPrior.from_router(router, mapping, rubricator, topic_model.groups_, weight=w)
        tagger = TopicTagger(topic_model, rubricator, priors={"spb": prior})
        out["covered"] = sorted(prior.covered)
        out["weights"][str(w)] = {
            "spb_test": _group_accuracy(tagger, test["text"].tolist(), test["group"].tolist(), "spb"),
            "informal_as_spb": _group_accuracy(tagger, [r["text"] for r in informal], [r["group"] for r in informal], "spb"),
        }
        log.info("weight %s: %s", w, out["weights"][str(w)])
    return out


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - CLI
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.3, 0.4, 0.5])
    parser.add_argument("--refit-topic", action="store_true",
                        help="score with the topic trainer's held-out model instead of the shipped one")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    print(json.dumps(evaluate_portal_prior(args.weights, refit_topic=args.refit_topic), ensure_ascii=False, indent=1))


if __name__ == "__main__":  # pragma: no cover
    main()

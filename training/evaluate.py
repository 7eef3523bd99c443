"""`otklik evaluate`: score the artifact's topic and route components and write a report.

- `data_file` given: a .jsonl of posts with gold fields (`text`, and any of `group`, `topic`,
  `executor`; optional `region`, `district`, `municipality`, `id`). The artifact's components run on
  them exactly as in the pipeline (normalize → topic → route; the gold district, when given, stands
  in for the location component) and every gold field present is scored.
- no data file: the held-out metrics recorded at training time (time/author split) are reported,
  and the shipped model is scored on data/eval/topics_informal.jsonl (never trained on).
Writes report_dir/evaluation.md, evaluation.json and confusion_groups.png.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.artifact import load_artifact
from model.doc import Doc
from model.errors import ArtifactError
from model.records import Location, Post
from model.route import RouteTagger
from model.rubricator import load_rubricator
from model.topic import TopicTagger, artifact_priors

from . import appeals
from .report import classification_metrics, confusion_png, metrics_table, topk_accuracy, write_json

log = logging.getLogger(__name__)

DEFAULT_REGION = "omsk"


def tag(posts: pd.DataFrame, topic_tagger, route_tagger=None) -> list[Doc]:
    docs = []
    for row in posts.itertuples(index=False):
        region = getattr(row, "region", None)
        doc = Doc.from_post(Post(id=str(row.id), text=row.text), region if isinstance(region, str) else DEFAULT_REGION)
        district, municipality = getattr(row, "district", None), getattr(row, "municipality", None)
        if isinstance(district, str) or isinstance(municipality, str):
            doc.location = Location(district=district if isinstance(district, str) else None,
                                    municipality=municipality if isinstance(municipality, str) else None)
        docs.append(doc)
    topic_tagger(docs)
    if route_tagger is not None:
        route_tagger(docs)
    return docs


def score(posts: pd.DataFrame, docs: list[Doc]) -> tuple[dict[str, Any], list, list]:
    out: dict[str, Any] = {"n": len(docs)}
    gold_groups, pred_groups = [], []
    has = posts["group"].notna().values
    for ok, gold, doc in zip(has, posts["group"], docs):
        if ok:
            gold_groups.append(gold)
            pred_groups.append(doc.topic.group if doc.topic else "—")
    if gold_groups:
        out["group"] = classification_metrics(gold_groups, pred_groups)
        scored = [(d.topic.group_score or 0.0, d.topic.group == g) for ok, g, d in zip(has, posts["group"], docs)
                  if ok and d.topic is not None]
        out["calibration"] = calibration(scored)
        flagged = [(d.route.needs_review, d.topic is not None and d.topic.group == g)
                   for ok, g, d in zip(has, posts["group"], docs) if ok and d.route is not None]
        if flagged:
            review = [c for r, c in flagged if r]
            kept = [c for r, c in flagged if not r]
            out["review"] = {"needs_review_rate": round(len(review) / len(flagged), 4),
                             "group_accuracy_not_flagged": round(float(np.mean(kept)), 4) if kept else None,
                             "group_accuracy_flagged": round(float(np.mean(review)), 4) if review else None}
    topic_rows = [(g, d) for g, d in zip(posts["topic"], docs) if isinstance(g, str)]
    if topic_rows:
        ranked = [([d.topic.name] + [a.name for a in d.topic.alternatives]) if d.topic else [] for _, d in topic_rows]
        out["topic"] = topk_accuracy([g for g, _ in topic_rows], ranked)
    exec_rows = [(g, d) for g, d in zip(posts["executor"], docs) if isinstance(g, str)]
    if exec_rows:
        ranked = [[name for name, _ in d.extras.get("route_candidates", [])] for _, d in exec_rows]
        out["executor"] = topk_accuracy([g for g, _ in exec_rows], ranked)
        out["executor"]["n"] = len(exec_rows)
    return out, gold_groups, pred_groups


def calibration(scored: list[tuple[float, bool]], bins: int = 10) -> dict[str, float | None]:
    """Mean confidence vs accuracy and the expected calibration error over equal-width bins."""
    if not scored:
        return {"mean_score": None, "accuracy": None, "ece": None}
    conf = np.array([c for c, _ in scored], dtype=float)
    ok = np.array([o for _, o in scored], dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi) if lo > 0 else (conf >= lo) & (conf <= hi)
        if m.any():
            ece += m.mean() * abs(conf[m].mean() - ok[m].mean())
    return {"mean_score": round(float(conf.mean()), 4), "accuracy": round(float(ok.mean()), 4), "ece": round(float(ece), 4)}


def _markdown(results: dict[str, Any], title: str) -> str:
    parts = [f"# {title}", "", f"model: {results.get('model_version')}", ""]

    def scored(name: str, res: dict) -> None:
        if isinstance(res.get("group"), dict) and "per_class" in res["group"]:
            parts.append(metrics_table(res["group"], f"{name}: topic group"))
        for key in ("topic", "executor", "calibration", "review"):
            if isinstance(res.get(key), dict):
                parts.append(f"- {name} {key}: " + ", ".join(f"{k} = {v}" for k, v in res[key].items()) + "\n")

    for split, res in (results.get("trained_topic") or {}).items():
        if isinstance(res, dict):
            scored(f"training held-out {split}", res)
    route = (results.get("trained_route") or {}).get("route") or {}
    if route:
        parts += ["### executors (training held-out split)", "", "| profile | split | n | top-1 | top-3 | macro-F1 |",
                  "|---|---|---|---|---|---|"]
        for region, splits in route.items():
            for split, m in splits.items():
                parts.append(f"| {region} | {split} | {m.get('n')} | {m.get('top1')} | {m.get('top3')} | {m.get('macro_f1')} |")
        parts.append("")
    for name, res in results.items():
        if name not in ("trained_topic", "trained_route", "model_version") and isinstance(res, dict):
            scored(name, res)
    return "\n".join(parts)


def run_evaluate(data_file: Path | None, artifact_dir: Path, report_dir: Path) -> dict[str, Any]:
    artifact = load_artifact(artifact_dir)
    if artifact.get("topic") is None:
        raise ArtifactError(f"{artifact_dir}: expected a 'topic' component, found {sorted(artifact.components)}")
    rubricator = load_rubricator()
    # as the pipeline builds it: rows of a region with a portal prior (spb, kursk) get it
    topic_tagger = TopicTagger(artifact.get("topic"), rubricator, priors=artifact_priors(artifact, rubricator))
    route_tagger = RouteTagger(artifact.get("route"))
    report_dir = Path(report_dir)
    results: dict[str, Any] = {"model_version": artifact.version}
    if data_file is not None:
        posts = appeals.load_jsonl_posts(Path(data_file), source="eval")
        title = f"Evaluation on {Path(data_file).name}"
        key = Path(data_file).stem
    else:
        stored = artifact.meta.get("components", {})
        results["trained_topic"] = stored.get("topic", {}).get("metrics", {})
        results["trained_route"] = {"route": stored.get("route", {}).get("metrics", {})}
        posts = (appeals.load_jsonl_posts(appeals.INFORMAL_EVAL_FILE, source="informal")
                 if appeals.INFORMAL_EVAL_FILE.is_file() else None)
        title = "Evaluation: held-out metrics from training + the informal set"
        key = "informal"
    gold, pred = [], []
    if posts is not None and len(posts):
        docs = tag(posts, topic_tagger, route_tagger)
        results[key], gold, pred = score(posts, docs)
    for name, res in results.items():
        if isinstance(res, dict) and isinstance(res.get("group"), dict) and res["group"].get("accuracy") is not None:
            log.info("%s: group accuracy %.3f, macro-F1 %.3f (n=%d)", name, res["group"]["accuracy"],
                     res["group"]["macro_f1"], res["group"]["n"])
        if isinstance(res, dict) and "executor" in res:
            log.info("%s: executor top1 %s, top3 %s", name, res["executor"].get("top1"), res["executor"].get("top3"))
    report_dir.mkdir(parents=True, exist_ok=True)
    write_json(results, report_dir / "evaluation.json")
    (report_dir / "evaluation.md").write_text(_markdown(results, title), encoding="utf-8")
    if gold:
        confusion_png(gold, pred, report_dir / "confusion_groups.png", f"{title}: topic groups")
    return results

"""Curators' corrections as training data: export from the review store, load, evaluate the effect.

- `export_feedback(database_url, out)` writes one JSON object a line per decided post (corrected
  by default; accepted ones too with `include_accepted`): the post text and the curator's answer
  (`topic`, `group`, `executor`, `location`, `importance`, `exclusions`), what otklik had suggested
  (`suggested`), `decided_by`, `decided_at`. Posts whose text was already cleared by the retention
  are skipped (and counted in the log).
- `load_feedback(path)` reads such a file back into `FeedbackExample` records, checking every topic
  against the rubricator; `feedback_frame(examples)` gives the rows in `training.appeals.COLUMNS`
  (source "feedback") that the topic trainer concatenates with its other frames.
- `evaluate_feedback(old_artifact, new_artifact, path)` runs the topic step of both artifacts on the
  feedback posts and reports how often each agrees with the curators (before / after retraining).
  The feedback posts are training data of the new model, so "after" is agreement on data it saw:
  it shows the corrections were learnt, not an unbiased accuracy (that stays on the held-out splits).
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from model.errors import DataError

from .jsonl import read_jsonl
from model.records import EXCLUSION_REASONS
from model.rubricator import Rubricator, load_rubricator

from . import appeals

log = logging.getLogger(__name__)

SOURCE = "feedback"


@dataclass
class FeedbackExample:
    id: str
    text: str
    region: str | None = None
    topic: str | None = None
    group: str | None = None
    executor: str | None = None  # the responsible department chosen by the curator
    executors: list[str] = field(default_factory=list)  # responsible first, then co-executors
    location: dict[str, Any] | None = None
    importance: str | None = None
    exclusions: list[str] = field(default_factory=list)  # reasons that apply after the decision
    suggested: dict[str, Any] = field(default_factory=dict)  # what otklik said before the decision
    action: str = "correct"
    model_version: str | None = None
    decided_by: str | None = None
    decided_at: str | None = None


def _decision_json(item, entry) -> dict[str, Any]:
    from storage.review import responsible_executor

    after, before = item.current, item.suggested
    topic = after.get("topic") or {}
    route = after.get("route") or {}
    location = after.get("location")
    if location is not None:
        location = {k: v for k, v in location.items() if k not in ("mentions", "source")}
    importance = (after.get("importance") or {}).get("level")
    stopic = before.get("topic") or {}
    decided_at = item.decided_at or (entry.at if entry is not None else None)
    return asdict(FeedbackExample(
        id=item.post_id,
        text=item.text,
        region=item.region,
        topic=topic.get("name"),
        group=topic.get("group"),
        executor=responsible_executor(after),
        executors=[e.get("name") for e in route.get("executors") or []],
        location=location,
        importance=importance,
        exclusions=[e["reason"] for e in after.get("exclusions") or [] if e.get("applies")],
        suggested={
            "topic": stopic.get("name"),
            "group": stopic.get("group"),
            "executor": responsible_executor(before),
            "importance": (before.get("importance") or {}).get("level"),
            "exclusions": [e["reason"] for e in before.get("exclusions") or [] if e.get("applies")],
        },
        action="correct" if item.status == "corrected" else "accept",
        model_version=item.model_version,
        decided_by=item.decided_by or (entry.actor if entry is not None else None),
        decided_at=decided_at.isoformat() if decided_at is not None else None,
    ))


def export_feedback(database_url: str | Path, out: str | Path, include_accepted: bool = False) -> int:
    """Write the curators' decisions as JSONL; returns the number of posts written."""
    from storage.review import open_review_store

    store = open_review_store(database_url)
    try:
        statuses = ("corrected", "accepted") if include_accepted else ("corrected",)
        decided = store.decided(statuses)
    finally:
        store.close()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = skipped = 0
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for item, entry in decided:
            if item.text is None:
                skipped += 1
                continue
            f.write(json.dumps(_decision_json(item, entry), ensure_ascii=False) + "\n")
            written += 1
    tmp.replace(out)
    if skipped:
        log.warning("export-feedback: %d decided posts skipped: their text was cleared after the retention", skipped)
    log.info("export-feedback: wrote %d posts to %s", written, out)
    return written


def load_feedback(path: str | Path, rubricator: Rubricator | None = None) -> list[FeedbackExample]:
    """Read an export-feedback file; a bad line is a DataError naming the line and the field."""
    rubricator = rubricator or load_rubricator()
    path = Path(path)
    if not path.is_file():
        raise DataError(f"expected a feedback file (otklik export-feedback) at {path}, found none")
    known = {f for f in FeedbackExample.__dataclass_fields__}
    out = []
    for n, obj in read_jsonl(path):
        if not isinstance(obj.get("text"), str) or not obj["text"].strip():
            raise DataError(f"{path}:{n}: text: expected a non-empty string")
        if not isinstance(obj.get("id"), str):
            obj["id"] = f"{path.stem}-{n}"
        topic, group = obj.get("topic"), obj.get("group")
        if topic is not None:
            if not rubricator.has_topic(topic):
                raise DataError(f"{path}:{n}: topic: expected a rubricator topic name, got {topic!r}")
            expected = rubricator.topic(topic).group
            if group is not None and group != expected:
                raise DataError(f"{path}:{n}: group: expected {expected!r} for topic {topic!r}, got {group!r}")
            obj["group"] = expected
        elif group is not None and group not in rubricator.groups:
            raise DataError(f"{path}:{n}: group: expected a rubricator group, got {group!r}")
        bad = [r for r in obj.get("exclusions") or [] if r not in EXCLUSION_REASONS]
        if bad:
            raise DataError(f"{path}:{n}: exclusions: expected reasons from {EXCLUSION_REASONS}, got {bad}")
        if obj.get("importance") not in (None, "normal", "high"):
            raise DataError(f"{path}:{n}: importance: expected normal or high, got {obj['importance']!r}")
        out.append(FeedbackExample(**{k: v for k, v in obj.items() if k in known}))
    log.info("feedback: %d examples from %s", len(out), path)
    return out


def feedback_frame(examples: list[FeedbackExample]) -> pd.DataFrame:
    """Topic-labelled feedback as training rows (training.appeals.COLUMNS, source "feedback")."""
    rows = [
        {"id": e.id, "source": SOURCE, "text": e.text, "clean": appeals.clean_text(e.text), "topic": e.topic,
         "group": e.group, "executor": e.executor, "district": (e.location or {}).get("district"),
         "municipality": (e.location or {}).get("municipality"), "author": None, "order": i, "label": e.topic}
        for i, e in enumerate(examples) if e.topic is not None
    ]
    return pd.DataFrame(rows, columns=appeals.COLUMNS)


@dataclass
class FeedbackEvaluation:
    n: int
    before_topic: float  # share of feedback posts where the model's topic is the curators'
    after_topic: float
    before_group: float
    after_group: float
    changed: list[dict[str, Any]] = field(default_factory=list)  # posts whose answer changed

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def markdown(self) -> str:
        lines = [
            "## Curators' feedback: before / after retraining",
            "",
            f"{self.n} corrected posts. Agreement with the curators (the feedback is training data of the",
            "new model: this shows the corrections were learnt, not a held-out accuracy).",
            "",
            "| | before | after |",
            "|---|---|---|",
            f"| topic | {self.before_topic:.3f} | {self.after_topic:.3f} |",
            f"| group | {self.before_group:.3f} | {self.after_group:.3f} |",
        ]
        if self.changed:
            lines += ["", "| post | curators | before | after |", "|---|---|---|---|"]
            lines += [f"| {c['id']} | {c['gold']} | {c['before']} | {c['after']} |" for c in self.changed[:50]]
        return "\n".join(lines) + "\n"


def _topics(artifact_path: Path, examples: list[FeedbackExample]) -> list[tuple[str | None, str | None]]:
    """The topic component of an artifact (the object the pipeline runs) on the feedback posts."""
    from model.artifact import load_artifact
    from model.doc import Doc
    from model.records import Post
    from model.rubricator import load_rubricator
    from model.topic import TopicTagger

    estimator = load_artifact(artifact_path).get("topic")
    if estimator is None:
        raise DataError(f"{artifact_path}: expected an artifact with a topic component, got none")
    tagger = TopicTagger(estimator, load_rubricator())  # built the way the pipeline builds it
    docs = [Doc.from_post(Post(id=e.id, text=e.text), e.region or "") for e in examples]
    tagger(docs)
    return [(d.topic.name, d.topic.group) if d.topic else (None, None) for d in docs]


def evaluate_feedback(old_artifact: str | Path, new_artifact: str | Path, path: str | Path,
                      report: str | Path | None = None) -> FeedbackEvaluation:
    """Topic agreement with the curators of the old and the new artifact on the feedback posts."""
    examples = [e for e in load_feedback(path) if e.topic is not None]
    if not examples:
        raise DataError(f"{path}: expected corrected posts with a topic, got none")
    before = _topics(Path(old_artifact), examples)
    after = _topics(Path(new_artifact), examples)
    n = len(examples)
    ev = FeedbackEvaluation(
        n=n,
        before_topic=sum(b[0] == e.topic for b, e in zip(before, examples)) / n,
        after_topic=sum(a[0] == e.topic for a, e in zip(after, examples)) / n,
        before_group=sum(b[1] == e.group for b, e in zip(before, examples)) / n,
        after_group=sum(a[1] == e.group for a, e in zip(after, examples)) / n,
        changed=[{"id": e.id, "gold": e.topic, "before": b[0], "after": a[0]}
                 for e, b, a in zip(examples, before, after) if b[0] != a[0]],
    )
    log.info("feedback: topic agreement %.3f → %.3f, group %.3f → %.3f (n=%d)",
             ev.before_topic, ev.after_topic, ev.before_group, ev.after_group, n)
    if report is not None:
        report = Path(report)
        report.mkdir(parents=True, exist_ok=True)
        (report / "feedback.md").write_text(ev.markdown(), encoding="utf-8")
        (report / "feedback.json").write_text(json.dumps(ev.as_json(), ensure_ascii=False, indent=2), encoding="utf-8")
    return ev

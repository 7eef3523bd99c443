"""Evaluate the exclusion detectors written for otklik: мат, advertising, off-topic.

    python -m training.evaluate_exclusions [--artifact PATH] [--no-real] [--no-topic] [--errors]

1. Hand-written eval sets (data/eval/exclusions_*.jsonl): every post is scored for every reason
   (profanity, advertising, off_topic), so a hard negative or an ad written with мат counts where
   it should; per-reason precision / recall / F1, plus exact-span agreement for мат.
2. Real data from the shared folder (never copied into the repo):
   - мат on RUSSE-2022 detox neutral rewrites (mostly мат-free: every hit is inspected and listed)
     and how many toxic originals hold мат;
   - advertising on the tg-spam samples: spam-samples.txt (used while writing the cues, "dev") and
     testdata_spam.txt (not looked at while writing them, "held out"), ham-samples.txt;
   - firing rates on St Petersburg and Kursk appeals (moderated citizens' posts: almost every
     firing there is a false alarm).
Off-topic needs the topic model's confidence: the docs go through the real pipeline's topic step
when the artifact has a topic model; otherwise the lexicon decides alone and the report says so.
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.doc import Doc
from model.errors import DataError

from .jsonl import read_jsonl
from model.exclusions import ExclusionTagger
from model.paths import DATA_DIR, DEFAULT_ARTIFACT, SHARED_DATA_DIR
from model.profiles import Profiles
from model.records import Post

log = logging.getLogger(__name__)

REASONS = ("profanity", "advertising", "off_topic")
EVAL_FILES = (
    "exclusions_profanity.jsonl",
    "exclusions_hard_negatives.jsonl",
    "exclusions_ads.jsonl",
    "exclusions_offtopic.jsonl",
)
SPB = Path("appeals/spb_nash_spb/spb_appeals_2020_10_to_2021_03.csv.gz")
KURSK = Path("appeals/kursk_cur_2022/train_dataset_train.csv")
RUSSE = Path("toxicity/russe_detox_2022/train.tsv")
SPAM_DIR = Path("spam")
_CYRILLIC = re.compile("[а-яА-ЯёЁ]")


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, predicted: bool, gold: bool, text: str) -> None:
        if predicted and gold:
            self.tp += 1
        elif predicted:
            self.fp += 1
            self.errors.append("FP " + text[:120])
        elif gold:
            self.fn += 1
            self.errors.append("FN " + text[:120])

    def as_dict(self) -> dict[str, float]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
                "tp": self.tp, "fp": self.fp, "fn": self.fn, "support": self.tp + self.fn}


def load_eval(path: Path) -> list[dict[str, Any]]:
    rows = []
    for n, row in read_jsonl(path):
        if not isinstance(row.get("text"), str) or not isinstance(row.get("labels"), list):
            raise DataError(f"{path}:{n}: expected fields text (string) and labels (list)")
        rows.append(row)
    return rows


def make_docs(texts: list[str], region: str = "vyatskiye_polyany") -> list[Doc]:
    # Вятские Поляны applies all three reasons, so `applies` can be checked too
    return [Doc.from_post(Post(id=str(i), text=t), region) for i, t in enumerate(texts)]


def topic_step(artifact_path: Path | None, data_dir: Path):
    """The real pipeline's topic component, or None when the artifact has no topic model."""
    try:
        from model.pipeline import Pipeline, PipelineOptions

        pipe = Pipeline.load(PipelineOptions(artifact_path=artifact_path or DEFAULT_ARTIFACT, data_dir=data_dir,
                                             steps=["topic"]))
        return pipe
    except Exception as exc:  # noqa: BLE001 — reported, and the evaluation goes on without topics
        log.warning("no topic step (%s: %s): off_topic is judged by its lexicon alone", type(exc).__name__, exc)
        return None


def tag(tagger: ExclusionTagger, texts: list[str], topic_pipe=None) -> list[Doc]:
    docs = make_docs(texts)
    for k in range(0, len(docs), 256):
        batch = docs[k : k + 256]
        if topic_pipe is not None:
            topic_pipe.run(batch)
        tagger(batch)
    return docs


def reasons_of(doc: Doc) -> set[str]:
    return {e.reason for e in doc.exclusions}


def evaluate_eval_sets(tagger: ExclusionTagger, data_dir: Path, topic_pipe=None) -> dict[str, Any]:
    rows = []
    for name in EVAL_FILES:
        path = data_dir / "eval" / name
        for row in load_eval(path):
            rows.append((name, row))
    docs = tag(tagger, [r["text"] for _, r in rows], topic_pipe)
    counts = {r: Counts() for r in REASONS}
    span_exact = span_total = 0
    hard_negative_hits = []
    for (name, row), doc in zip(rows, docs):
        got = reasons_of(doc)
        gold = set(row["labels"])
        for reason in REASONS:
            counts[reason].add(reason in got, reason in gold, f"[{name}] {row['text']}")
        if name == "exclusions_hard_negatives.jsonl" and "profanity" in got:
            hard_negative_hits.append(row["text"])
        if "spans" in row and "profanity" in gold:
            span_total += 1
            ev = next((e.evidence for e in doc.exclusions if e.reason == "profanity"), [])
            if sorted((s.start, s.end) for s in ev) == sorted(tuple(s) for s in row["spans"]):
                span_exact += 1
    out = {r: counts[r].as_dict() for r in REASONS}
    out["profanity_exact_spans"] = round(span_exact / span_total, 4) if span_total else None
    out["profanity_hard_negative_hits"] = hard_negative_hits
    out["sizes"] = {name: sum(1 for n, _ in rows if n == name) for name in EVAL_FILES}
    out["_errors"] = {r: counts[r].errors for r in REASONS}
    return out


def evaluate_other_sets(tagger: ExclusionTagger, data_dir: Path, topic_pipe=None) -> dict[str, Any]:
    """Firing rates on the other engineers' eval files (topics, locations, importance, abuse): posts
    written by someone else for another purpose, nearly all of them on-topic complaints."""
    out = {}
    for path in sorted((data_dir / "eval").glob("*.jsonl")):
        if path.name.startswith("exclusions_"):
            continue
        try:
            texts = [r["text"] for r in load_eval_texts(path)]
        except DataError as exc:
            log.warning("skipped %s: %s", path.name, exc)
            continue
        if not texts:
            continue
        docs = tag(tagger, texts, topic_pipe)
        fired = {r: [d.text.clean[:120] for d in docs if r in reasons_of(d)] for r in REASONS}
        out[path.name] = {"posts": len(docs), "fired": {r: len(v) for r, v in fired.items()},
                          "examples": {r: v[:5] for r, v in fired.items()}}
    return out


def load_eval_texts(path: Path) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{n}: expected a JSON object, got a parse error: {exc}") from exc
                if isinstance(row, dict) and isinstance(row.get("text"), str):
                    rows.append(row)
    return rows


def evaluate_russe(tagger: ExclusionTagger, shared: Path) -> dict[str, Any]:
    profanity = tagger.detectors[0]
    neutral, toxic = [], []
    with open(shared / RUSSE, encoding="utf-8") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        for row in reader:
            if len(row) < 2:
                continue
            toxic.append(row[1])
            neutral.extend(c for c in row[2:5] if c.strip())
    hits = []
    for text in neutral:
        words = profanity.spans(_text(text))
        if words:
            hits.append({"words": [s.text for s in words], "text": text[:160]})
    toxic_hits = sum(1 for t in toxic if profanity.find(_text(t)))
    return {"neutral_rewrites": len(neutral), "neutral_with_profanity": len(hits), "hits": hits,
            "toxic_originals": len(toxic), "toxic_with_profanity": toxic_hits}


def evaluate_spam_sources(tagger: ExclusionTagger, shared: Path) -> dict[str, Any]:
    spam = tagger.detectors[1]

    def lines(name: str) -> list[str]:
        with open(shared / SPAM_DIR / name, encoding="utf-8") as f:
            return [ln.strip() for ln in f if _CYRILLIC.search(ln)]

    out = {}
    for name, gold in (("spam-samples.txt", True), ("testdata_spam.txt", True), ("ham-samples.txt", False)):
        c = Counts()
        for text in lines(name):
            c.add(spam.score(_text(text)).score >= spam.threshold, gold, text)
        d = c.as_dict()
        d["errors"] = c.errors[:20]
        out[name] = d
    return out


def real_posts(shared: Path, limit_spb: int = 5000) -> dict[str, list[str]]:
    import pandas as pd

    spb = pd.read_csv(shared / SPB, usecols=["text"]).text.dropna().drop_duplicates()
    spb = spb.sample(n=min(limit_spb, len(spb)), random_state=13).tolist()
    kursk = pd.read_csv(shared / KURSK).iloc[:, 1].dropna().tolist()
    return {"spb": spb, "kursk": kursk}


def evaluate_real(tagger: ExclusionTagger, shared: Path, topic_pipe=None) -> dict[str, Any]:
    out = {}
    for name, texts in real_posts(shared).items():
        docs = tag(tagger, texts, topic_pipe)
        rates, examples = {}, {}
        for reason in REASONS:
            fired = [(d, next(e for e in d.exclusions if e.reason == reason)) for d in docs if reason in reasons_of(d)]
            rates[reason] = {"fired": len(fired), "rate": round(len(fired) / len(docs), 4)}
            examples[reason] = [{"evidence": [s.text for s in e.evidence], "text": d.text.clean[:140]} for d, e in fired[:10]]
        out[name] = {"posts": len(docs), "rates": rates, "examples": examples}
    return out


def _text(s: str):
    from model.text import normalize

    return normalize(s)


def run(data_dir: Path = DATA_DIR, shared: Path = SHARED_DATA_DIR, artifact_path: Path | None = None,
        real: bool = True, topic: bool = True) -> dict[str, Any]:
    profiles = Profiles.load(Path(data_dir) / "profiles")
    tagger = ExclusionTagger.from_data(data_dir, profiles)
    topic_pipe = topic_step(artifact_path, Path(data_dir)) if topic else None
    report: dict[str, Any] = {"topic_model_used": topic_pipe is not None}
    report["eval_sets"] = evaluate_eval_sets(tagger, Path(data_dir), topic_pipe)
    report["other_eval_sets"] = evaluate_other_sets(tagger, Path(data_dir), topic_pipe)
    if real:
        report["russe_detox"] = evaluate_russe(tagger, Path(shared))
        report["tg_spam"] = evaluate_spam_sources(tagger, Path(shared))
        report["real_posts"] = evaluate_real(tagger, Path(shared), topic_pipe)
    return report


def print_report(report: dict[str, Any], errors: bool = False) -> None:
    ev = report["eval_sets"]
    print(f"topic model used for off_topic: {report['topic_model_used']}")
    print(f"eval sets: {ev['sizes']}")
    print(f"{'reason':<12} {'P':>6} {'R':>6} {'F1':>6} {'tp':>5} {'fp':>4} {'fn':>4}")
    for r in REASONS:
        m = ev[r]
        print(f"{r:<12} {m['precision']:>6.3f} {m['recall']:>6.3f} {m['f1']:>6.3f} {m['tp']:>5} {m['fp']:>4} {m['fn']:>4}")
    print(f"мат: exact evidence spans {ev['profanity_exact_spans']}; hard negatives with мат: {len(ev['profanity_hard_negative_hits'])}")
    if errors:
        for r in REASONS:
            for e in ev["_errors"][r]:
                print(f"  {r}: {e}")
    for name, m in report.get("other_eval_sets", {}).items():
        print(f"other set {name} ({m['posts']} posts) fired: " + ", ".join(f"{r} {n}" for r, n in m["fired"].items()))
        for r, exs in m["examples"].items():
            for x in exs[: (5 if errors else 2)]:
                print(f"  {r}: {x}")
    if "russe_detox" in report:
        ru = report["russe_detox"]
        print(f"RUSSE neutral rewrites with мат: {ru['neutral_with_profanity']} / {ru['neutral_rewrites']} "
              f"(toxic originals with мат: {ru['toxic_with_profanity']} / {ru['toxic_originals']})")
        for h in ru["hits"]:
            print(f"  {h['words']} | {h['text']}")
    if "tg_spam" in report:
        for name, m in report["tg_spam"].items():
            print(f"tg-spam {name}: P {m['precision']:.3f} R {m['recall']:.3f} (tp {m['tp']}, fp {m['fp']}, fn {m['fn']})")
            if errors:
                for e in m["errors"]:
                    print(f"  {e}")
    if "real_posts" in report:
        for name, m in report["real_posts"].items():
            rates = ", ".join(f"{r} {v['fired']} ({v['rate']:.2%})" for r, v in m["rates"].items())
            print(f"{name} ({m['posts']} posts) fired: {rates}")
            for r, exs in m["examples"].items():
                for x in exs[: (10 if errors else 3)]:
                    print(f"  {r}: {x['evidence']} | {x['text']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifact", type=Path, default=None, help="model artifact (for the topic step)")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--no-real", action="store_true", help="only the hand-written eval sets")
    parser.add_argument("--no-topic", action="store_true", help="off_topic from its lexicon alone")
    parser.add_argument("--errors", action="store_true", help="list every error")
    parser.add_argument("--json", type=Path, default=None, help="also write the report as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    report = run(args.data_dir, SHARED_DATA_DIR, args.artifact, real=not args.no_real, topic=not args.no_topic)
    print_report(report, errors=args.errors)
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

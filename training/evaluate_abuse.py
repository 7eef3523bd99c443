"""Evaluate the abuse detector (insults, threats, calls to violence, harm intent) and the toxicity model.

    python -m training.evaluate_abuse [--artifact PATH] [--real] [--errors]
    python -m training.evaluate_abuse --files data/eval/a.jsonl,b.jsonl [--artifact PATH] [--errors]

The detector is built from the artifact's "toxicity" and, when present, "threat" (learned threat
model, ORed with the rules) components; `--artifact` picks the artifact (default: the shipped one).

With --files: only these files (together), per-reason P/R/F1 and the threats micro-F1; nothing else
is loaded or printed (errors only with --errors). Otherwise:

1. per-reason precision / recall / F1 of `AbuseDetector` on the hand-written eval files
   data/eval/abuse_threats.jsonl, abuse_insults.jsonl, abuse_hard_negatives.jsonl (all three
   together: every post is scored for every reason; the hard negatives only add false positives);
2. the toxicity classifier on the held-out side of its training split (same seed as in the
   artifact's meta): 2ch/pikabu F1, RUSSE toxic-vs-neutral F1 (pairs kept whole), RUSSE test recall;
   and, apart, the later development sets, each scored on its own: data/eval/abuse_round2.jsonl
   (written after round 1, tuned in round 2), abuse_blind.jsonl (blind until round 3, whose errors
   then tuned the rules) and abuse_round3.jsonl (written before round 3, then tuned);
3. with --real: how often each reason fires on the St Petersburg and Kursk appeals (moderated
   portal posts: almost every firing there is a false alarm), with examples;
4. with --toxic: the service's own answer on the toxicity data — the pipeline's exclusion step (with
   the topic step it reads) on the held-out side of the toxicity split, a text counted toxic when
   any of `TOXIC_REASONS` is listed: RUSSE toxic vs neutral rewrites, 2ch/pikabu, RUSSE test recall.
   The classifier's own scores (2.) are not what the service outputs; this is.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from model.artifact import load_artifact
from model.doc import Doc
from model.errors import DataError

from .jsonl import read_jsonl
from model.paths import DATA_DIR, DEFAULT_ARTIFACT, SHARED_DATA_DIR
from model.records import Post
from model.toxicity import REASONS, AbuseDetector

log = logging.getLogger(__name__)

EVAL_FILES = ("abuse_threats.jsonl", "abuse_insults.jsonl", "abuse_hard_negatives.jsonl")
# written after the first tuning round; its errors then drove a second round (so it is tuned too)
ROUND2_FILE = "abuse_round2.jsonl"
# written before the second round, blind through round 2; round 3 read its errors (development set now)
BLIND_FILE = "abuse_blind.jsonl"
# written before the third round (first look recorded in docs/components/abuse.md), then tuned
ROUND3_FILE = "abuse_round3.jsonl"
# later sets, each scored apart; a new blind set is passed with --files and never listed here
DEV_FILES = (("round2", ROUND2_FILE), ("blind", BLIND_FILE), ("round3", ROUND3_FILE))
SPB = Path("appeals/spb_nash_spb/spb_appeals_2020_10_to_2021_03.csv.gz")
KURSK = Path("appeals/kursk_cur_2022/train_dataset_train.csv")


def load_eval(path: Path) -> list[dict[str, Any]]:
    rows = []
    for n, row in read_jsonl(path):
        if not isinstance(row.get("text"), str) or not isinstance(row.get("labels"), list):
            raise DataError(f"{path}:{n}: expected fields text (string) and labels (list)")
        bad = [x for x in row["labels"] if x not in REASONS and x != "profanity"]
        if bad:
            raise DataError(f"{path}:{n}: expected labels from {REASONS}, got {bad}")
        rows.append(row)
    return rows


def make_docs(texts: list[str], region: str = "omsk") -> list[Doc]:
    return [Doc.from_post(Post(id=str(i), text=t), region) for i, t in enumerate(texts)]


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "support": tp + fn, "tp": tp, "fp": fp, "fn": fn}


def evaluate_detector(detector: AbuseDetector, rows: list[dict[str, Any]], threshold: float = 0.5) -> dict[str, Any]:
    docs = make_docs([r["text"] for r in rows])
    preds = detector.predict(docs)
    counts = {r: Counter() for r in REASONS}
    errors = []
    for row, findings in zip(rows, preds):
        gold = {x for x in row["labels"] if x in REASONS}
        got = {f.reason for f in findings if f.score >= threshold}
        for reason in REASONS:
            if reason in gold and reason in got:
                counts[reason]["tp"] += 1
            elif reason in got:
                counts[reason]["fp"] += 1
            elif reason in gold:
                counts[reason]["fn"] += 1
        if gold != got:
            errors.append({"text": row["text"], "gold": sorted(gold), "got": sorted(got)})
    per_reason = {r: prf(c["tp"], c["fp"], c["fn"]) for r, c in counts.items()}
    threat_like = [r for r in REASONS if r != "insult"]
    total = Counter()
    for r in threat_like:
        total.update(counts[r])
    return {
        "per_reason": per_reason,
        "threats_micro": prf(total["tp"], total["fp"], total["fn"]),
        "n": len(rows),
        "errors": errors,
    }


def evaluate_eval_files(detector: AbuseDetector, data_dir: Path = DATA_DIR) -> dict[str, Any]:
    rows = []
    for name in EVAL_FILES:
        rows.extend(load_eval(Path(data_dir) / "eval" / name))
    out = evaluate_detector(detector, rows)
    negatives = load_eval(Path(data_dir) / "eval" / "abuse_hard_negatives.jsonl")
    fired = sum(1 for f in detector.predict(make_docs([r["text"] for r in negatives])) if any(x.score >= 0.5 for x in f))
    out["hard_negatives_fired"] = {"fired": fired, "n": len(negatives)}
    return out


def evaluate_toxicity(estimator: Any, meta: dict[str, Any], shared_data_dir: Path = SHARED_DATA_DIR) -> dict[str, Any]:
    from training.toxicity import evaluate_split, load_russe_test, split_data

    seed = int(meta.get("seed", 13))
    _, test = split_data(shared_data_dir, seed)
    return evaluate_split(estimator, test, load_russe_test(shared_data_dir), float(meta.get("threshold", 0.5)))


def real_texts(shared_data_dir: Path = SHARED_DATA_DIR) -> list[str]:
    texts = []
    with gzip.open(Path(shared_data_dir) / SPB, "rt", encoding="utf-8", newline="") as f:
        texts.extend(row["text"] for row in csv.DictReader(f) if row["text"].strip())
    with open(Path(shared_data_dir) / KURSK, encoding="utf-8", newline="") as f:
        texts.extend(row["Текст Сообщения"] for row in csv.DictReader(f) if row["Текст Сообщения"].strip())
    return texts


def evaluate_real(detector: AbuseDetector, shared_data_dir: Path = SHARED_DATA_DIR, batch: int = 500) -> dict[str, Any]:
    texts = real_texts(shared_data_dir)
    fired: Counter = Counter()
    examples: dict[str, list[str]] = {r: [] for r in REASONS}
    for i in range(0, len(texts), batch):
        chunk = texts[i : i + batch]
        for text, findings in zip(chunk, detector.predict(make_docs(chunk))):
            for f in findings:
                if f.score >= 0.5:
                    fired[f.reason] += 1
                    if len(examples[f.reason]) < 15:
                        examples[f.reason].append(f"{[e.text for e in f.evidence]} | {text[:160]}")
    return {"n": len(texts), "fired": dict(fired), "examples": {k: v for k, v in examples.items() if v}}


# the reasons a "toxic vs clean" reading of the service's exclusions counts as toxic
TOXIC_REASONS = frozenset({"profanity", *REASONS})


def toxic_flags(pipeline: Any, texts: list[str], batch: int = 256) -> np.ndarray:
    """True where the pipeline (`model.pipeline.Pipeline`, with its exclusion step) lists мат, an
    insult or a threat reason for the text."""
    flags = []
    for i in range(0, len(texts), batch):
        posts = [Post(id=str(i + j), text=t) for j, t in enumerate(texts[i : i + batch])]
        for tagging in pipeline.tag(posts):
            flags.append(any(e.reason in TOXIC_REASONS for e in tagging.exclusions))
    return np.array(flags, dtype=bool)


def exclusion_pipeline(artifact_path: Path = DEFAULT_ARTIFACT, data_dir: Path = DATA_DIR) -> Any:
    """The service's pipeline cut to the exclusion step and the steps it reads (topic)."""
    from model.pipeline import Pipeline, PipelineOptions

    return Pipeline.load(PipelineOptions(artifact_path=artifact_path, data_dir=data_dir, steps=["exclusions"]))


def evaluate_toxic_vs_clean(pipeline: Any, shared_data_dir: Path = SHARED_DATA_DIR, seed: int = 13,
                            limit: int | None = None) -> dict[str, Any]:
    """The exclusion step on the held-out side of the toxicity split (`training.toxicity.split_data`,
    the split the shipped classifier was trained beside); `limit` keeps the first rows of each source."""
    from training.toxicity import binary_metrics, load_russe_test, split_data

    _, test = split_data(shared_data_dir, seed)
    keep = np.ones(len(test.texts), dtype=bool)
    if limit is not None:
        for source in ("russe", "pikabu"):
            idx = np.flatnonzero(test.source == source)
            keep[idx[limit:]] = False
    texts = [t for t, k in zip(test.texts, keep) if k]
    labels, source, first = test.labels[keep], test.source[keep], test.first[keep]
    flags = toxic_flags(pipeline, texts)
    out: dict[str, Any] = {}
    for name in ("russe", "pikabu"):
        mask = source == name
        out[f"{name}_heldout"] = binary_metrics(labels[mask], flags[mask].astype(int))
    balanced = (source == "russe") & (first | (labels == 1))
    out["russe_pairs_balanced"] = binary_metrics(labels[balanced], flags[balanced].astype(int))
    russe_test = load_russe_test(shared_data_dir)[:limit]
    out["russe_test_toxic_recall"] = {"recall": round(float(np.mean(toxic_flags(pipeline, russe_test))), 4),
                                      "n": len(russe_test)}
    return out


def evaluate_abuse(artifact_path: Path = DEFAULT_ARTIFACT, data_dir: Path = DATA_DIR,
                   shared_data_dir: Path = SHARED_DATA_DIR, real: bool = False,
                   toxic: bool = False) -> dict[str, Any]:
    artifact = load_artifact(artifact_path)
    estimator = artifact.get("toxicity")
    # the learned threat model ("threat") when the artifact has one; rules only otherwise
    detector = AbuseDetector.from_data(data_dir, estimator, threat_model=artifact.get("threat"))
    report: dict[str, Any] = {"eval_files": evaluate_eval_files(detector, data_dir)}
    for key, name in DEV_FILES:
        path = Path(data_dir) / "eval" / name
        if path.is_file():
            report[key] = evaluate_detector(detector, load_eval(path))
    report["eval_files_rules_only"] = {
        k: v for k, v in evaluate_eval_files(AbuseDetector.from_data(data_dir, None), data_dir).items() if k != "errors"
    }
    if estimator is not None:
        report["toxicity"] = evaluate_toxicity(estimator, artifact.meta["components"].get("toxicity", {}), shared_data_dir)
    if real:
        report["real_posts"] = evaluate_real(detector, shared_data_dir)
    if toxic:
        seed = int(artifact.meta["components"].get("toxicity", {}).get("seed", 13))
        report["toxic_vs_clean"] = evaluate_toxic_vs_clean(exclusion_pipeline(artifact_path, data_dir),
                                                           shared_data_dir, seed)
    return report


def evaluate_files(paths: list[Path], artifact_path: Path = DEFAULT_ARTIFACT,
                   data_dir: Path = DATA_DIR) -> dict[str, Any]:
    """The detector (model + rules) on just these eval files, pooled: per reason and threats micro."""
    rows = []
    for path in paths:
        rows.extend(load_eval(Path(path)))
    artifact = load_artifact(artifact_path)
    detector = AbuseDetector.from_data(data_dir, artifact.get("toxicity"), threat_model=artifact.get("threat"))
    return evaluate_detector(detector, rows)


def _table(per_reason: dict[str, dict[str, float]]) -> str:
    lines = [f"{'reason':<18} {'P':>6} {'R':>6} {'F1':>6} {'support':>8} {'fp':>4}"]
    for reason, m in per_reason.items():
        lines.append(f"{reason:<18} {m['precision']:>6.3f} {m['recall']:>6.3f} {m['f1']:>6.3f} {m['support']:>8} {m['fp']:>4}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", type=Path, default=DEFAULT_ARTIFACT)
    parser.add_argument("--real", action="store_true", help="also count firings on the SPb and Kursk appeals")
    parser.add_argument("--toxic", action="store_true",
                        help="also score the exclusion step's answer (мат/insult/threat listed) on the toxicity data")
    parser.add_argument("--errors", action="store_true", help="list the eval posts the detector gets wrong")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    parser.add_argument("--files", help="comma-separated eval files: score only these (pooled)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.files:
        paths = [Path(x.strip()) for x in args.files.split(",") if x.strip()]
        part = evaluate_files(paths, args.artifact)
        if args.json:
            print(json.dumps(part if args.errors else {k: v for k, v in part.items() if k != "errors"},
                             ensure_ascii=False, indent=1))
            return
        print(f"AbuseDetector on {', '.join(map(str, paths))} ({part['n']} posts), model + rules:")
        print(_table(part["per_reason"]))
        print(f"threats/calls/harm micro: {part['threats_micro']}")
        if args.errors:
            print("\nerrors:")
            for e in part["errors"]:
                print(f"  gold={e['gold']} got={e['got']} | {e['text']}")
        return
    report = evaluate_abuse(args.artifact, real=args.real, toxic=args.toxic)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
        return
    ev = report["eval_files"]
    print(f"AbuseDetector on data/eval/abuse_*.jsonl ({ev['n']} posts), model + rules:")
    print(_table(ev["per_reason"]))
    print(f"threats/calls/harm micro: {ev['threats_micro']}")
    print(f"hard negatives with any finding: {ev['hard_negatives_fired']}")
    for key, name, note in (("round2", ROUND2_FILE, "written after round 1, used to tune round 2"),
                            ("blind", BLIND_FILE, "blind through round 2, development set in round 3"),
                            ("round3", ROUND3_FILE, "written before round 3, used to tune it")):
        if key in report:
            part = report[key]
            print(f"\ndata/eval/{name} ({part['n']} posts, {note}):")
            print(_table(part["per_reason"]))
            print(f"threats/calls/harm micro: {part['threats_micro']}")
    print("\nrules only (no toxicity model):")
    print(_table(report["eval_files_rules_only"]["per_reason"]))
    if "toxicity" in report:
        print("\ntoxicity classifier, held-out split:")
        for name, m in report["toxicity"].items():
            print(f"  {name}: {m}")
    if "toxic_vs_clean" in report:
        print("\nthe service's exclusions (a text is toxic when мат, an insult or a threat is listed), held-out split:")
        for name, m in report["toxic_vs_clean"].items():
            print(f"  {name}: {m}")
    if "real_posts" in report:
        rp = report["real_posts"]
        print(f"\nfirings on {rp['n']} real SPb + Kursk appeals: {rp['fired']}")
        for reason, ex in rp["examples"].items():
            print(f"  {reason}:")
            for e in ex:
                print(f"    {e}")
    if args.errors:
        print("\nerrors:")
        for e in ev["errors"] + [e for key, _ in DEV_FILES for e in report.get(key, {}).get("errors", [])]:
            print(f"  gold={e['gold']} got={e['got']} | {e['text']}")


if __name__ == "__main__":  # pragma: no cover
    main()

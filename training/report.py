"""Metrics and their reports: per-class precision/recall/F1, accuracy, macro-F1, top-k, confusion PNG."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

log = logging.getLogger(__name__)


def classification_metrics(y_true: list, y_pred: list, labels: list | None = None) -> dict[str, Any]:
    """accuracy, macro-F1 (over the classes present in y_true) and per-class P/R/F1/support."""
    y_true, y_pred = [str(v) for v in y_true], [str(v) for v in y_pred]
    if not y_true:
        return {"n": 0, "accuracy": None, "macro_f1": None, "per_class": {}}
    present = sorted(set(y_true))
    labels = [str(l) for l in labels] if labels is not None else sorted(set(y_true) | set(y_pred))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    per_class = {
        lab: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4), "f1": round(float(f[i]), 4),
              "support": int(s[i])}
        for i, lab in enumerate(labels) if s[i] > 0 or lab in set(y_pred)
    }
    macro = float(np.mean([per_class[l]["f1"] for l in present]))
    acc = float(np.mean([a == b for a, b in zip(y_true, y_pred)]))
    return {"n": len(y_true), "accuracy": round(acc, 4), "macro_f1": round(macro, 4), "per_class": per_class}


def topk_accuracy(y_true: list, ranked: list[list], ks: tuple[int, ...] = (1, 3)) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for k in ks:
        hits = [t in r[:k] for t, r in zip(y_true, ranked)]
        out[f"top{k}"] = round(float(np.mean(hits)), 4) if hits else None
    return out


def metrics_table(metrics: dict[str, Any], title: str) -> str:
    """Markdown: a per-class table with the summary line."""
    lines = [f"### {title}", "",
             f"n = {metrics['n']}, accuracy = {metrics['accuracy']}, macro-F1 = {metrics['macro_f1']}", "",
             "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for lab, m in sorted(metrics["per_class"].items(), key=lambda kv: -kv[1]["support"]):
        lines.append(f"| {lab} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
    return "\n".join(lines) + "\n"


def confusion_png(y_true: list, y_pred: list, path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = sorted(set(map(str, y_true)) | set(map(str, y_pred)))
    cm = confusion_matrix([str(v) for v in y_true], [str(v) for v in y_pred], labels=labels)
    size = max(6.0, 0.38 * len(labels) + 3)
    fig, ax = plt.subplots(figsize=(size, size))
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), [l[:28] for l in labels], rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), [l[:28] for l in labels], fontsize=7)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=6,
                        color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_json(obj: Any, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2), encoding="utf-8")
    return path

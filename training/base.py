"""What every component trainer returns, and helpers to record the data it was trained on."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TrainedComponent:
    name: str  # the component's file name in the artifact: <name>.pkl.gz
    estimator: Any
    meta: dict[str, Any] = field(default_factory=dict)  # metrics, labels, data hashes, sizes


def file_sha256(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def data_hashes(paths: list[Path], root: Path) -> dict[str, str]:
    """sha256 of each training file, keyed by its path relative to `root` (shared data or repo)."""
    out = {}
    for p in paths:
        p = Path(p)
        try:
            key = str(p.resolve().relative_to(Path(root).resolve()))
        except ValueError:
            key = p.name
        out[key] = file_sha256(p)
    return out

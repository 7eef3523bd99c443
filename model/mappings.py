"""A source's own labels → rubricator topics: one YAML file of `data/mappings/` per source.

    mapping = load_mapping("spb")                   # data/mappings/spb.yaml, checked against the rubricator
    mapping.topic_of("Благоустройство", "Мусор на внутридворовой территории")

Training reads them to map the labelled appeals; the pipeline reads them to turn a region's
learned portal categories into rubricator groups (`model.topic.PortalGroupPrior`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import DataError
from .paths import DATA_DIR
from .rubricator import Rubricator, load_rubricator

MAPPINGS_DIR = DATA_DIR / "mappings"


@dataclass
class Mapping:
    """A source's labels → rubricator topics (one YAML file of data/mappings)."""

    source: str
    key: list[str]
    labels: dict[tuple[str, ...], dict]
    drop: set[str]

    def topic_of(self, *key: str) -> str:
        try:
            return self.labels[tuple(key)]["topic"]
        except KeyError:
            raise DataError(f"mapping {self.source}: expected a mapped label, got {key!r}") from None


def load_mapping(name: str, rubricator: Rubricator | None = None, directory: Path = MAPPINGS_DIR) -> Mapping:
    path = Path(directory) / f"{name}.yaml"
    if not path.is_file():
        raise DataError(f"expected the label mapping at {path}, found none")
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    if not isinstance(raw, dict) or not isinstance(raw.get("labels"), list) or not isinstance(raw.get("key"), list):
        raise DataError(f"{path}: expected a mapping with 'key' and 'labels' lists")
    rubricator = rubricator or load_rubricator()
    labels = {}
    for i, entry in enumerate(raw["labels"]):
        key = tuple(str(entry.get(k, "")) for k in raw["key"])
        topic = entry.get("topic")
        if not rubricator.has_topic(topic):
            raise DataError(f"{path}: labels[{i}].topic: expected a rubricator topic name, got {topic!r}")
        group = rubricator.topic(topic).group
        if entry.get("group") not in (None, group):
            raise DataError(f"{path}: labels[{i}].group: expected {group!r} for topic {topic!r}, got {entry['group']!r}")
        if key in labels:
            raise DataError(f"{path}: labels[{i}]: duplicate key {key!r}")
        labels[key] = entry
    return Mapping(str(raw.get("source", name)), list(raw["key"]), labels, set(raw.get("drop") or []))

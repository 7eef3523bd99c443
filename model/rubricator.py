"""The rubricator (topic groups and topics) loaded from `data/rubricator/rubricator.yaml`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import yamlfile
from .errors import DataError
from .paths import DATA_DIR

DEFAULT_RUBRICATOR = DATA_DIR / "rubricator" / "rubricator.yaml"


@dataclass(frozen=True)
class RubricTopic:
    id: str
    name: str
    group: str
    group_id: str
    urgent: bool


@dataclass
class Rubricator:
    version: str
    groups: list[str]
    topics: list[RubricTopic]

    def __post_init__(self) -> None:
        self._by_name = {t.name: t for t in self.topics}
        self._by_id = {t.id: t for t in self.topics}

    def topic(self, name: str) -> RubricTopic:
        try:
            return self._by_name[name]
        except KeyError:
            raise DataError(f"expected a rubricator topic name, got {name!r}") from None

    def has_topic(self, name: str) -> bool:
        return name in self._by_name

    def by_id(self, topic_id: str) -> RubricTopic:
        return self._by_id[topic_id]

    def topics_of(self, group: str) -> list[RubricTopic]:
        return [t for t in self.topics if t.group == group]


def load_rubricator(path: Path | str = DEFAULT_RUBRICATOR) -> Rubricator:
    with open(path, encoding="utf-8") as f:
        raw = yamlfile.safe_load(f)
    if not isinstance(raw, dict) or "groups" not in raw:
        raise DataError(f"{path}: expected a mapping with 'groups', got {type(raw).__name__}")
    groups, topics = [], []
    for g in raw["groups"]:
        groups.append(g["name"])
        for t in g["topics"]:
            topics.append(RubricTopic(t["id"], t["name"], g["name"], g["id"], bool(t.get("urgent"))))
    return Rubricator(version=str(raw.get("version", "")), groups=groups, topics=topics)

"""Records: the data that flows through the pipeline (plain dataclasses, no web types).

`Post` is the input of CONTRACT.md, `Tagging` the output. Components fill the per-post `Doc`
(see `model.doc`); `Doc.to_tagging()` turns it into a `Tagging`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from typing import Any

SOURCES = ("vk", "ok", "telegram", "instagram", "facebook", "twitter", "forum", "review_site", "other")

EXCLUSION_REASONS = (
    "profanity",
    "insult",
    "threat_official",
    "threat_authority",
    "call_to_violence",
    "harm_intent",
    "advertising",
    "off_topic",
    "repeat_no_new_arguments",
)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _plain(value: Any) -> Any:
    """The JSON-ready copy of `dataclasses.asdict(value)`, datetimes as ISO 8601 strings — built in
    one walk: asdict deep-copies every leaf first, which cost ~0.3 ms a tagging."""
    if isinstance(value, datetime):
        return value.isoformat()
    names = _FIELD_NAMES.get(type(value))
    if names is None and is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES[type(value)] = tuple(f.name for f in fields(value))
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class Record:
    """Small base: JSON-ready dict with datetimes as ISO 8601 strings."""

    def as_json(self) -> dict[str, Any]:
        return _plain(self)


# ---------------------------------------------------------------- input


@dataclass
class Engagement(Record):
    likes: int | None = None
    comments: int | None = None
    reposts: int | None = None
    views: int | None = None


@dataclass
class Geo(Record):
    lat: float
    lon: float


@dataclass
class Post(Record):
    id: str
    text: str
    author_id: str | None = None
    created_at: datetime | None = None
    detected_at: datetime | None = None
    source: str | None = None
    url: str | None = None
    region: str | None = None
    engagement: Engagement | None = None
    geo: Geo | None = None
    address: str | None = None
    answered_at: datetime | None = None


# ---------------------------------------------------------------- output parts


@dataclass
class Span(Record):
    """A piece of the ORIGINAL post text: text == post.text[start:end]."""

    start: int
    end: int
    text: str


@dataclass
class TopicAlternative(Record):
    name: str
    group: str
    score: float


@dataclass
class Topic(Record):
    name: str
    group: str
    score: float
    alternatives: list[TopicAlternative] = field(default_factory=list)
    group_score: float | None = None
    urgent: bool = False  # the rubricator's ★ flag


@dataclass
class Location(Record):
    municipality: str | None = None
    district: str | None = None
    settlement: str | None = None
    street: str | None = None
    house: str | None = None
    mentions: list[Span] = field(default_factory=list)
    source: str | None = None  # "text", "address", "geo" — where the answer came from

    def is_empty(self) -> bool:
        return not any((self.municipality, self.district, self.settlement, self.street, self.house))


@dataclass
class Importance(Record):
    level: str  # "normal" | "high"
    score: float
    reasons: list[str] = field(default_factory=list)


@dataclass
class Exclusion(Record):
    reason: str
    score: float
    applies: bool
    evidence: list[Span] = field(default_factory=list)


@dataclass
class Finding(Record):
    """A detector's raw result before the profile decides whether it applies."""

    reason: str  # one of EXCLUSION_REASONS
    score: float
    evidence: list[Span] = field(default_factory=list)


@dataclass
class Executor(Record):
    name: str
    role: str  # "responsible" | "co-executor"
    score: float


@dataclass
class Route(Record):
    executors: list[Executor] = field(default_factory=list)
    needs_review: bool = True


@dataclass
class Sla(Record):
    profile: str
    shortened: bool
    priority: bool
    detected_at: datetime
    deadline: datetime
    milestones: dict[str, datetime] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class Tagging(Record):
    id: str
    topic: Topic | None = None
    location: Location | None = None
    importance: Importance | None = None
    exclusions: list[Exclusion] = field(default_factory=list)
    actionable: bool = True
    repeat_of: list[str] = field(default_factory=list)
    new_arguments: bool | None = None
    route: Route | None = None
    sla: Sla | None = None
    model_version: str = ""
    region: str | None = None
    incident_id: str | None = None


TAGGING_FIELDS = tuple(f.name for f in fields(Tagging))

"""The per-post working record: the post, its normalized text, and what each component set.

Components never return web types; each one predicts for a list of `Doc`s and the pipeline sets
the result on the doc (spaCy-style: predict, then set annotations).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .records import Exclusion, Importance, Location, Post, Route, Sla, Tagging, Topic
from .text import Text, normalize


@dataclass
class Doc:
    post: Post
    text: Text
    region: str  # the resolved regulation profile id
    topic: Topic | None = None
    # full distribution over groups / topics, for components that need more than the top-k
    group_scores: dict[str, float] = field(default_factory=dict)
    location: Location | None = None
    exclusions: list[Exclusion] = field(default_factory=list)
    importance: Importance | None = None
    repeat_of: list[str] = field(default_factory=list)
    new_arguments: bool | None = None
    incident_id: str | None = None
    route: Route | None = None
    sla: Sla | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_post(cls, post: Post, region: str) -> "Doc":
        return cls(post=post, text=normalize(post.text), region=region)

    @property
    def actionable(self) -> bool:
        return not any(e.applies for e in self.exclusions)

    def to_tagging(self, model_version: str) -> Tagging:
        location = self.location if self.location is not None and not self.location.is_empty() else None
        return Tagging(
            id=self.post.id,
            topic=self.topic,
            location=location,
            importance=self.importance,
            exclusions=list(self.exclusions),
            actionable=self.actionable,
            repeat_of=list(self.repeat_of),
            new_arguments=self.new_arguments,
            route=self.route,
            sla=self.sla,
            model_version=model_version,
            region=self.region,
            incident_id=self.incident_id,
        )

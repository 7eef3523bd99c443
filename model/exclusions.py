"""The exclusions component: runs the detectors and decides, per profile, which reasons apply.

Detectors (each with `predict(docs) -> list[list[Finding]]`): мат (`ProfanityDetector`),
advertising (`SpamDetector`), off-topic (`OffTopicDetector`) and, when given, the insult / threat
detector (`model.toxicity.AbuseDetector`). Findings of one reason are merged (max score, union of
evidence); every detected reason is listed on the doc, and `applies` says whether the post's
profile (`profile.exclusions`) leaves such posts unanswered — Krymsk lists reasons but applies none.
Topic, location and the rest of the tagging are never touched: a complaint written with мат still
gets them.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from .doc import Doc
from .paths import DATA_DIR
from .profanity import ProfanityDetector
from .profiles import Profiles
from .records import EXCLUSION_REASONS, Exclusion, Finding, Span
from .offtopic import OffTopicDetector
from .spam import SpamDetector

log = logging.getLogger(__name__)

_ORDER = {r: i for i, r in enumerate(EXCLUSION_REASONS)}


class Detector(Protocol):
    name: str

    def predict(self, docs: list[Doc]) -> list[list[Finding]]: ...


class Fallback(Detector, Protocol):
    """A detector that runs only on the posts where the detectors found none of `unless`."""

    unless: frozenset[str]


class ExclusionTagger:
    """Sets `doc.exclusions` from the findings of its detectors and the doc's profile."""

    name = "exclusions"

    def __init__(self, profiles: Profiles, detectors: Sequence[Detector], fallbacks: Sequence[Fallback] = ()):
        self.profiles = profiles
        self.detectors = [d for d in detectors if d is not None]
        self.fallbacks = [f for f in fallbacks if f is not None]

    @classmethod
    def from_data(cls, data_dir: Path | str = DATA_DIR, profiles: Profiles | None = None,
                  abuse_detector: Detector | None = None) -> "ExclusionTagger":
        """The standard detectors from the data files; `abuse_detector` (insults, threats) is optional.
        With an abuse detector that has a toxicity model, `RudeTextDetector` runs as a fallback."""
        data_dir = Path(data_dir)
        if profiles is None:
            profiles = Profiles.load(data_dir / "profiles")
        detectors: list[Detector] = [
            ProfanityDetector.from_data(data_dir),
            SpamDetector.from_data(data_dir),
            OffTopicDetector.from_data(data_dir),
        ]
        fallbacks: list[Fallback] = []
        if abuse_detector is not None:
            detectors.append(abuse_detector)
            if getattr(abuse_detector, "estimator", None) is not None:
                from .toxicity import RudeTextDetector

                fallbacks.append(RudeTextDetector(abuse_detector))
        else:
            log.info("no insult/threat detector given: insult and threat reasons are not detected")
        return cls(profiles, detectors, fallbacks)

    def predict(self, docs: list[Doc]) -> list[list[Exclusion]]:
        per_detector = [d.predict(docs) for d in self.detectors]
        for d, found in zip(self.detectors, per_detector):
            if len(found) != len(docs):
                raise ValueError(f"detector {d.name!r}: expected {len(docs)} results, got {len(found)}")
        per_doc = [[f for found in per_detector for f in found[k]] for k in range(len(docs))]
        for fallback in self.fallbacks:
            todo = [k for k in range(len(docs)) if not any(f.reason in fallback.unless for f in per_doc[k])]
            found = fallback.predict([docs[k] for k in todo]) if todo else []
            if len(found) != len(todo):
                raise ValueError(f"detector {fallback.name!r}: expected {len(todo)} results, got {len(found)}")
            for k, extra in zip(todo, found):
                per_doc[k].extend(extra)
        out = []
        for k, doc in enumerate(docs):
            findings = per_doc[k]
            if any(f.reason == "advertising" for f in findings):
                # an ad has its own reason; off_topic is kept for chatter, greetings and notices
                findings = [f for f in findings if f.reason != "off_topic"]
            profile = self.profiles.get(doc.region)
            out.append([
                Exclusion(f.reason, f.score, f.reason in profile.exclusions, f.evidence)
                for f in merge_findings(findings)
            ])
        return out

    def set_annotations(self, docs: list[Doc], preds: list[list[Exclusion]]) -> None:
        for doc, exclusions in zip(docs, preds):
            # a re-run replaces this step's reasons; the repeats step's reason is not ours to drop
            kept = [e for e in doc.exclusions if e.reason == "repeat_no_new_arguments"]
            doc.exclusions = sorted(exclusions + kept, key=lambda e: _ORDER[e.reason])

    def __call__(self, docs: list[Doc]) -> None:
        self.set_annotations(docs, self.predict(docs))


def merge_findings(findings: list[Finding]) -> list[Finding]:
    """One Finding per reason: the highest score and the union of evidence, in text order."""
    merged: dict[str, Finding] = {}
    for f in findings:
        if f.reason not in _ORDER:
            raise ValueError(f"expected a reason from {EXCLUSION_REASONS}, got {f.reason!r}")
        have = merged.get(f.reason)
        if have is None:
            merged[f.reason] = Finding(f.reason, f.score, list(f.evidence))
        else:
            have.score = max(have.score, f.score)
            have.evidence.extend(f.evidence)
    for f in merged.values():
        f.evidence = _unique_spans(f.evidence)
    return sorted(merged.values(), key=lambda f: _ORDER[f.reason])


def _unique_spans(spans: list[Span]) -> list[Span]:
    seen: set[tuple[int, int]] = set()
    out = []
    for s in sorted(spans, key=lambda s: (s.start, s.end)):
        if (s.start, s.end) not in seen:
            seen.add((s.start, s.end))
            out.append(s)
    return out

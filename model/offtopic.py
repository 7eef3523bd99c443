"""Off-topic detector: posts with nothing within the authorities' competence.

Two signals, combined by a logistic curve (weights in data/lexicons/offtopic.yaml):
- lexical: off-topic cues (congratulations, chatter, recipes, lost pets, ...) against civic cues
  (a problem, a request, a public service named);
- the topic model's confidence, read from `doc.group_scores` (set earlier by the TopicTagger): a
  low best group probability means the model abstains, a high one that the post has a subject.
When the topic step did not run (`group_scores` empty and `topic` None), only the lexicon decides.
"""
from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

from . import yamlfile
from .cues import Cue, CueSet
from .doc import Doc
from .errors import DataError
from .paths import DATA_DIR
from .records import Finding, Span
from .text import Text

log = logging.getLogger(__name__)

DEFAULT_LEXICON = DATA_DIR / "lexicons" / "offtopic.yaml"
REASON = "off_topic"
_WORD = re.compile(r"[^\W\d_]{2,}")
_MAX_EVIDENCE = 4


@dataclass
class OffTopicLexicon:
    off_cues: list[Cue]
    civic_cues: list[Cue]  # weights are taken away from z, each capped by its `max`
    bias: float = 1.0
    threshold: float = 0.5
    abstain_below: float = 0.35
    abstain_weight: float = 1.2
    confident_above: float = 0.7
    confident_weight: float = 1.5
    no_words_weight: float = 3.0
    short_words: int = 3
    short_weight: float = 0.8

    @classmethod
    def load(cls, path: Path | str = DEFAULT_LEXICON) -> "OffTopicLexicon":
        path = Path(path)
        try:
            with open(path, encoding="utf-8") as f:
                raw = yamlfile.safe_load(f)
        except FileNotFoundError:
            raise DataError(f"{path}: off-topic lexicon not found") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("off_cues"), list) or not isinstance(raw.get("civic_cues"), list):
            raise DataError(f"{path}: expected a mapping with 'off_cues' and 'civic_cues' lists")

        def cues(key: str) -> list[Cue]:
            out = []
            for k, c in enumerate(raw[key]):
                if not isinstance(c, dict) or "id" not in c or "weight" not in c or not c.get("patterns"):
                    raise DataError(f"{path}: {key}[{k}] expected 'id', 'weight' and 'patterns', got {c!r}")
                try:
                    out.append(Cue(str(c["id"]), float(c["weight"]), [str(p) for p in c["patterns"]],
                                   None if c.get("max") is None else float(c["max"])))
                except re.error as e:
                    raise DataError(f"{path}: {key}[{k}] expected valid regexes, got error {e}") from None
            return out

        numbers = {k: raw[k] for k in (
            "bias", "threshold", "abstain_below", "abstain_weight", "confident_above", "confident_weight",
            "no_words_weight", "short_weight") if k in raw}
        return cls(
            off_cues=cues("off_cues"), civic_cues=cues("civic_cues"),
            short_words=int(raw.get("short_words", 3)), **{k: float(v) for k, v in numbers.items()},
        )


@dataclass
class OffTopicScore:
    score: float
    z: float
    parts: dict[str, float]  # what added to z, for explanations and tuning
    evidence: list[tuple[int, int]]


class OffTopicDetector:
    """Scores posts for `off_topic`; `predict` returns one list of Findings (empty or one) per doc."""

    name = "off_topic"

    def __init__(self, lexicon: OffTopicLexicon):
        self.lexicon = lexicon
        # one index for both lists (one pass over the text); cue index < _n_off: an off-topic cue
        self._cues = CueSet(lexicon.off_cues + lexicon.civic_cues)
        self._n_off = len(lexicon.off_cues)

    @classmethod
    def from_data(cls, data_dir: Path | str = DATA_DIR) -> "OffTopicDetector":
        return cls(OffTopicLexicon.load(Path(data_dir) / "lexicons" / "offtopic.yaml"))

    @property
    def threshold(self) -> float:
        return self.lexicon.threshold

    def score(self, text: Text, group_scores: dict[str, float] | None = None, topic_score: float | None = None) -> OffTopicScore:
        lex = self.lexicon
        lower = text.lower
        parts: dict[str, float] = {}
        evidence: list[tuple[int, int]] = []
        hits = self._cues.hits(lower)
        civic = 0
        for ci in sorted(hits):  # off-topic cues first, then civic ones, each in lexicon order
            cue, found = self._cues.cues[ci], hits[ci]
            if ci < self._n_off:
                parts[cue.id] = cue.added(len(found))
                evidence.extend((m.start(), m.end()) for m in found)
            else:
                civic += len(found)
                parts[cue.id] = -cue.added(len(found))
        words = len(_WORD.findall(lower))
        if words == 0:
            parts["no_words"] = lex.no_words_weight
        elif words <= lex.short_words and not civic:
            parts["short"] = lex.short_weight
        best = _best_group(group_scores, topic_score)
        if best is not None:
            if best < lex.abstain_below:
                parts["topic_abstains"] = lex.abstain_weight
            elif best >= lex.confident_above:
                parts["topic_confident"] = -lex.confident_weight
        z = sum(parts.values())
        score = 1.0 / (1.0 + math.exp(-(z - lex.bias)))
        return OffTopicScore(score, z, parts, sorted(set(evidence))[:_MAX_EVIDENCE])

    def predict(self, docs: list[Doc]) -> list[list[Finding]]:
        out = []
        for doc in docs:
            topic_score = doc.topic.group_score if doc.topic is not None else None
            s = self.score(doc.text, doc.group_scores, topic_score)
            if s.score < self.lexicon.threshold:
                out.append([])
                continue
            evidence = [_trim(doc.text.span(a, b)) for a, b in s.evidence]
            out.append([Finding(REASON, round(s.score, 4), evidence)])
        return out


def _best_group(group_scores: dict[str, float] | None, topic_score: float | None) -> float | None:
    """The topic model's best group probability; None when the topic step did not run."""
    if group_scores:
        return max(group_scores.values())
    return topic_score


def _trim(span: Span) -> Span:
    text = span.text
    lead = len(text) - len(text.lstrip())
    trail = len(text) - len(text.rstrip())
    if not lead and not trail:
        return span
    return Span(span.start + lead, span.end - trail, text.strip())

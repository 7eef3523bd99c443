"""Advertising and spam detector: weighted cues from data/lexicons/spam.yaml.

Each cue is a set of regexes over the lower-cased text; the weights of the cues found add up
(complaint cues weigh against) and a logistic curve turns the sum into a score. Cyrillic words
with Latin letters inside (Зaрaбoтoк, Haбиpaю) are a cue of their own and are mapped back to
Cyrillic before the other cues look at the text, so obfuscation does not hide the offer.
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

DEFAULT_LEXICON = DATA_DIR / "lexicons" / "spam.yaml"
REASON = "advertising"

# Latin letters that look like Cyrillic ones (the text is already lower-cased)
_HOMOGLYPHS = str.maketrans({
    "a": "а", "c": "с", "e": "е", "o": "о", "p": "р", "x": "х", "y": "у", "k": "к", "m": "м",
    "t": "т", "h": "н", "b": "в", "u": "и", "n": "п", "r": "г",
    # small capitals and other scripts used to dodge filters (Пᴏддᴇᴧьнᴀя ʙᴀᴧюᴛᴀ)
    "ᴀ": "а", "ʙ": "в", "ᴄ": "с", "ᴅ": "д", "ᴇ": "е", "ʜ": "н", "ᴋ": "к", "ᴍ": "м", "ʍ": "м",
    "ᴏ": "о", "ᴘ": "р", "ᴩ": "р", "ᴛ": "т", "ʏ": "у", "ᴧ": "л", "ᴨ": "п", "ɜ": "з", "ɴ": "н",
    "ꮶ": "к", "ꮲ": "р", "ꮻ": "о", "Ꮶ": "к", "Ꮲ": "р", "Ꮻ": "о",
})
_WORD = re.compile(r"[^\W\d_]{3,}")
# obfuscation puts foreign letters INSIDE a Cyrillic word (зaрaбoтoк, Hoвoe); a Latin chunk glued
# to the front or back of a word (nВозможно, GMKможно) is a typing slip, not a disguise
_INSIDE_FOREIGN = re.compile(r"[а-я][^\W\d_\u0400-\u04ff]+[а-я]")
_FOREIGN = re.compile(r"[^\W\d_\u0400-\u04ff]")
_MAX_EVIDENCE = 6


@dataclass
class SpamLexicon:
    cues: list[Cue]
    mixed_weight: float
    mixed_max: float
    bias: float
    threshold: float

    @classmethod
    def load(cls, path: Path | str = DEFAULT_LEXICON) -> "SpamLexicon":
        path = Path(path)
        try:
            with open(path, encoding="utf-8") as f:
                raw = yamlfile.safe_load(f)
        except FileNotFoundError:
            raise DataError(f"{path}: spam lexicon not found") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("cues"), list):
            raise DataError(f"{path}: expected a mapping with a 'cues' list, got {type(raw).__name__}")
        cues = []
        for k, c in enumerate(raw["cues"]):
            if not isinstance(c, dict) or "id" not in c or "weight" not in c or not c.get("patterns"):
                raise DataError(f"{path}: cues[{k}] expected 'id', 'weight' and 'patterns', got {c!r}")
            try:
                cues.append(Cue(str(c["id"]), float(c["weight"]), [str(p) for p in c["patterns"]],
                                None if c.get("max") is None else float(c["max"])))
            except re.error as e:
                raise DataError(f"{path}: cues[{k}] ({c['id']}) expected valid regexes, got error {e}") from None
        mixed = raw.get("mixed_script") or {}
        return cls(
            cues=cues,
            mixed_weight=float(mixed.get("weight", 1.5)),
            mixed_max=float(mixed.get("max", 4.0)),
            bias=float(raw.get("bias", 2.5)),
            threshold=float(raw.get("threshold", 0.5)),
        )


@dataclass
class SpamScore:
    score: float
    total: float
    cues: dict[str, float]  # cue id → the weight it added
    evidence: list[tuple[int, int]]  # clean-text ranges of the positive cues


class SpamDetector:
    """Scores posts for advertising; `predict` returns one list of Findings (empty or one) per doc."""

    name = "advertising"

    def __init__(self, lexicon: SpamLexicon):
        self.lexicon = lexicon
        self._cues = CueSet(lexicon.cues)

    @classmethod
    def from_data(cls, data_dir: Path | str = DATA_DIR) -> "SpamDetector":
        return cls(SpamLexicon.load(Path(data_dir) / "lexicons" / "spam.yaml"))

    @property
    def threshold(self) -> float:
        return self.lexicon.threshold

    def score(self, text: Text) -> SpamScore:
        lower = text.lower
        cues: dict[str, float] = {}
        evidence: list[tuple[int, int]] = []
        if not lower.isascii() and _FOREIGN.search(lower):
            mixed = [m for m in _WORD.finditer(lower) if _INSIDE_FOREIGN.search(m.group())]
            if mixed:
                cues["mixed_script"] = min(self.lexicon.mixed_max, self.lexicon.mixed_weight * len(mixed))
                evidence.extend((m.start(), m.end()) for m in mixed)
                # map the obfuscated words back so the other cues read them (same length)
                chars = list(lower)
                for m in mixed:
                    chars[m.start() : m.end()] = m.group().translate(_HOMOGLYPHS)
                lower = "".join(chars)
        found = self._cues.hits(lower)
        for ci in sorted(found):  # in cue order: the weights are summed in that order
            cue, matches = self._cues.cues[ci], found[ci]
            cues[cue.id] = cue.added(len(matches))  # a cue without `max` counts once
            if cue.weight > 0:
                evidence.extend((m.start(), m.end()) for m in matches)
        total = sum(cues.values())
        score = 1.0 / (1.0 + math.exp(-(total - self.lexicon.bias)))
        return SpamScore(score, total, cues, sorted(set(evidence))[:_MAX_EVIDENCE])

    def predict(self, docs: list[Doc]) -> list[list[Finding]]:
        out = []
        for doc in docs:
            s = self.score(doc.text)
            if s.score < self.lexicon.threshold:
                out.append([])
                continue
            evidence = [_strip(doc.text.span(*_whole_words(doc.text.lower, a, b))) for a, b in s.evidence]
            out.append([Finding(REASON, round(s.score, 4), evidence)])
        return out


def _whole_words(lower: str, start: int, end: int) -> tuple[int, int]:
    """Grow a cue match to whole words (скидка 1 → скидка 10%)."""
    while start > 0 and lower[start - 1].isalnum() and lower[start].isalnum():
        start -= 1
    while end < len(lower) and lower[end].isalnum() and lower[end - 1].isalnum():
        end += 1
    return start, end


def _strip(span: Span) -> Span:
    """Trim white space that a regex took at the ends of a piece of evidence."""
    text = span.text
    lead = len(text) - len(text.lstrip())
    trail = len(text) - len(text.rstrip())
    if not lead and not trail:
        return span
    return Span(span.start + lead, span.end - trail, text.strip())

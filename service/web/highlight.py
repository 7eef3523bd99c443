"""Highlighted post text: evidence spans (original-text coordinates) as <mark>, everything escaped.

Posts contain HTML, so the text is never trusted: it is cut at the span boundaries and every piece
is escaped on its own; only our own <mark> tags are added around the pieces. Spans that do not
match the text (wrong offsets) are dropped and logged instead of highlighting the wrong words.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from markupsafe import Markup, escape

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mark:
    start: int
    end: int
    kind: str  # css class suffix: an exclusion reason or "location"
    title: str  # tooltip: what the span is evidence of


def marks_from_tagging(tagging: dict, text: str, labels: dict[str, str]) -> list[Mark]:
    """Exclusion evidence and location mentions of a tagging (contract JSON) as marks."""
    marks = []
    for exclusion in tagging.get("exclusions") or []:
        reason = exclusion.get("reason", "")
        for span in exclusion.get("evidence") or []:
            marks.append(_mark(span, reason, labels.get(reason, reason), text))
    location = tagging.get("location") or {}
    for span in location.get("mentions") or []:
        marks.append(_mark(span, "location", "место", text))
    return [m for m in marks if m is not None]


def _mark(span: dict, kind: str, title: str, text: str) -> Mark | None:
    try:
        start, end = int(span["start"]), int(span["end"])
    except (KeyError, TypeError, ValueError):
        log.warning("evidence span without start/end: %r", span)
        return None
    if not 0 <= start < end <= len(text):
        log.warning("evidence span %d..%d outside the text (%d chars): dropped", start, end, len(text))
        return None
    expected = span.get("text")
    if expected is not None and text[start:end] != expected:
        log.warning("evidence span %d..%d does not match its text: dropped", start, end)
        return None
    return Mark(start, end, kind, title)


def highlight(text: str, marks: list[Mark]) -> Markup:
    """The escaped text with each stretch covered by marks wrapped in one <mark> (overlaps merge:
    the stretch gets the classes and titles of every mark covering it)."""
    bounds = sorted({0, len(text), *(m.start for m in marks), *(m.end for m in marks)})
    out: list[str] = []
    for a, b in zip(bounds, bounds[1:]):
        piece = escape(text[a:b])
        covering = [m for m in marks if m.start <= a and b <= m.end]
        if not covering:
            out.append(piece)
            continue
        kinds = sorted({m.kind for m in covering})
        classes = " ".join(["ev"] + [f"ev-{k}" for k in kinds])
        titles = ", ".join(dict.fromkeys(m.title for m in covering))
        out.append(f'<mark class="{escape(classes)}" title="{escape(titles)}">{piece}</mark>')
    return Markup("".join(out))
